// DCGAN training as a two-phase TrainTask (Goodfellow et al. 2014, the non-saturating loss):
// phase d descends BCE(D(real), 1) + BCE(D(G(z)), 0) over D's weights, then phase g descends
// BCE(D(G(z)), 1) over G's, each with its own Adam (beta1 0.5, as the DCGAN paper). For a
// conditional model real images carry their labels and fakes get random ones. With `augment`,
// every image D sees (real or fake, in both phases) is first shifted and cut out (DiffAugment).
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import { bceWithLogits, type Dcgan } from '../models/dcgan.js';
import type { Rng } from '../util/rng.js';
import { augmentImages, randomAugmentParams } from './augment.js';
import type { TrainTask } from './trainer.js';

/** Images idx of set as [b, h, w, 1] in [-1, 1] (G's tanh range). */
export function toGanInput(set: ImageSet, idx: ArrayLike<number>): tf.Tensor4D {
  const size = set.height * set.width, out = new Float32Array(idx.length * size);
  for (let k = 0; k < idx.length; k++) for (let j = 0; j < size; j++) out[k * size + j] = set.images[idx[k] * size + j] * 2 - 1;
  return tf.tensor4d(out, [idx.length, set.height, set.width, 1]);
}

export interface GanAugment {
  /** largest shift in pixels (0: none) */
  shift: number;
  /** side of the cut-out square in pixels (0: none) */
  cutout: number;
}

/**
 * `clusterOf`: for a self-conditioned model, the cluster of each training image (real images are
 * judged with their cluster, fakes get clusters drawn from the clusters' frequencies).
 */
export function ganTask(opts: { model: Dcgan; train: ImageSet; augment?: GanAugment; clusterOf?: Int32Array; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, train, clusterOf } = opts;
  if (model.config.clusters > 0 && clusterOf?.length !== train.n) throw new Error(`a self-conditioned GAN needs the cluster of each of the ${train.n} training images`);
  const aug = opts.augment && (opts.augment.shift > 0 || opts.augment.cutout > 0) ? opts.augment : undefined;
  // what D sees of a batch: the images themselves, or a fresh random augmentation of them
  const view = (rng: Rng, x: tf.Tensor4D): tf.Tensor4D => (aug ? augmentImages(x, randomAugmentParams(rng, x.shape[0], x.shape[1], x.shape[2], aug.shift, aug.cutout)) : x);
  const { z: Z, classes } = model.config;
  const names = [...model.params.keys()];
  const noise = (rng: Rng, B: number) => tf.tensor2d(rng.normalArray(B * Z), [B, Z]);
  const fakeLabels = (rng: Rng, B: number) => {
    if (model.config.clusters > 0) return model.drawClusters(rng, B);
    return classes > 0 ? tf.tensor1d(Array.from({ length: B }, () => rng.int(classes)), 'int32') : undefined;
  };
  const realLabels = (idx: number[]) => {
    if (clusterOf) return tf.tensor1d(idx.map((i) => clusterOf[i]), 'int32');
    return classes > 0 ? tf.tensor1d(idx.map((i) => train.labels[i]), 'int32') : undefined;
  };
  return {
    params: model.state,
    phases: {
      d: {
        trainable: names.filter((k) => k.startsWith('d.')),
        decay: new Set(),
        loss: (rng: Rng, B: number) => {
          const idx = Array.from({ length: B }, () => rng.int(train.n));
          const y = realLabels(idx);
          const yf = fakeLabels(rng, B);
          const real = bceWithLogits(model.discriminate(view(rng, toGanInput(train, idx)), y), 1);
          const fake = bceWithLogits(model.discriminate(view(rng, model.generate(noise(rng, B), yf)), yf), 0);
          return tf.add(real, fake) as tf.Scalar;
        },
      },
      g: {
        trainable: names.filter((k) => k.startsWith('g.')),
        decay: new Set(),
        loss: (rng: Rng, B: number) => {
          const yf = fakeLabels(rng, B);
          return bceWithLogits(model.discriminate(view(rng, model.generate(noise(rng, B), yf, 'update')), yf), 1);
        },
      },
    },
    meta: () => ({ family: 'gan', model: { ...model.config }, image: { height: train.height, width: train.width, classes: train.classes }, ...opts.extraMeta }),
  };
}
