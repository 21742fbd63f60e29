// DDPM training (Ho et al. 2020, Algorithm 1) as a TrainTask: x_t = sqrt(abar_t) x0 +
// sqrt(1 - abar_t) eps for a random t, loss = |eps - model(x_t, t)|^2. For a class-conditional
// model the label is replaced by "no class" with probability pUncond, which trains the
// unconditional model that classifier-free guidance needs.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import { linearBetas } from '../diffusion/schedules.js';
import type { Unet } from '../models/unet.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';

/** Images [n, h, w] in [0, 1] -> x [b, 32, 32, 1] in [-1, 1], zero-padded (black) to 32 x 32. */
export function toUnetInput(set: ImageSet, idx: ArrayLike<number>): tf.Tensor4D {
  const { height: h, width: w } = set, S = 32, top = Math.floor((S - h) / 2), left = Math.floor((S - w) / 2);
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

/**
 * Min-SNR-gamma loss weights for noise prediction (Hang et al. 2023): min(SNR_t, gamma) / SNR_t,
 * which stops the many easy high-SNR timesteps from dominating; gamma 0 means uniform weights.
 */
export function minSnrWeights(alphasCumprod: Float64Array | Float32Array, t: ArrayLike<number>, gamma: number): Float32Array {
  return Float32Array.from(t, (ti) => {
    if (gamma <= 0) return 1;
    const snr = alphasCumprod[ti] / (1 - alphasCumprod[ti]);
    return Math.min(snr, gamma) / snr;
  });
}

export function diffusionTask(opts: {
  model: Unet;
  train: ImageSet;
  test: ImageSet;
  pUncond?: number;
  /** Min-SNR-gamma weighting of the training loss (0: off); validation stays the plain MSE */
  minSnrGamma?: number;
  extraMeta?: Record<string, unknown>;
}): TrainTask {
  const { model, train, test } = opts;
  const pUncond = opts.pUncond ?? 0.1;
  const { alphasCumprod } = linearBetas();
  const T = alphasCumprod.length, classes = model.config.classes;
  const lossOn = (set: ImageSet, idx: number[], rng: Rng, gamma = 0) => {
    const B = idx.length;
    const x0 = toUnetInput(set, idx);
    const t = Int32Array.from({ length: B }, () => rng.int(T));
    const eps = tf.tensor4d(rng.normalArray(B * 32 * 32), [B, 32, 32, 1]);
    const a = Float32Array.from(t, (ti) => Math.sqrt(alphasCumprod[ti])), b = Float32Array.from(t, (ti) => Math.sqrt(1 - alphasCumprod[ti]));
    const xt = tf.add(tf.mul(x0, tf.tensor4d(a, [B, 1, 1, 1])), tf.mul(eps, tf.tensor4d(b, [B, 1, 1, 1]))) as tf.Tensor4D;
    const labels = classes > 0 ? tf.tensor1d(idx.map((i) => (rng.next() < pUncond ? classes : set.labels[i])), 'int32') : undefined;
    const perImage = tf.mean(tf.squaredDifference(model.forward(xt, tf.tensor1d(t, 'int32'), labels), eps), [1, 2, 3]);
    return tf.mean(gamma > 0 ? tf.mul(perImage, tf.tensor1d(minSnrWeights(alphasCumprod, t, gamma))) : perImage) as tf.Scalar;
  };
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set(),
    loss: (rng: Rng, batchSize: number) => lossOn(train, Array.from({ length: batchSize }, () => rng.int(train.n)), rng, opts.minSnrGamma ?? 0),
    // the same held-out images, timesteps and noise at every evaluation
    validate: (batches: number) => meanLoss(batches, 12345, (b, rng) => lossOn(test, Array.from({ length: 32 }, (_, i) => (b * 32 + i) % test.n), rng)),
    meta: () => ({ family: 'diffusion', model: { ...model.config }, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
