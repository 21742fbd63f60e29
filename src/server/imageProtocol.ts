// Messages between the server and its digit-image worker thread (imageWorker.ts).
export type ImageRequest = { id: number; checkpoint: string; image: Float32Array; digit?: number; seed: number } & (
  | { op: 'restore'; mask?: Float32Array; denoise?: number }
  | { op: 'sketch'; strength: number; n: number }
);

export type ImageReply =
  | { id: number; ok: true; images: Float32Array; width: number; height: number }
  | { id: number; ok: false; error: string; detail?: string };
