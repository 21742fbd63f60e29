// The digit-image thread behind a promise: restore and sketch requests run one at a time in a
// worker thread (a restore is 1-3 s of compute that would otherwise stall every other request);
// at most `maxWaiting` wait, the rest are told to come back (the route answers 503). A request
// that runs past its time limit is answered 503 and its thread terminated (synchronous compute
// cannot be interrupted otherwise); the requests behind it run again, in order, on a new thread.
import { Worker } from 'node:worker_threads';
import { serverFile } from './entryPath.js';
import type { ImageReply, ImageRequest } from './imageProtocol.js';

type Pending = { req: ImageRequest; resolve: (r: ImageReply) => void; timeoutMs?: number };
export type ImageJob = ImageRequest extends infer R ? (R extends ImageRequest ? Omit<R, 'id'> : never) : never;

export class ImageThread {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private timer?: NodeJS.Timeout;
  constructor(private readonly maxWaiting = 4) {}

  /** The oldest pending request is the one running (the thread takes them in order): time it. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const head = this.pending.entries().next().value;
    if (!head?.[1].timeoutMs) return;
    const [id, p] = head;
    this.timer = setTimeout(() => this.expire(id, p.timeoutMs!), p.timeoutMs);
    this.timer.unref();
  }

  private expire(id: number, ms: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve({ id, ok: false, error: `the model took longer than ${ms / 1000} s and was stopped; try again with a smaller request`, status: 503 });
    const w = this.worker;
    this.worker = undefined; // its exit no longer fails the others
    void w?.terminate();
    if (this.pending.size) {
      this.worker = this.start();
      for (const q of this.pending.values()) this.worker.postMessage(q.req);
    }
    this.arm();
  }

  private start(): Worker {
    const w = new Worker(serverFile('imageEntry.mjs'));
    w.on('message', (m: ImageReply | { ready: true }) => {
      if ('ready' in m || this.worker !== w) return; // a terminated thread's last words count for nothing
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      p.resolve(m);
      this.arm();
    });
    const fail = (detail: string) => {
      if (this.worker !== w) return;
      this.worker = undefined; // the next request starts a new thread
      for (const [id, p] of this.pending) p.resolve({ id, ok: false, error: 'the image model failed', detail });
      this.pending.clear();
      this.arm();
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`image thread exited with code ${code}`));
    return w;
  }

  get busy(): boolean {
    return this.pending.size >= this.maxWaiting;
  }

  /** Runs a request; never rejects (a failure is a reply). Undefined when too many are waiting.
   *  `timeoutMs`: how long it may run once its turn comes (none: no limit). */
  run(job: ImageJob, timeoutMs?: number): Promise<ImageReply> | undefined {
    if (this.busy) return undefined;
    if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new RangeError(`image thread: time limit ${timeoutMs} ms is not positive`);
    this.worker ??= this.start();
    const id = this.next++, req = { ...job, id } as ImageRequest;
    return new Promise((resolve) => {
      this.pending.set(id, { req, resolve, timeoutMs });
      this.worker!.postMessage(req);
      if (this.pending.size === 1) this.arm();
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
