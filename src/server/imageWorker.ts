// The digit-image worker thread: restores a damaged digit (RePaint inpainting of a drawn region
// and/or SDEdit denoising) and turns a drawn sketch into digits (SDEdit image-to-image), with the
// shipped digits diffusion model, and transcribes spoken prompts with the shipped acoustic model,
// off the server's event loop. One request at a time, in order. Models are loaded once and kept:
// a new model under models/ takes a restart.
import { parentPort } from 'node:worker_threads';
import type { Unet } from '../models/unet.js';
import { loadImageModel, restoreImage, sampleImages, type LoadedImageModel } from '../pipelines/images.js';
import { loadAcoustic, transcribeWav, type LoadedAcoustic } from '../pipelines/transcribe.js';
import { initBackend } from '../tensor/backend.js';
import { UserError } from '../util/errors.js';
import type { ImageRequest, ImageReply } from './imageProtocol.js';

const port = parentPort!;
const loaded = new Map<string, LoadedImageModel<Unet>>(), voices = new Map<string, LoadedAcoustic>();

function handle(r: ImageRequest): ImageReply {
  try {
    // a model that does not load is the server's fault (500), not the request's
    const load = <T>(f: () => T): T => { try { return f(); } catch (e) { throw new Error(`the model at ${r.checkpoint} does not load: ${(e as Error).message}`); } };
    if (r.op === 'transcribe') {
      let a = voices.get(r.checkpoint);
      if (!a) { a = load(() => loadAcoustic(r.checkpoint)); voices.set(r.checkpoint, a); }
      return { id: r.id, ok: true, transcript: transcribeWav(a, r.wav, 'the recording') };
    }
    let l = loaded.get(r.checkpoint);
    if (!l) { l = load(() => loadImageModel(r.checkpoint, ['diffusion']) as LoadedImageModel<Unet>); loaded.set(r.checkpoint, l); }
    const images = r.op === 'restore'
      ? restoreImage(l, r.image, { mask: r.mask, denoise: r.denoise, classLabel: r.digit, seed: r.seed })
      : sampleImages(l, { n: r.n, classLabel: r.digit, seedImage: r.image, strength: r.strength, seed: r.seed }).images;
    return { id: r.id, ok: true, images, width: l.image.width, height: l.image.height };
  } catch (e) {
    return { id: r.id, ok: false, error: e instanceof UserError ? e.message : 'the image model failed', detail: (e as Error).message };
  }
}

await initBackend();
port.on('message', (r: ImageRequest) => {
  const reply = handle(r);
  port.postMessage(reply, reply.ok && 'images' in reply ? [reply.images.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true });
