// The worker thread's entry: registers tsx's loader in this thread (Node 20 does not apply a
// parent's --import loader to a worker's entry), then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
