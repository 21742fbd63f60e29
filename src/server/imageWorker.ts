// The digit-image worker thread: restores a damaged digit (RePaint inpainting of a drawn region
// and/or SDEdit denoising) and turns a drawn sketch into digits (SDEdit image-to-image), with the
// shipped digits diffusion model, off the server's event loop. One request at a time, in order.
import { parentPort } from 'node:worker_threads';
import type { Unet } from '../models/unet.js';
import { loadImageModel, restoreImage, sampleImages, type LoadedImageModel } from '../pipelines/images.js';
import { initBackend } from '../tensor/backend.js';
import { UserError } from '../util/errors.js';
import type { ImageRequest, ImageReply } from './imageProtocol.js';

const port = parentPort!;
const loaded = new Map<string, LoadedImageModel<Unet>>();

function handle(r: ImageRequest): ImageReply {
  try {
    let l = loaded.get(r.checkpoint);
    if (!l) { l = loadImageModel(r.checkpoint, ['diffusion']) as LoadedImageModel<Unet>; loaded.set(r.checkpoint, l); }
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
  port.postMessage(reply, reply.ok ? [reply.images.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true });
