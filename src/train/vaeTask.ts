// VAE training as a TrainTask: digits binarised afresh each time they are drawn (pixel on with
// probability its grey level), the negative ELBO with a Bernoulli likelihood as the loss.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import { binarized } from '../models/imageIO.js';
import type { Vae } from '../models/vae.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';



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
