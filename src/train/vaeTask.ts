// VAE training as a TrainTask: digits binarised afresh each time they are drawn (pixel on with
// probability its grey level), the negative ELBO with a Bernoulli likelihood as the loss.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import type { Vae } from '../models/vae.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';

/** Images idx of set as [b, h, w, 1] binary tensors, pixel on with probability its value. */
export function binarized(set: ImageSet, idx: ArrayLike<number>, rng: Rng): tf.Tensor4D {
  const size = set.height * set.width, out = new Float32Array(idx.length * size);
  for (let k = 0; k < idx.length; k++) for (let j = 0; j < size; j++) out[k * size + j] = rng.next() < set.images[idx[k] * size + j] ? 1 : 0;
  return tf.tensor4d(out, [idx.length, set.height, set.width, 1]);
}

/**
 * The importance-weighted bound on -log p(x) in nats (Burda et al. 2016, eq. 8) with K samples
 * from q(z|x): -log (1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)), for each image of x [B, h, w, 1].
 * For a CVAE, given labels y it bounds -log p(x|y) instead.
 */
export function iwaeNll(model: Vae, x: tf.Tensor4D, K: number, rng: Rng, y?: tf.Tensor1D): Float64Array {
  const B = x.shape[0], L = model.config.latent;
  const nll = tf.tidy(() => {
    const { mu, logvar } = model.encode(x, y);
    const eps = tf.tensor3d(rng.normalArray(B * K * L), [B, K, L]);
    const std = tf.exp(tf.mul(logvar, 0.5));
    const z = tf.add(tf.expandDims(mu, 1), tf.mul(eps, tf.expandDims(std, 1))); // (B, K, L)
    const logits = tf.reshape(model.decode(tf.reshape(z, [B * K, L]) as tf.Tensor2D, y && (tf.reshape(tf.tile(tf.expandDims(y, 1), [1, K]), [-1]) as tf.Tensor1D)), [B, K, -1]);
    const xs = tf.expandDims(tf.reshape(x, [B, -1]), 1);
    // log p(x|z) = -BCE with logits, summed over pixels
    const logPx = tf.neg(tf.sum(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, xs)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))), 2));
    const log2pi = Math.log(2 * Math.PI);
    const logPz = tf.mul(-0.5, tf.sum(tf.add(tf.square(z), log2pi), 2));
    const logQz = tf.mul(-0.5, tf.sum(tf.add(tf.add(tf.square(eps), tf.expandDims(logvar, 1)), log2pi), 2));
    const w = tf.sub(tf.add(logPx, logPz), logQz); // (B, K)
    return tf.neg(tf.sub(tf.logSumExp(w, 1), Math.log(K)));
  });
  const out = Float64Array.from(nll.dataSync());
  nll.dispose();
  return out;
}

export function vaeTask(opts: { model: Vae; train: ImageSet; test: ImageSet; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, train, test } = opts;
  const L = model.config.latent;
  const lossOn = (set: ImageSet, idx: number[], rng: Rng) =>
    model.loss(binarized(set, idx, rng), tf.tensor2d(rng.normalArray(idx.length * L), [idx.length, L]),
      model.config.classes > 0 ? tf.tensor1d(idx.map((i) => set.labels[i]), 'int32') : undefined);
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set(),
    loss: (rng: Rng, batchSize: number) => lossOn(train, Array.from({ length: batchSize }, () => rng.int(train.n)), rng),
    validate: (batches: number) => meanLoss(batches, 12345, (b, rng) => lossOn(test, Array.from({ length: 128 }, (_, i) => (b * 128 + i) % test.n), rng)),
    meta: () => ({ family: 'vae', model: { ...model.config }, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
