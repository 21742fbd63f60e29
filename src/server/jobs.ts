// The job queue: rows of the jobs table, run by an executor: a pool of generation worker threads
// in this process (so that the API stays responsive while both cores generate), or, with
// REDIS_URL, BullMQ on Redis feeding `genlab worker` processes anywhere (redisQueue.ts). Events of
// each job (queued with position, running step k of n with a preview, done, failed, cancelled) are
// kept in order with ids for server-sent events; a client that reconnects with Last-Event-ID gets
// the ones it missed. A finished clip's files are written first, then its record and the job's
// state in one transaction; a second delivery of the same job makes no second clip.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FPS, FRAMES, SIDE } from '../data/clips/world.js';
import type { GeneratedClip } from '../pipelines/clipEngine.js';
import { writeClip } from '../media/clip.js';
import { encodeRgbPng } from '../media/png.js';
import type { Db, JobRow } from './db.js';
import type { JobParams } from './protocol.js';
import { GenerationThread } from './thread.js';

export interface JobEvent { id: number; event: 'queued' | 'running' | 'progress' | 'done' | 'failed' | 'cancelled'; data: Record<string, unknown> }

/** What an executor reports back about the jobs it runs. */
export interface JobSink {
  started(jobId: string): void;
  /** `preview`: RGB floats in [0, 1] or bytes, 64x64 */
  progress(jobId: string, step: number, steps: number, preview?: Float32Array | Uint8Array): void;
  done(jobId: string, frames: Float32Array, report: GeneratedClip['report']): void;
  failed(jobId: string, error: string, cancelled: boolean, detail?: string): void;
}

/** Where jobs run. */
export interface Executor {
  start(sink: JobSink): Promise<void>;
  /** a job was just added to the database as queued */
  enqueue(job: JobRow): Promise<void>;
  /** asks a job to stop: a queued one (already marked cancelled) or a running one; false if this executor does not know it */
  cancel(jobId: string, queued: boolean): Promise<boolean>;
  /** workers able to take a job now (or lately seen, for remote ones) */
  ready(): number;
  close(): Promise<void>;
}

const SHAPE = { frames: FRAMES, height: SIDE, width: SIDE, fps: FPS };
const CLIP_ID = /^[0-9a-f-]{36}$/;

/** The files of a clip (the id is ours, checked, never user text). */
export function clipFile(db: Db, clipId: string, ext: 'gif' | 'png' | 'mp4'): string {
  if (!CLIP_ID.test(clipId)) throw new Error('bad clip id');
  return join(db.clipsDir, `${clipId}.${ext}`);
}

/** The pool of generation threads in this process, taking queued jobs oldest first from the database. */
export class ThreadExecutor implements Executor {
  private readonly threads: GenerationThread[] = [];
  private sink!: JobSink;
  private closed = false;

  constructor(private readonly db: Db, private readonly o: { workers: number; checkpointFor: (p: JobParams) => string; now: () => number }) {}

  async start(sink: JobSink): Promise<void> {
    this.sink = sink;
    // jobs a crash left running go back to the queue (a job tried three times fails: it may be what kills the server)
    this.db.requeueRunning(this.o.now());
    for (let i = 0; i < this.o.workers; i++) this.threads.push(this.spawn(0));
  }

  private spawn(failures: number): GenerationThread {
    const t: GenerationThread = new GenerationThread({
      onReady: () => this.kick(),
      // a dead thread's job has failed (once); a new thread starts after a pause that grows with repeated failures
      onDeath: (e) => {
        process.stderr.write(`genlab: a generation worker died: ${e.message}\n`);
        const next = t.ready ? 0 : failures + 1;
        setTimeout(() => {
          const i = this.threads.indexOf(t);
          if (!this.closed && i >= 0) this.threads[i] = this.spawn(next);
        }, Math.min(60_000, 500 * 2 ** next)).unref();
      },
    });
    return t;
  }

  ready(): number {
    return this.threads.filter((t) => t.ready && !t.dead).length;
  }

  async enqueue(): Promise<void> {
    this.kick();
  }

  private kick(): void {
    for (const t of this.threads) {
      if (this.closed || !t.ready || t.dead || t.job) continue;
      const job = this.db.takeJob(this.o.now());
      if (!job) return;
      const params = JSON.parse(job.params) as JobParams;
      this.sink.started(job.id);
      void t.run(job.id, params, this.o.checkpointFor(params), (p) => this.sink.progress(job.id, p.step, p.steps, p.preview)).then((r) => {
        if (r.ok) this.sink.done(job.id, r.frames, r.report);
        else this.sink.failed(job.id, r.error, r.cancelled, r.detail);
        this.kick();
      });
    }
  }

  async cancel(jobId: string, queued: boolean): Promise<boolean> {
    if (queued) return true;
    const t = this.threads.find((x) => x.job === jobId);
    t?.cancel();
    return t !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.close()));
  }
}

export class JobRunner implements JobSink {
  private readonly events = new Map<string, JobEvent[]>();
  private readonly listeners = new Map<string, Set<(e: JobEvent) => void>>();
  // event ids grow across restarts too, so a client's Last-Event-ID from before a restart is older than every new event
  private seq = Date.now() * 1000;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly finishedAt = new Map<string, number>();

  private constructor(private readonly db: Db, private readonly executor: Executor, private readonly now: () => number) {
    this.pruneTimer = setInterval(() => this.prune(), 60_000);
    this.pruneTimer.unref();
  }

  /** A runner over `executor` (default: `workers` threads here), started: orphan files removed, interrupted jobs queued again. */
  static async start(db: Db, o: { workers: number; checkpointFor: (p: JobParams) => string; now?: () => number; executor?: Executor }): Promise<JobRunner> {
    const now = o.now ?? Date.now;
    const r = new JobRunner(db, o.executor ?? new ThreadExecutor(db, { workers: o.workers, checkpointFor: o.checkpointFor, now }), now);
    r.removeOrphanFiles();
    await r.executor.start(r);
    return r;
  }

  /** Events of jobs finished ten minutes ago are dropped (the database keeps their state). */
  private prune(): void {
    const now = this.now();
    for (const [id, t] of this.finishedAt) if (now - t > 600_000) { this.events.delete(id); this.finishedAt.delete(id); if (!this.listeners.get(id)?.size) this.listeners.delete(id); }
  }

  readyWorkers(): number {
    return this.executor.ready();
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

  /** Queues a job; if the executor cannot take it (Redis down), the job is marked failed and this rejects. */
  async submit(userId: string, params: JobParams): Promise<string> {
    const id = randomUUID();
    this.db.addJob({ id, user_id: userId, params: JSON.stringify(params), created: this.now() });
    this.emit(id, 'queued', { position: this.db.queuePosition(id) });
    try {
      await this.executor.enqueue(this.db.job(id)!);
    } catch (e) {
      this.failed(id, 'the job queue is unavailable', false, (e as Error).message);
      throw e;
    }
    return id;
  }

  /** Cancels a queued job at once, a running one before its next step. */
  async cancel(job: JobRow): Promise<boolean> {
    if (job.status === 'queued') {
      if (this.db.finishJob(job.id, 'cancelled', this.now())) this.emit(job.id, 'cancelled', {});
      await this.executor.cancel(job.id, true);
      return true;
    }
    return job.status === 'running' && this.executor.cancel(job.id, false);
  }

  started(jobId: string): void {
    this.emit(jobId, 'running', { step: 0 });
  }

  progress(jobId: string, step: number, steps: number, preview?: Float32Array | Uint8Array): void {
    const rgb = preview instanceof Uint8Array ? Float32Array.from(preview, (v) => v / 255) : preview;
    const url = rgb ? `data:image/png;base64,${encodeRgbPng({ width: SIDE, height: SIDE, rgb }).toString('base64')}` : undefined;
    this.emit(jobId, 'progress', { step, steps, preview: url });
  }

  failed(jobId: string, error: string, cancelled: boolean, detail?: string): void {
    if (!cancelled && detail) process.stderr.write(`genlab: job ${jobId} failed: ${detail}\n`);
    if (this.db.finishJob(jobId, cancelled ? 'cancelled' : 'failed', this.now(), { error: cancelled ? undefined : error })) this.emit(jobId, cancelled ? 'cancelled' : 'failed', cancelled ? {} : { error });
  }

  done(jobId: string, frames: Float32Array, report: GeneratedClip['report']): void {
    const job = this.db.job(jobId);
    // a cancelled job (the client was told 202) or a second delivery of a finished one: no clip
    if (!job || (job.status !== 'running' && job.status !== 'queued') || this.db.clipByJob(jobId)) return;
    // files first, then the record: a crash in between leaves an orphan file, never a record without its clip
    const clipId = randomUUID();
    try {
      writeClip(clipFile(this.db, clipId, 'gif'), frames, SHAPE, { scale: 1 });
      writeClip(clipFile(this.db, clipId, 'png'), frames, SHAPE, { scale: 1 });
      const params = JSON.parse(job.params) as JobParams;
      const record = { ...report, text: params.text, checkpoint: report.checkpoint.split('/').slice(-2).join('/') };
      this.db.addClip({ id: clipId, user_id: job.user_id, job_id: job.id, record: JSON.stringify(record), created: this.now(), share: null }, this.now());
      this.emit(job.id, 'done', { clipId });
    } catch (e) {
      for (const ext of ['gif', 'png'] as const) rmSync(clipFile(this.db, clipId, ext), { force: true });
      this.failed(job.id, 'could not store the clip', false, `could not store the clip: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.executor.close();
  }
}
