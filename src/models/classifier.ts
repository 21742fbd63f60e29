// A small convolutional digit classifier, trained by the project on the training split, whose
// penultimate activations are the features of the Frechet distance (the role Inception plays in
// FID) and whose predictions give the class accuracy of conditional samples.
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, convWeights, linearWeights } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import type { ImageSet } from '../data/mnist.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const ClassifierConfigSchema = Type.Object({
  classes: Type.Integer({ minimum: 1, description: 'classes of the data' }),
  features: Type.Integer({ minimum: 1, maximum: 8192, description: 'width of the feature layer' }),
}, { additionalProperties: false });
export type ClassifierConfig = Static<typeof ClassifierConfigSchema>;

export function defaultClassifierConfig(): ClassifierConfig {
  return { classes: 10, features: 128 };
}

export function initClassifierWeights(c: ClassifierConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  convWeights(w, 'c1', rng, 3, 1, 32);
  convWeights(w, 'c2', rng, 3, 32, 32);
  convWeights(w, 'c3', rng, 3, 32, 64);
  convWeights(w, 'c4', rng, 3, 64, 32);
  linearWeights(w, 'fc1', rng, 7 * 7 * 32, c.features);
  linearWeights(w, 'fc2', rng, c.features, c.classes);
  return w;
}

export class Classifier extends ParamStore {
  constructor(readonly config: ClassifierConfig, weights: Weights) {
    super(weights);
  }

  /** x [B, 28, 28, 1] in [0, 1] -> features [B, features] (after ReLU) */
  features(x: tf.Tensor4D): tf.Tensor2D {
    const p = (n: string) => this.p(n);
    let h = tf.relu(conv2d(x, p('c1.w'), p('c1.b'), 1, 1)) as tf.Tensor4D;
    h = tf.relu(conv2d(h, p('c2.w'), p('c2.b'), 2, 1)) as tf.Tensor4D;
    h = tf.relu(conv2d(h, p('c3.w'), p('c3.b'), 1, 1)) as tf.Tensor4D;
    h = tf.relu(conv2d(h, p('c4.w'), p('c4.b'), 2, 1)) as tf.Tensor4D;
    return tf.relu(linear(tf.reshape(h, [x.shape[0], -1]), p('fc1.w'), p('fc1.b'))) as tf.Tensor2D;
  }

  /** features -> class logits */
  head(f: tf.Tensor2D): tf.Tensor2D {
    return linear(f, this.p('fc2.w'), this.p('fc2.b')) as tf.Tensor2D;
  }

  logits(x: tf.Tensor4D): tf.Tensor2D {
    return this.head(this.features(x));
  }
}

/** Images idx of set as [b, h, w, 1], each moved by (dy, dx) in [-shift, shift] with black fill. */
export function shiftedBatch(set: ImageSet, idx: ArrayLike<number>, rng: Rng | undefined, shift: number): tf.Tensor4D {
  const { height: h, width: w } = set, size = h * w, out = new Float32Array(idx.length * size);
  for (let k = 0; k < idx.length; k++) {
    const dy = rng ? rng.int(2 * shift + 1) - shift : 0, dx = rng ? rng.int(2 * shift + 1) - shift : 0;
    const src = set.images.subarray(idx[k] * size, (idx[k] + 1) * size);
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < w) out[k * size + y * w + x] = src[sy * w + sx];
      }
    }
  }
  return tf.tensor4d(out, [idx.length, h, w, 1]);
}

/** Fraction of set classified correctly (no augmentation), in batches of 250. */
export function accuracy(model: Classifier, set: ImageSet): number {
  let right = 0;
  for (let s = 0; s < set.n; s += 250) {
    const idx = Array.from({ length: Math.min(250, set.n - s) }, (_, i) => s + i);
    const pred = tf.tidy(() => tf.argMax(model.logits(shiftedBatch(set, idx, undefined, 0)), 1).dataSync());
    idx.forEach((j, i) => { if (pred[i] === set.labels[j]) right += 1; });
  }
  return right / set.n;
}
