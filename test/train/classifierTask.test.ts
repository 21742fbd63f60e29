import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../src/data/mnist.js';
import { Classifier, defaultClassifierConfig, initClassifierWeights } from '../../src/models/classifier.js';
import { classifierPart, classifierTask } from '../../src/train/classifierTask.js';
import { Rng } from '../../src/util/rng.js';

// 40 images: the first 20 NaN, the last 20 valid; a loss that draws one image of the NaN half is NaN
function halves(): ImageSet {
  const n = 40, images = new Float32Array(n * 28 * 28);
  images.fill(Number.NaN, 0, 20 * 28 * 28);
  images.fill(0.5, 20 * 28 * 28);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 10), n, height: 28, width: 28, classes: 10 };
}

describe('classifier training on part of the split (a second judge)', () => {
  it('splits the training images into halves that together cover them once', () => {
    expect(classifierPart(9, 'all')).toEqual({ from: 0, count: 9 });
    expect(classifierPart(9, 'first')).toEqual({ from: 0, count: 4 });
    expect(classifierPart(9, 'second')).toEqual({ from: 4, count: 5 });
  });

  it('draws its batches only from the half it is given', () => {
    const data = halves(), c = defaultClassifierConfig();
    const model = new Classifier(c, initClassifierWeights(c, new Rng(1)));
    const lossWith = (part: 'all' | 'second') => {
      const task = classifierTask({ model, train: data, test: data, part });
      return tf.tidy(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(new Rng(3), 32).dataSync()[0]);
    };
    expect(Number.isFinite(lossWith('second'))).toBe(true);
    expect(Number.isNaN(lossWith('all'))).toBe(true);
    model.dispose();
  });
});
