// Image sets to and from the image networks' tensors: the UNet's padded [-1, 1] input, dynamically
// binarised digits for the VAE. Used by training, sampling and evaluation alike.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import type { Rng } from '../util/rng.js';

/** The UNet's input side: images up to 32x32 are padded (black) to it. */
export const UNET_SIDE = 32;

/** Images [n, h, w] in [0, 1] -> x [b, 32, 32, 1] in [-1, 1], zero-padded (black) to 32 x 32. */
export function toUnetInput(set: ImageSet, idx: ArrayLike<number>): tf.Tensor4D {
  const { height: h, width: w } = set, S = UNET_SIDE, top = Math.floor((S - h) / 2), left = Math.floor((S - w) / 2);
  const out = new Float32Array(idx.length * S * S).fill(-1);
  for (let k = 0; k < idx.length; k++) {
    const src = idx[k] * h * w;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[k * S * S + (top + y) * S + left + x] = set.images[src + y * w + x] * 2 - 1;
  }
  return tf.tensor4d(out, [idx.length, S, S, 1]);
}

/** The centre h x w of [b, 32, 32, 1] outputs in [-1, 1], as images in [0, 1]. */
export function fromUnetOutput(x: tf.Tensor4D, h: number, w: number): Float32Array {
  const S = x.shape[1], top = Math.floor((S - h) / 2), left = Math.floor((S - w) / 2);
  return tf.tidy(() => tf.clipByValue(tf.div(tf.add(tf.slice(x, [0, top, left, 0], [-1, h, w, 1]), 1), 2), 0, 1).dataSync() as Float32Array);
}

/** Images idx of set as [b, h, w, 1] binary tensors, pixel on with probability its value. */
export function binarized(set: ImageSet, idx: ArrayLike<number>, rng: Rng): tf.Tensor4D {
  const size = set.height * set.width, out = new Float32Array(idx.length * size);
  for (let k = 0; k < idx.length; k++) for (let j = 0; j < size; j++) out[k * size + j] = rng.next() < set.images[idx[k] * size + j] ? 1 : 0;
  return tf.tensor4d(out, [idx.length, set.height, set.width, 1]);
}
