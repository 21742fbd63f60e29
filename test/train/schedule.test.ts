import { describe, expect, it } from 'vitest';
import { lrAt } from '../../src/train/schedule.js';

const c = { lr: 1e-3, minLr: 1e-4, warmupSteps: 100, decaySteps: 2000 };

describe('learning-rate schedule', () => {
  it('warms up linearly to the peak', () => {
    expect(lrAt(0, c)).toBeCloseTo(1e-5, 12);
    expect(lrAt(49, c)).toBeCloseTo(5e-4, 12);
    expect(lrAt(99, c)).toBeCloseTo(1e-3, 12);
  });
  it('decays by a cosine from the peak to minLr, then stays there', () => {
    expect(lrAt(100, c)).toBeCloseTo(1e-3, 12);
    expect(lrAt(1050, c)).toBeCloseTo(5.5e-4, 12); // halfway: the mean of peak and floor
    expect(lrAt(2000, c)).toBeCloseTo(1e-4, 12);
    expect(lrAt(5000, c)).toBeCloseTo(1e-4, 12);
    for (let s = 101; s < 2000; s += 97) expect(lrAt(s, c)).toBeLessThan(lrAt(s - 1, c));
  });
  it('matches the peer script formula at a few steps', () => {
    // torch_reference.py: 1e-4 + 0.5 * (1 + cos(pi * r)) * (1e-3 - 1e-4), r = (it - 100) / 1900
    for (const it of [100, 577, 1234, 1999]) {
      const r = (it - 100) / 1900;
      expect(lrAt(it, c)).toBeCloseTo(1e-4 + 0.5 * (1 + Math.cos(Math.PI * r)) * 9e-4, 12);
    }
  });
});
