// The job queue: rows of the jobs table, taken oldest first by a pool of generation worker
// threads (so that the API stays responsive while both cores generate). Events of each job
// (queued with position, running step k of n with a preview, done, failed, cancelled) are kept in
// order with ids for server-sent events; a client that reconnects with Last-Event-ID gets the
// ones it missed. A finished clip's files are written first, then its record and the job's state
// in one transaction; on start, jobs a crash left running are queued again.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FPS, FRAMES, SIDE } from '../data/clips/world.js';
import { writeClip } from '../media/clip.js';
import { encodeRgbPng } from '../media/png.js';
import type { Db, JobRow } from './db.js';
import type { JobParams, ToMain } from './protocol.js';

export interface JobEvent { id: number; event: 'queued' | 'running' | 'progress' | 'done' | 'failed' | 'cancelled'; data: Record<string, unknown> }

interface Slot { worker: Worker; cancel: Int32Array; ready: boolean; dead?: boolean; job?: string; failures: number }

const SHAPE = { frames: FRAMES, height: SIDE, width: SIDE, fps: FPS };
const CLIP_ID = /^[0-9a-f-]{36}$/;

/** The files of a clip (the id is ours, checked, never user text). */
export function clipFile(db: Db, clipId: string, ext: 'gif' | 'png' | 'mp4'): string {
  if (!CLIP_ID.test(clipId)) throw new Error('bad clip id');
  return join(db.clipsDir, `${clipId}.${ext}`);
}

export class JobRunner {
  private readonly slots: Slot[] = [];
  private readonly events = new Map<string, JobEvent[]>();
  private readonly listeners = new Map<string, Set<(e: JobEvent) => void>>();
  // event ids grow across restarts too, so a client's Last-Event-ID from before a restart is older than every new event
  private seq = Date.now() * 1000;
  private closed = false;

  constructor(private readonly db: Db, private readonly o: { workers: number; checkpointFor: (p: JobParams) => string; now?: () => number }) {
    const n = db.requeueRunning(this.now());
    this.removeOrphanFiles();
    this.pruneTimer = setInterval(() => this.prune(), 60_000);
    this.pruneTimer.unref();
    for (let i = 0; i < o.workers; i++) this.slots.push(this.spawn());
    if (n) this.kick();
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private readonly pruneTimer: NodeJS.Timeout;
  private readonly finishedAt = new Map<string, number>();

  /** Events of jobs finished ten minutes ago are dropped (the database keeps their state). */
  private prune(): void {
    const now = this.now();
    for (const [id, t] of this.finishedAt) if (now - t > 600_000) { this.events.delete(id); this.finishedAt.delete(id); if (!this.listeners.get(id)?.size) this.listeners.delete(id); }
  }

  readyWorkers(): number {
    return this.slots.filter((s) => s.ready && !s.dead).length;
  }

  private spawn(failures = 0): Slot {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./workerEntry.mjs', import.meta.url), { workerData: { cancel: cancel.buffer } });
    const slot: Slot = { worker, cancel, ready: false, failures };
    worker.on('message', (m: ToMain) => this.onMessage(slot, m));
    worker.on('error', (e) => this.onCrash(slot, e));
    worker.on('exit', (code) => { if (!this.closed) this.onCrash(slot, new Error(`worker exited with code ${code}`)); });
    return slot;
  }

  /** A worker that died: its job fails (once), and a new worker starts after a pause that grows with repeated failures. */
  private onCrash(slot: Slot, e: Error): void {
    if (this.closed || slot.dead) return;
    slot.dead = true;
    const job = slot.job;
    slot.job = undefined;
    if (job && this.db.finishJob(job, 'failed', this.now(), { error: 'generation failed' })) this.emit(job, 'failed', { error: 'generation failed' });
    process.stderr.write(`genlab: a generation worker died: ${e.message}\n`);
    void slot.worker.terminate();
    const failures = slot.ready ? 0 : slot.failures + 1;
    setTimeout(() => {
      const i = this.slots.indexOf(slot);
      if (!this.closed && i >= 0) this.slots[i] = this.spawn(failures);
    }, Math.min(60_000, 500 * 2 ** failures)).unref();
  }

  /** Clip files whose record never committed (a crash between the two) and temporaries of a killed write are removed at start. */
  private removeOrphanFiles(): void {
    if (!existsSync(this.db.clipsDir)) return;
    for (const f of readdirSync(this.db.clipsDir)) {
      if (f.startsWith('.genlab.tmp-')) { rmSync(join(this.db.clipsDir, f), { force: true }); continue; }
      const id = f.replace(/\.(gif|png|mp4)$/, '');
      if (CLIP_ID.test(id) && !this.db.clip(id)) rmSync(join(this.db.clipsDir, f), { force: true });
    }
  }

  emit(jobId: string, event: JobEvent['event'], data: Record<string, unknown>): void {
    const e: JobEvent = { id: ++this.seq, event, data };
    if (event === 'done' || event === 'failed' || event === 'cancelled') this.finishedAt.set(jobId, this.now());
    const list = this.events.get(jobId) ?? [];
    // progress events replace the previous one (a reconnecting client needs only the latest)
    if (event === 'progress' && list.at(-1)?.event === 'progress') list.pop();
    list.push(e);
    this.events.set(jobId, list);
    for (const l of this.listeners.get(jobId) ?? []) l(e);
  }

  /** Events after `lastId`, then each new one to `listener` until the returned function is called. */
  subscribe(jobId: string, lastId: number, listener: (e: JobEvent) => void): () => void {
    for (const e of this.events.get(jobId) ?? []) if (e.id > lastId) listener(e);
    const set = this.listeners.get(jobId) ?? new Set();
    set.add(listener);
    this.listeners.set(jobId, set);
    return () => { set.delete(listener); if (!set.size) this.listeners.delete(jobId); };
  }

  lastEvent(jobId: string): JobEvent | undefined {
    return this.events.get(jobId)?.at(-1);
  }

  submit(userId: string, params: JobParams): string {
    const id = randomUUID();
    this.db.addJob({ id, user_id: userId, params: JSON.stringify(params), created: this.now() });
    this.emit(id, 'queued', { position: this.db.queuePosition(id) });
    this.kick();
    return id;
  }

  /** Cancels a queued job at once, a running one before its next step. */
  cancel(job: JobRow): boolean {
    if (job.status === 'queued') {
      if (this.db.finishJob(job.id, 'cancelled', this.now())) this.emit(job.id, 'cancelled', {});
      return true;
    }
    const slot = this.slots.find((s) => s.job === job.id);
    if (job.status === 'running' && slot) { Atomics.store(slot.cancel, 0, 1); return true; }
    return false;
  }

  /** Hands queued jobs to free workers. */
  kick(): void {
    for (const slot of this.slots) {
      if (this.closed || !slot.ready || slot.dead || slot.job) continue;
      const job = this.db.takeJob(this.now());
      if (!job) return;
      slot.job = job.id;
      Atomics.store(slot.cancel, 0, 0);
      const params = JSON.parse(job.params) as JobParams;
      this.emit(job.id, 'running', { step: 0 });
      slot.worker.postMessage({ type: 'run', jobId: job.id, params, checkpoint: this.o.checkpointFor(params) });
    }
  }

  private onMessage(slot: Slot, m: ToMain): void {
    if (m.type === 'ready') { slot.ready = true; this.kick(); return; }
    if (m.type === 'progress') {
      const preview = m.preview ? `data:image/png;base64,${encodeRgbPng({ width: SIDE, height: SIDE, rgb: m.preview }).toString('base64')}` : undefined;
      this.emit(m.jobId, 'progress', { step: m.step, steps: m.steps, preview });
      return;
    }
    slot.job = undefined;
    const job = this.db.job(m.jobId), cancelled = Atomics.load(slot.cancel, 0) === 1;
    if (m.type === 'failed' && m.detail) process.stderr.write(`genlab: job ${m.jobId} failed: ${m.detail}\n`);
    if (m.type === 'done' && cancelled) {
      // cancelled after its last step: the client was told 202, so no clip
      if (job && this.db.finishJob(m.jobId, 'cancelled', this.now())) this.emit(m.jobId, 'cancelled', {});
    } else if (m.type === 'failed') {
      if (job && this.db.finishJob(m.jobId, m.cancelled ? 'cancelled' : 'failed', this.now(), { error: m.cancelled ? undefined : m.error })) this.emit(m.jobId, m.cancelled ? 'cancelled' : 'failed', m.cancelled ? {} : { error: m.error });
    } else if (job && job.status === 'running' && !this.db.clipByJob(job.id)) {
      // files first, then the record: a crash in between leaves an orphan file, never a record without its clip
      const clipId = randomUUID();
      try {
        writeClip(clipFile(this.db, clipId, 'gif'), m.frames, SHAPE, { scale: 1 });
        writeClip(clipFile(this.db, clipId, 'png'), m.frames, SHAPE, { scale: 1 });
        const params = JSON.parse(job.params) as JobParams;
        const record = { ...m.report, text: params.text, checkpoint: m.report.checkpoint.split('/').slice(-2).join('/') };
        this.db.addClip({ id: clipId, user_id: job.user_id, job_id: job.id, record: JSON.stringify(record), created: this.now(), share: null }, this.now());
        this.emit(job.id, 'done', { clipId });
      } catch (e) {
        for (const ext of ['gif', 'png'] as const) rmSync(clipFile(this.db, clipId, ext), { force: true });
        if (this.db.finishJob(job.id, 'failed', this.now(), { error: `could not store the clip: ${(e as Error).message}` })) this.emit(job.id, 'failed', { error: 'could not store the clip' });
      }
    }
    this.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pruneTimer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
