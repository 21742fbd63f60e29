import { describe, expect, it } from 'vitest';
import { drawToken, softmax, temperature, topK, topP } from '../../src/models/sampling.js';
import { Rng } from '../../src/util/rng.js';

const logits = Float32Array.from([2, 1, 0.5, -1, 3]);

describe('logits processors', () => {
  it('top-k keeps the k largest logits', () => {
    const out = topK(2)(logits);
    expect(Array.from(out).map((v) => Number.isFinite(v))).toEqual([true, false, false, false, true]);
  });
  it('top-p keeps the smallest set reaching the mass', () => {
    const p = softmax(logits); // ~ [0.24, 0.09, 0.05, 0.01, 0.61]
    const out = topP(p[4] + 0.01)(logits);
    expect(Array.from(out).map((v) => Number.isFinite(v))).toEqual([true, false, false, false, true]);
  });
  it('temperature sharpens below 1 and flattens above', () => {
    expect(softmax(temperature(0.5)(logits))[4]).toBeGreaterThan(softmax(logits)[4]);
    expect(softmax(temperature(2)(logits))[4]).toBeLessThan(softmax(logits)[4]);
    expect(() => temperature(0)).toThrow(/> 0/);
  });
  it('draws tokens with their probabilities', () => {
    const rng = new Rng(3), counts = new Array(5).fill(0), n = 20000;
    for (let i = 0; i < n; i++) counts[drawToken(logits, rng)]++;
    const p = softmax(logits);
    counts.forEach((c, i) => expect(Math.abs(c / n - p[i])).toBeLessThan(0.015));
  });
});
