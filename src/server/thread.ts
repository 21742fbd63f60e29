// One generation worker thread (worker.ts) behind a promise: run a job, hear its progress, cancel
// it through a shared flag (the sampling loop is synchronous, so the thread reads the flag between
// steps). The server's thread pool and `genlab worker` both run jobs through this class.
import { Worker } from 'node:worker_threads';
import { serverFile } from './entryPath.js';
import type { GeneratedClip } from '../pipelines/clipEngine.js';
import type { JobParams, ToMain } from './protocol.js';

export type ThreadResult =
  | { ok: true; frames: Float32Array; report: GeneratedClip['report'] }
  | { ok: false; error: string; cancelled: boolean; detail?: string };

export interface ThreadProgress { step: number; steps: number; preview?: Float32Array }

export class GenerationThread {
  private readonly worker: Worker;
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private current?: { jobId: string; onProgress: (p: ThreadProgress) => void; resolve: (r: ThreadResult) => void };
  private closing = false;
  ready = false;
  dead = false;
  /** the job it is running */
  get job(): string | undefined { return this.current?.jobId; }

  /** `onReady` once it has loaded; `onDeath` if it dies (a running job then ends as failed). */
  constructor(private readonly hooks: { onReady: () => void; onDeath: (e: Error) => void }) {
    this.worker = new Worker(serverFile('workerEntry.mjs'), { workerData: { cancel: this.cancelFlag.buffer } });
    this.worker.on('message', (m: ToMain) => this.onMessage(m));
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', (code) => this.die(new Error(`worker exited with code ${code}`)));
  }

  private die(e: Error): void {
    if (this.dead || this.closing) return;
    this.dead = true;
    this.finish({ ok: false, error: 'generation failed', cancelled: false, detail: e.message });
    void this.worker.terminate();
    this.hooks.onDeath(e);
  }

  private finish(r: ThreadResult): void {
    const c = this.current;
    this.current = undefined;
    c?.resolve(r);
  }

  private onMessage(m: ToMain): void {
    if (m.type === 'ready') { this.ready = true; this.hooks.onReady(); return; }
    if (!this.current || m.jobId !== this.current.jobId) return;
    if (m.type === 'progress') { this.current.onProgress({ step: m.step, steps: m.steps, preview: m.preview }); return; }
    const cancelled = Atomics.load(this.cancelFlag, 0) === 1;
    if (m.type === 'done') this.finish(cancelled ? { ok: false, error: 'cancelled', cancelled: true } : { ok: true, frames: m.frames, report: m.report });
    else this.finish({ ok: false, error: m.error, cancelled: m.cancelled, detail: m.detail });
  }

  /** Runs one job; the promise never rejects (a failure is a result). */
  run(jobId: string, params: JobParams, checkpoint: string, onProgress: (p: ThreadProgress) => void): Promise<ThreadResult> {
    if (!this.ready || this.dead || this.current) return Promise.resolve({ ok: false, error: 'generation failed', cancelled: false, detail: 'the thread is busy or not ready' });
    Atomics.store(this.cancelFlag, 0, 0);
    return new Promise((resolve) => {
      this.current = { jobId, onProgress, resolve };
      this.worker.postMessage({ type: 'run', jobId, params, checkpoint });
    });
  }

  /** Asks the running job to stop before its next step (a clip finished anyway counts as cancelled). */
  cancel(): void {
    Atomics.store(this.cancelFlag, 0, 1);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
