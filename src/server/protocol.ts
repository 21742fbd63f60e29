// Messages between the server and its generation workers (threads here, or BullMQ workers later).
import type { ClipModelKind, GeneratedClip } from '../pipelines/clipEngine.js';

/** What a job asks for, as accepted (checked) by POST /api/jobs. */
export interface JobParams {
  text: string;
  model: ClipModelKind;
  seed: number;
  steps?: number;
  guidance?: number;
}

export type ToWorker = { type: 'run'; jobId: string; params: JobParams; checkpoint: string };

export type ToMain =
  | { type: 'ready' }
  | { type: 'progress'; jobId: string; step: number; steps: number; preview?: Float32Array }
  | { type: 'done'; jobId: string; frames: Float32Array; report: GeneratedClip['report'] }
  | { type: 'failed'; jobId: string; error: string; cancelled: boolean; detail?: string };
