// DiffAugment for the GAN: translation and cutout by hand, their gradient, the random parameters.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { augmentImages, randomAugmentParams, specAugment, warpFeatures, type AugmentParams } from '../../src/train/augment.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

const B = 3, H = 5, W = 6;
const p: AugmentParams = { dy: [1, -2, 0], dx: [-1, 3, 0], cy: [-1, 2, 4], cx: [4, 0, 5], size: 3 };

/** where output pixel (b, i, j) reads from, or null when it is background (shifted in or cut out) */
function source(b: number, i: number, j: number): number | null {
  if (i >= p.cy[b] && i < p.cy[b] + p.size && j >= p.cx[b] && j < p.cx[b] + p.size) return null;
  const k = i - p.dy[b], l = j - p.dx[b];
  return k >= 0 && k < H && l >= 0 && l < W ? (b * H + k) * W + l : null;
}

describe('GAN augmentation (DiffAugment)', () => {
  it('shifts each image by its own offset, fills with background (-1) and cuts out its square', async () => {
    const xs = new Rng(2).uniformArray(B * H * W, -1, 1);
    const x = tf.tensor4d(xs, [B, H, W, 1]);
    await expectNoLeak(() => tf.tidy(() => {
      const out = augmentImages(x, p);
      expect(out.shape).toEqual([B, H, W, 1]);
      const v = out.dataSync();
      for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
        const s = source(b, i, j);
        expect(v[(b * H + i) * W + j]).toBeCloseTo(s === null ? -1 : xs[s], 6);
      }
    }));
    // no shift and no cutout: the images themselves
    const id = tf.tidy(() => augmentImages(x, { dy: [0, 0, 0], dx: [0, 0, 0], cy: [0, 0, 0], cx: [0, 0, 0], size: 0 }).dataSync());
    for (let k = 0; k < xs.length; k++) expect(id[k]).toBeCloseTo(xs[k], 6);
    expect(() => augmentImages(x, { ...p, dy: [0] })).toThrow(/parameters for 1 images, batch of 3/);
    x.dispose();
  });

  it('is differentiable: each input pixel gets the weight of the output pixel it lands on', () => {
    const wv = new Rng(3).uniformArray(B * H * W, -1, 1);
    const x = tf.zeros([B, H, W, 1]) as tf.Tensor4D, w = tf.tensor4d(wv, [B, H, W, 1]);
    const g = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(augmentImages(a as tf.Tensor4D, p), w)))(x).dataSync());
    const want = new Float32Array(B * H * W);
    for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const s = source(b, i, j);
      if (s !== null) want[s] += wv[(b * H + i) * W + j];
    }
    for (let k = 0; k < want.length; k++) expect(g[k]).toBeCloseTo(want[k], 6);
    x.dispose(); w.dispose();
  });

  it('draws shifts in [-shift, shift] and cutout squares that overlap the image', () => {
    const q = randomAugmentParams(new Rng(5), 4000, 28, 28, 3, 14);
    expect(new Set(q.dy)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
    expect(new Set(q.dx)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
    expect(Math.min(...q.cy)).toBe(-13);
    expect(Math.max(...q.cy)).toBe(27);
    expect(Math.min(...q.cx)).toBe(-13);
    expect(Math.max(...q.cx)).toBe(27);
    expect(q.size).toBe(14);
    const none = randomAugmentParams(new Rng(5), 50, 28, 28, 0, 0);
    expect(new Set(none.dy)).toEqual(new Set([0]));
    expect(none.size).toBe(0);
  });
});

describe('SpecAugment', () => {
  it('zeroes whole mel bands and whole frame spans of a copy, within their widths, and leaves the rest and the input as they were', () => {
    const mels = 40, T = 300, x = Float32Array.from({ length: T * mels }, (_, i) => 1 + (i % 7));
    let masked = 0;
    for (let s = 0; s < 20; s++) {
      const y = specAugment(x, mels, new Rng(s), 2);
      expect(x.every((v) => v > 0)).toBe(true); // the pool's copy is untouched
      const bands = Array.from({ length: mels }, (_, f) => Array.from({ length: T }, (_, t) => y[t * mels + f]).every((v) => v === 0));
      const frames = Array.from({ length: T }, (_, t) => y.subarray(t * mels, (t + 1) * mels).every((v) => v === 0));
      for (let i = 0; i < y.length; i++) if (y[i] === 0) expect(bands[i % mels] || frames[Math.floor(i / mels)]).toBe(true);
      else expect(y[i]).toBe(x[i]);
      expect(bands.filter(Boolean).length).toBeLessThanOrEqual(16);
      expect(frames.filter(Boolean).length).toBeLessThanOrEqual(40);
      masked += y.filter((v) => v === 0).length;
    }
    expect(masked).toBeGreaterThan(0);
    expect(specAugment(x, mels, new Rng(1), 0)).toEqual(x);
  });
});

describe('warpFeatures', () => {
  it('stretches the mel axis and the time axis by factors within their ranges, by interpolation, and leaves the input as it was', () => {
    const mels = 40, T = 200, x = Float32Array.from({ length: T * mels }, (_, i) => (i % mels) + 1000 * Math.floor(i / mels)); // band f, frame t: f + 1000 t
    expect(warpFeatures(x, mels, new Rng(3), 0, 0)).toEqual(x);
    const lengths = new Set<number>();
    for (let s = 0; s < 30; s++) {
      const y = warpFeatures(x, mels, new Rng(s), 0.1, 0.2), To = y.length / mels;
      expect(To).toBeGreaterThanOrEqual(Math.round(T / 1.2));
      expect(To).toBeLessThanOrEqual(Math.round(T / 0.8));
      lengths.add(To);
      // frame 0 band f reads band f * alpha: the same alpha for every band below the clamp
      const alpha = y[1] - y[0];
      expect(alpha).toBeGreaterThanOrEqual(0.9 - 1e-4);
      expect(alpha).toBeLessThanOrEqual(1.1 + 1e-4);
      for (let f = 0; f < 30; f++) expect(y[f]).toBeCloseTo(f * alpha, 3);
      // band 0 of frame t reads frame t * beta: 1000 t beta
      const beta = y[mels] / 1000;
      expect(beta).toBeGreaterThanOrEqual(0.8 - 1e-4);
      expect(beta).toBeLessThanOrEqual(1.2 + 1e-4);
      expect(Math.abs(To - T / beta)).toBeLessThanOrEqual(1);
      expect(y[10 * mels] / 1000).toBeCloseTo(10 * beta, 2);
    }
    expect(lengths.size).toBeGreaterThan(5);
    expect(x[mels + 1]).toBe(1001);
  });
});
