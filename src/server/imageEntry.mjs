// The digit-image worker thread's entry (see workerEntry.mjs: tsx's loader, then the TypeScript).
import { register } from 'tsx/esm/api';

register();
await import('./imageWorker.ts');
