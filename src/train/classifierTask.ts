// Training the digit classifier as a TrainTask: cross-entropy on the training split, each image
// shifted by up to 2 pixels at random (so that the classifier judges shapes, not exact positions).
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import { shiftedBatch, type Classifier } from '../models/classifier.js';
import { crossEntropy } from '../nn/layers.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';


/** The training images a classifier learns from: all, or the first or second half in the split's order. */
export function classifierPart(n: number, part: 'all' | 'first' | 'second'): { from: number; count: number } {
  const half = Math.floor(n / 2);
  return part === 'all' ? { from: 0, count: n } : part === 'first' ? { from: 0, count: half } : { from: half, count: n - half };
}

export function classifierTask(opts: { model: Classifier; train: ImageSet; test: ImageSet; part?: 'all' | 'first' | 'second'; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, train, test } = opts, { from, count } = classifierPart(train.n, opts.part ?? 'all');
  const lossOn = (set: ImageSet, idx: number[], rng: Rng | undefined) =>
    crossEntropy(model.logits(shiftedBatch(set, idx, rng, 2)), tf.tensor1d(idx.map((i) => set.labels[i]), 'int32'));
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set([...model.params.keys()].filter((k) => k.endsWith('.w'))),
    loss: (rng: Rng, batchSize: number) => lossOn(train, Array.from({ length: batchSize }, () => from + rng.int(count)), rng),
    validate: (batches: number) => meanLoss(batches, 12345, (b) => lossOn(test, Array.from({ length: 250 }, (_, i) => (b * 250 + i) % test.n), undefined)),
    meta: () => ({ family: 'classifier', model: { ...model.config }, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
