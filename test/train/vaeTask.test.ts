import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../src/data/mnist.js';
import { Vae, defaultVaeConfig, initVaeWeights } from '../../src/models/vae.js';
import { binarized } from '../../src/models/imageIO.js';
import { iwaeNll } from '../../src/models/vae.js';
import { Rng } from '../../src/util/rng.js';

const rng0 = new Rng(4);
const set: ImageSet = { images: rng0.uniformArray(6 * 784, 0, 1), labels: new Int32Array(6), n: 6, height: 28, width: 28, classes: 10 };

describe('VAE task', () => {
  it('binarises each pixel with probability its grey level', () => {
    const ones = { ...set, images: new Float32Array(6 * 784).fill(1) }, zeros = { ...set, images: new Float32Array(6 * 784) };
    expect(Math.min(...binarized(ones, [0, 1], new Rng(1)).dataSync())).toBe(1);
    expect(Math.max(...binarized(zeros, [0, 1], new Rng(1)).dataSync())).toBe(0);
    const half = { ...set, images: new Float32Array(6 * 784).fill(0.3) };
    const m = binarized(half, [0, 1, 2, 3, 4, 5], new Rng(2)).mean().dataSync()[0];
    expect(Math.abs(m - 0.3)).toBeLessThan(0.02);
  });

  it('the importance-weighted bound tightens with more samples (Burda et al.: NLL_K is non-increasing in K)', () => {
    const m = new Vae(defaultVaeConfig(), initVaeWeights(defaultVaeConfig(), new Rng(1)));
    const x = binarized(set, [0, 1, 2, 3, 4, 5], new Rng(3));
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const n1 = mean(iwaeNll(m, x, 1, new Rng(5))), n200 = mean(iwaeNll(m, x, 200, new Rng(5)));
    expect(Number.isFinite(n1) && Number.isFinite(n200)).toBe(true);
    expect(n200).toBeLessThan(n1);
    const before = tf.memory().numTensors;
    iwaeNll(m, x, 3, new Rng(6));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose(); m.dispose();
  });
});
