// Past one machine: with REDIS_URL the server's jobs go through BullMQ on Redis to `genlab worker`
// processes (on this machine or others), which run them with the same generation thread as the
// server's own pool. SQLite stays the record of every job; Redis only carries work and results.
// A worker stores the clip's frames (bytes, 196 KB) and its report under the job's id in Redis and
// completes the BullMQ job; the server, hearing it through QueueEvents, writes the files and the
// record once. Delivery is at least once (a worker that dies mid-job leaves it stalled, and another
// runs it again); the server makes one clip per job however often it is delivered.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { FRAMES, SIDE } from '../data/clips/world.js';
import type { GeneratedClip } from '../pipelines/clipEngine.js';
import type { Db, JobRow } from './db.js';
import type { Executor, JobSink } from './jobs.js';
import type { JobParams } from './protocol.js';
import { GenerationThread } from './thread.js';
import { UserError } from '../util/errors.js';

export const QUEUE_NAME = 'genlab-clips';
const KEEP_S = 7 * 24 * 3600; // results nobody collected expire after a week
const keys = {
  frames: (id: string) => `genlab:frames:${id}`,
  result: (id: string) => `genlab:result:${id}`,
  cancel: (id: string) => `genlab:cancel:${id}`,
};
const CANCELLED = 'cancelled';
const USER_ERROR = 'user error: ';
const FRAME_BYTES = FRAMES * SIDE * SIDE * 3;

/** What a BullMQ job carries: the genlab job id (also the BullMQ id) and its checked parameters. */
export interface RedisJobData { jobId: string; params: JobParams }
interface Progress { step: number; steps: number; preview?: string }

const toBytes = (v: Float32Array) => Uint8Array.from(v, (x) => Math.round(Math.min(1, Math.max(0, x)) * 255));

/** Rejects with a clear message when Redis does not answer within `ms`. */
export async function reachable<T>(p: Promise<T>, url: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`cannot reach Redis at ${url.replace(/\/\/[^@/]*@/, '//')} within ${ms / 1000} s`)), ms); });
  try { return await Promise.race([p, late]); } finally { clearTimeout(timer); }
}

function connect(url: string): Redis {
  // BullMQ's blocking commands need maxRetriesPerRequest null; a refused connection retries with a backoff
  const r = new Redis(url, { maxRetriesPerRequest: null });
  // connection errors are retried by ioredis and reported where they matter (start, a job's enqueue)
  r.on('error', () => {});
  return r;
}

/** The server's side: jobs into the queue, progress and results out of QueueEvents into the runner. */
export class RedisExecutor implements Executor {
  private readonly redis: Redis;
  private readonly queue: Queue<RedisJobData>;
  private readonly events: QueueEvents;
  private sink!: JobSink;
  private workers = 0;
  private timer?: NodeJS.Timeout;
  // BullMQ copies or shares the connections it is given; they are ours to close
  private readonly connections: Redis[] = [];

  /** `timeoutMs`: how long start waits for Redis to answer */
  constructor(private readonly db: Db, private readonly url: string, private readonly timeoutMs = 10_000) {
    const c = () => { const r = connect(url); this.connections.push(r); return r; };
    // while Redis is away the API's commands wait in ioredis's queue; enqueue and cancel give up after 5 s (a 503)
    this.redis = c();
    this.queue = new Queue<RedisJobData>(QUEUE_NAME, { connection: c(), streams: { events: { maxLen: 500 } } });
    this.events = new QueueEvents(QUEUE_NAME, { connection: c() });
  }

  /** Runs an event handler; a fault in one (a malformed event, the database) is logged, never thrown into the event emitter. */
  private guard<A extends unknown[]>(what: string, f: (...a: A) => void | Promise<void>): (...a: A) => void {
    return (...a: A) => {
      try {
        const r = f(...a);
        if (r instanceof Promise) r.catch((e: Error) => process.stderr.write(`genlab: ${what}: ${e.message}\n`));
      } catch (e) {
        process.stderr.write(`genlab: ${what}: ${(e as Error).message}\n`);
      }
    };
  }

  async start(sink: JobSink): Promise<void> {
    this.sink = sink;
    this.events.on('active', this.guard('a job started', ({ jobId }: { jobId: string }) => { if (this.db.markRunning(jobId, Date.now())) sink.started(jobId); }));
    this.events.on('progress', this.guard('a job\'s progress', ({ jobId, data }: { jobId: string; data: unknown }) => {
      const p = data as Progress;
      const preview = typeof p?.preview === 'string' ? new Uint8Array(Buffer.from(p.preview, 'base64')) : undefined;
      if (typeof p?.step === 'number' && typeof p.steps === 'number') sink.progress(jobId, p.step, p.steps, preview?.length === SIDE * SIDE * 3 ? preview : undefined);
    }));
    this.events.on('completed', this.guard('collecting a job', ({ jobId }: { jobId: string }) => this.collect(jobId)));
    this.events.on('failed', this.guard('a failed job', ({ jobId, failedReason }: { jobId: string; failedReason?: string }) => this.fail(jobId, failedReason ?? '')));
    let lastError = '';
    this.events.on('error', (e) => { if (e.message !== lastError) process.stderr.write(`genlab: queue events: ${e.message}\n`); lastError = e.message; });
    try {
      await reachable(Promise.all([this.events.waitUntilReady(), this.queue.waitUntilReady(), this.redis.ping()]), this.url, this.timeoutMs);
    } catch (e) {
      // close() would wait for a connection that never comes
      clearInterval(this.timer);
      for (const c of [this.events, this.queue]) void c.disconnect().catch(() => {});
      for (const r of this.connections) r.disconnect();
      throw e;
    }
    // listening first, then the jobs the database still has open: whatever finished while the server was down
    for (const j of this.db.openJobList()) await this.reconcile(j);
    const count = async () => { try { this.workers = await this.queue.getWorkersCount(); } catch { this.workers = 0; } };
    await count();
    this.timer = setInterval(() => void count(), 5000);
    this.timer.unref();
  }

  private async reconcile(j: JobRow): Promise<void> {
    if (await this.redis.exists(keys.result(j.id))) return this.collect(j.id);
    const job = await this.queue.getJob(j.id);
    if (!job) return this.enqueue(j); // Redis lost it (or it completed and its result was collected): run it again
    const state = await job.getState();
    if (state === 'failed') this.fail(j.id, job.failedReason ?? '');
    else if (state === 'active' && this.db.markRunning(j.id, Date.now())) this.sink.started(j.id);
  }

  /** A completed job: its frames and report from Redis, once. */
  private async collect(jobId: string): Promise<void> {
    try {
      const [frames, result, cancelled] = await Promise.all([this.redis.getBuffer(keys.frames(jobId)), this.redis.get(keys.result(jobId)), this.redis.exists(keys.cancel(jobId))]);
      // cancelled while its last steps ran: the person was told 202, so no clip (as the thread pool does)
      if (cancelled) this.sink.failed(jobId, CANCELLED, true);
      else if (frames && result && frames.length === FRAME_BYTES) {
        const report = (JSON.parse(result) as { report: GeneratedClip['report'] }).report;
        this.sink.done(jobId, Float32Array.from(frames, (v) => v / 255), report);
      } else if (this.db.job(jobId)?.status === 'running' || this.db.job(jobId)?.status === 'queued') {
        this.sink.failed(jobId, 'generation failed', false, 'the worker left no result');
      }
      await this.redis.del(keys.frames(jobId), keys.result(jobId), keys.cancel(jobId));
    } catch (e) {
      process.stderr.write(`genlab: collecting job ${jobId}: ${(e as Error).message}\n`);
    }
  }

  private fail(jobId: string, reason: string): void {
    // BullMQ reports a retry as 'waiting', so this is the last attempt's reason
    if (reason === CANCELLED) this.sink.failed(jobId, CANCELLED, true);
    else this.sink.failed(jobId, reason.startsWith(USER_ERROR) ? reason.slice(USER_ERROR.length) : 'generation failed', false, reason);
  }

  async enqueue(job: JobRow): Promise<void> {
    const data: RedisJobData = { jobId: job.id, params: JSON.parse(job.params) as JobParams };
    await reachable(this.queue.add('clip', data, { jobId: job.id, attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } }), this.url, 5000);
  }

  async cancel(jobId: string, queued: boolean): Promise<boolean> {
    await reachable(this.redis.set(keys.cancel(jobId), '1', 'EX', KEEP_S), this.url, 5000);
    if (queued) {
      try { await (await this.queue.getJob(jobId))?.remove(); } catch { /* taken by a worker meanwhile: it sees the cancel key */ }
    }
    return true;
  }

  ready(): number {
    return this.workers;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    for (const r of this.connections) r.disconnect();
  }
}

/** `genlab worker`: takes jobs from Redis and runs each in one of `concurrency` generation threads, until `close`. */
export async function runRedisWorker(o: { redisUrl: string; modelsDir: string; concurrency: number; log: (line: string) => void }): Promise<{ close: () => Promise<void> }> {
  const redis = connect(o.redisUrl), workerConnection = connect(o.redisUrl), name = `${hostname()}:${process.pid}`;
  const threads: GenerationThread[] = [];
  let readyCount = 0, onAllReady: (e?: Error) => void = () => {};
  const allReady = new Promise<void>((res, rej) => { onAllReady = (e) => (e ? rej(e) : res()); });
  const spawn = (): GenerationThread => {
    const t: GenerationThread = new GenerationThread({
      onReady: () => { if (++readyCount === o.concurrency) onAllReady(); },
      // a thread that dies is replaced after a pause that grows while they keep dying before they are ready
      onDeath: (e) => {
        deaths = t.ready ? 0 : deaths + 1;
        o.log(`genlab worker: a generation thread died (${e.message}); starting another`);
        if (!t.ready && deaths >= 5) { o.log('genlab worker: generation threads die before they are ready; giving up'); onAllReady(new Error(`generation threads cannot start: ${e.message}`)); return; }
        const i = threads.indexOf(t);
        setTimeout(() => { if (i >= 0 && !closing) threads[i] = spawn(); }, Math.min(60_000, 1000 * 2 ** deaths)).unref();
      },
    });
    return t;
  };
  let deaths = 0;
  let closing = false;
  for (let i = 0; i < o.concurrency; i++) threads.push(spawn());
  try {
    await allReady;
  } catch (e) {
    closing = true;
    await Promise.allSettled(threads.map((t) => t.close()));
    redis.disconnect(); workerConnection.disconnect();
    throw new UserError((e as Error).message);
  }

  const process1 = async (job: Job<RedisJobData>): Promise<{ worker: string }> => {
    const { jobId, params } = job.data;
    if (await redis.exists(keys.cancel(jobId))) throw new UnrecoverableError(CANCELLED);
    const t = threads.find((x) => x.ready && !x.dead && !x.job);
    if (!t) throw new Error('no free generation thread');
    // a check still in flight when the job ends must not stop the thread's next job
    const poll = setInterval(() => void redis.exists(keys.cancel(jobId)).then((n) => { if (n && t.job === jobId) t.cancel(); }, () => {}), 250);
    const t0 = Date.now();
    o.log(JSON.stringify({ start: jobId, worker: name }));
    let last = 0;
    try {
      const r = await t.run(jobId, params, join(o.modelsDir, `clips-${params.model}`), ({ step, steps, preview }) => {
        // at most a few progress events a second through Redis, and always the last step
        const now = Date.now();
        if (now - last < 200 && step < steps) return;
        last = now;
        void job.updateProgress({ step, steps, preview: preview ? Buffer.from(toBytes(preview)).toString('base64') : undefined } satisfies Progress).catch(() => {});
      });
      if (!r.ok) {
        if (r.cancelled) throw new UnrecoverableError(CANCELLED);
        // a thread that died may be a passing fault (memory): BullMQ tries again; anything else would fail again
        if (r.detail && /worker exited|busy/.test(r.detail)) throw new Error(r.detail);
        throw new UnrecoverableError(r.error === 'generation failed' ? `generation failed: ${r.detail ?? ''}` : `${USER_ERROR}${r.error}`);
      }
      if (await redis.exists(keys.cancel(jobId))) throw new UnrecoverableError(CANCELLED);
      await redis.multi()
        .set(keys.frames(jobId), Buffer.from(toBytes(r.frames)), 'EX', KEEP_S)
        .set(keys.result(jobId), JSON.stringify({ report: r.report, worker: name }), 'EX', KEEP_S)
        .exec();
      o.log(JSON.stringify({ job: jobId, worker: name, ms: Date.now() - t0 }));
      return { worker: name };
    } finally {
      clearInterval(poll);
    }
  };
  const lockMs = Number(process.env.GENLAB_LOCK_MS) || 30_000; // the tests shorten it
  const worker = new Worker<RedisJobData>(QUEUE_NAME, process1, {
    connection: workerConnection, concurrency: o.concurrency, name,
    // a worker that dies loses its lock after lockDuration; the job then runs elsewhere (twice at most)
    lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: 2,
  });
  let lastError = '';
  worker.on('error', (e) => { if (e.message !== lastError) o.log(`genlab worker: ${e.message}`); lastError = e.message; });
  worker.on('ready', () => { lastError = ''; });
  try {
    await reachable(Promise.all([worker.waitUntilReady(), redis.ping()]), o.redisUrl);
  } catch (e) {
    closing = true;
    void worker.disconnect().catch(() => {});
    await Promise.allSettled(threads.map((t) => t.close()));
    redis.disconnect(); workerConnection.disconnect();
    throw new UserError((e as Error).message);
  }
  o.log(`genlab worker ${name}: ${o.concurrency} generation thread${o.concurrency > 1 ? 's' : ''}, models in ${o.modelsDir}, waiting for jobs`);
  return {
    close: async () => {
      closing = true;
      await worker.close();
      await Promise.all(threads.map((t) => t.close()));
      redis.disconnect(); workerConnection.disconnect();
    },
  };
}
