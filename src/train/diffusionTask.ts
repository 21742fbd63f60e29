// DDPM training (Ho et al. 2020, Algorithm 1) as a TrainTask: x_t = sqrt(abar_t) x0 +
// sqrt(1 - abar_t) eps for a random t, loss = |eps - model(x_t, t)|^2. For a class-conditional
// model the label is replaced by "no class" with probability pUncond, which trains the
// unconditional model that classifier-free guidance needs.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../diffusion/schedules.js';
import { toUnetInput } from '../models/imageIO.js';
import type { Unet } from '../models/unet.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';



/**
 * Min-SNR-gamma loss weights for noise prediction (Hang et al. 2023): min(SNR_t, gamma) / SNR_t,
 * which stops the many easy high-SNR timesteps from dominating; gamma 0 means uniform weights.
 */
export function minSnrWeights(alphasCumprod: Float64Array | Float32Array, t: ArrayLike<number>, gamma: number, prediction: 'eps' | 'v' = 'eps'): Float32Array {
  return Float32Array.from(t, (ti) => {
    if (gamma <= 0) return 1;
    const snr = alphasCumprod[ti] / (1 - alphasCumprod[ti]);
    // the weight on x0's error is min(snr, gamma); eps's loss already weighs it by snr, v's by snr + 1
    return Math.min(snr, gamma) / (prediction === 'v' ? snr + 1 : snr);
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
  const { alphasCumprod } = scheduleFrom(DEFAULT_SCHEDULE);
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
    meta: () => ({ family: 'diffusion', model: { ...model.config }, schedule: DEFAULT_SCHEDULE, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
