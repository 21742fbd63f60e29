// Training the digit classifier as a TrainTask: cross-entropy on the training split, each image
// shifted by up to 2 pixels at random (so that the classifier judges shapes, not exact positions).
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import type { Classifier } from '../models/classifier.js';
import { crossEntropy } from '../nn/layers.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';
import { meanLoss } from './meanLoss.js';

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

export function classifierTask(opts: { model: Classifier; train: ImageSet; test: ImageSet; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, train, test } = opts;
  const lossOn = (set: ImageSet, idx: number[], rng: Rng | undefined) =>
    crossEntropy(model.logits(shiftedBatch(set, idx, rng, 2)), tf.tensor1d(idx.map((i) => set.labels[i]), 'int32'));
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set([...model.params.keys()].filter((k) => k.endsWith('.w'))),
    loss: (rng: Rng, batchSize: number) => lossOn(train, Array.from({ length: batchSize }, () => rng.int(train.n)), rng),
    validate: (batches: number) => meanLoss(batches, 12345, (b) => lossOn(test, Array.from({ length: 250 }, (_, i) => (b * 250 + i) % test.n), undefined)),
    meta: () => ({ family: 'classifier', model: { ...model.config }, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
