import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../src/data/mnist.js';
import { Classifier, defaultClassifierConfig, initClassifierWeights } from '../../src/models/classifier.js';
import { classifierPart, classifierTask } from '../../src/train/classifierTask.js';
import { Rng } from '../../src/util/rng.js';

// 40 images: those at even positions NaN, the odd ones valid; a loss that draws one NaN image is NaN
function halves(): ImageSet {
  const n = 40, images = new Float32Array(n * 28 * 28).fill(0.5);
  for (let i = 0; i < n; i += 2) images.fill(Number.NaN, i * 28 * 28, (i + 1) * 28 * 28);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 10), n, height: 28, width: 28, classes: 10 };
}

describe('classifier training on part of the split (a second judge)', () => {
  it('splits the training images into even and odd halves that together cover them once', () => {
    const all = (p: 'all' | 'even' | 'odd') => { const c = classifierPart(9, p); return Array.from({ length: c.count }, (_, k) => c.index(k)); };
    expect(all('all')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all('even')).toEqual([0, 2, 4, 6, 8]);
    expect(all('odd')).toEqual([1, 3, 5, 7]);
    const one = { ...halves(), n: 1 }, c = defaultClassifierConfig(), model = new Classifier(c, initClassifierWeights(c, new Rng(1)));
    expect(() => classifierTask({ model, train: one, test: one, part: 'odd' })).toThrow(/no training image of the 1 is at an odd position/);
    model.dispose();
  });

  it('draws its batches only from the half it is given', () => {
    const data = halves(), c = defaultClassifierConfig();
    const model = new Classifier(c, initClassifierWeights(c, new Rng(1)));
    const lossWith = (part: 'all' | 'odd') => {
      const task = classifierTask({ model, train: data, test: data, part });
      return tf.tidy(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(new Rng(3), 32).dataSync()[0]);
    };
    expect(Number.isFinite(lossWith('odd'))).toBe(true);
    expect(Number.isNaN(lossWith('all'))).toBe(true);
    model.dispose();
  });
});
