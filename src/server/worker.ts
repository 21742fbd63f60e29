// A generation worker thread: loads the clip generators once and runs one job at a time through
// the clip engine's entry point, posting progress (with a preview frame) after every step. The
// sampling loop is synchronous, so a cancel arrives through a shared flag that the progress
// callback reads; the loop stops before its next step.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { captionClips, loadCaptioner, type LoadedCaptioner } from '../pipelines/caption.js';
import { generateClip, loadClipGenerator, type LoadedClipGenerator } from '../pipelines/clipEngine.js';
import { initBackend } from '../tensor/backend.js';
import { UserError } from '../util/errors.js';
import type { JobParams, ToMain, ToWorker } from './protocol.js';

const port = parentPort!;
const cancelFlag = new Int32Array(workerData.cancel as SharedArrayBuffer);
const loaded = new Map<string, LoadedClipGenerator>();
const captioners = new Map<string, LoadedCaptioner | undefined>();

/** The clip captioner beside the generators (models/captions), if the server has one: each clip is titled with its caption. */
function captionOf(checkpoint: string, frames: Float32Array): string | undefined {
  const dir = join(dirname(checkpoint), 'captions');
  try {
    if (!captioners.has(dir)) captioners.set(dir, existsSync(dir) ? loadCaptioner(dir) : undefined);
    const c = captioners.get(dir);
    return c ? captionClips(c, frames, 1, 1)[0].caption : undefined;
  } catch {
    captioners.set(dir, undefined); // a broken captioner costs the title, never the clip
    return undefined;
  }
}

function post(m: ToMain, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

async function run(jobId: string, p: JobParams, checkpoint: string): Promise<void> {
  const ctl = new AbortController();
  try {
    let g = loaded.get(checkpoint);
    if (!g) { g = loadClipGenerator(checkpoint, p.model); loaded.set(checkpoint, g); }
    const clip = await generateClip(g, p.text, {
      seed: p.seed, steps: p.steps, guidance: p.guidance, preview: true, signal: ctl.signal,
      onProgress: ({ step, steps, preview }) => {
        post({ type: 'progress', jobId, step, steps, preview });
        if (Atomics.load(cancelFlag, 0)) ctl.abort();
      },
    });
    const caption = captionOf(checkpoint, clip.frames);
    post({ type: 'done', jobId, frames: clip.frames, report: caption === undefined ? clip.report : { ...clip.report, caption } }, [clip.frames.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as Error;
    post({ type: 'failed', jobId, cancelled: err.name === 'AbortError', error: err.name === 'AbortError' ? err.message : e instanceof UserError && !/\//.test(err.message) ? err.message : 'generation failed', detail: err.message });
  }
}

await initBackend();
port.on('message', (m: ToWorker) => {
  if (m.type === 'run') void run(m.jobId, m.params, m.checkpoint);
});
post({ type: 'ready' });
