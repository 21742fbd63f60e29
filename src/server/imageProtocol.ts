// Messages between the server and its model worker thread (imageWorker.ts): digit images through
// the digits diffusion model, and spoken prompts through the acoustic model.
export type DigitRequest = { id: number; checkpoint: string; image: Float32Array; digit?: number; seed: number } & (
  | { op: 'restore'; mask?: Float32Array; denoise?: number }
  | { op: 'sketch'; strength: number; n: number }
);
export type TranscribeRequest = { id: number; op: 'transcribe'; checkpoint: string; wav: Uint8Array };
export type ImageRequest = DigitRequest | TranscribeRequest;

export type ImageReply =
  | { id: number; ok: true; images: Float32Array; width: number; height: number }
  | { id: number; ok: true; transcript: { text: string; attributes: Record<string, unknown>; seconds: number } }
  | { id: number; ok: false; error: string; detail?: string; /** the HTTP status it answers (default 400, or 500 for a model failure) */ status?: number };
