// The digit-image thread behind a promise: restore and sketch requests run one at a time in a
// worker thread (a restore is 1-3 s of compute that would otherwise stall every other request);
// at most `maxWaiting` wait, the rest are told to come back (the route answers 503).
import { Worker } from 'node:worker_threads';
import type { ImageReply, ImageRequest } from './imageProtocol.js';

type Pending = { resolve: (r: ImageReply) => void };
export type ImageJob = ImageRequest extends infer R ? (R extends ImageRequest ? Omit<R, 'id'> : never) : never;

export class ImageThread {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  constructor(private readonly maxWaiting = 4) {}

  private start(): Worker {
    const w = new Worker(new URL('./imageEntry.mjs', import.meta.url));
    w.on('message', (m: ImageReply | { ready: true }) => {
      if ('ready' in m) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    const fail = (detail: string) => {
      if (this.worker !== w) return;
      this.worker = undefined; // the next request starts a new thread
      for (const [id, p] of this.pending) p.resolve({ id, ok: false, error: 'the image model failed', detail });
      this.pending.clear();
    };
    w.on('error', (e) => fail(e.message));
    w.on('exit', (code) => fail(`image thread exited with code ${code}`));
    return w;
  }

  get busy(): boolean {
    return this.pending.size >= this.maxWaiting;
  }

  /** Runs a request; never rejects (a failure is a reply). Undefined when too many are waiting. */
  run(job: ImageJob): Promise<ImageReply> | undefined {
    if (this.busy) return undefined;
    this.worker ??= this.start();
    const id = this.next++, req = { ...job, id } as ImageRequest;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.worker!.postMessage(req);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
