import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ctcBeam, ctcGreedy, ctcLoss } from '../../src/nn/ctc.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

/** Every path of T frames over V ids (blank 0), collapsed: repeats merged, blanks dropped; its log-probability. */
function allPaths(lp: number[][], T: number): Map<string, number> {
  const V = lp[0].length, out = new Map<string, number>();
  for (let code = 0; code < V ** T; code++) {
    const path: number[] = [];
    for (let t = 0, c = code; t < T; t++, c = Math.floor(c / V)) path.push(c % V);
    const lab = path.filter((v, t) => v !== 0 && v !== path[t - 1]).join(',');
    out.set(lab, (out.get(lab) ?? 0) + Math.exp(path.reduce((s, v, t) => s + lp[t][v], 0)));
  }
  return out;
}

describe('CTC', () => {
  const rng = new Rng(3);
  const T = 5, V = 4;
  const logits = tf.tensor3d(rng.normalArray(3 * T * V, 1.5), [3, T, V]);
  const lp = tf.logSoftmax(logits) as tf.Tensor3D, rows = lp.arraySync() as number[][][];

  it('the loss is -log of the probability summed over every alignment (brute force), per label, for different lengths and repeated labels', () => {
    const labels = [[1, 2], [3, 3], [2]], frames = [5, 5, 3];
    const loss = tf.tidy(() => ctcLoss(lp, labels, frames).dataSync()[0]);
    const want = labels.map((l, b) => -Math.log(allPaths(rows[b].slice(0, frames[b]), frames[b]).get(l.join(','))!) / l.length);
    expect(loss).toBeCloseTo(want.reduce((a, b) => a + b) / 3, 4);
  });

  it('its gradient lowers the loss, is finite where a labelling is nearly impossible, and leaks nothing', async () => {
    const x = tf.variable(logits.clone());
    const f = () => ctcLoss(tf.logSoftmax(x) as tf.Tensor3D, [[1, 2, 1], [3, 3], [2]], [5, 5, 5]);
    await expectNoLeak(() => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(f as () => tf.Scalar, [x]);
      const g = grads[x.name];
      expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
      const after = tf.tidy(() => ctcLoss(tf.logSoftmax(tf.sub(x, tf.mul(g, 0.1))) as tf.Tensor3D, [[1, 2, 1], [3, 3], [2]], [5, 5, 5]));
      expect(after.dataSync()[0]).toBeLessThan(value.dataSync()[0]);
    }));
    x.dispose();
  });

  it('refuses a label outside the vocabulary, the blank as a label, and lengths beyond the frames', () => {
    expect(() => ctcLoss(lp, [[4], [1], [1]], [5, 5, 5])).toThrow(/label ids/);
    expect(() => ctcLoss(lp, [[0], [1], [1]], [5, 5, 5])).toThrow(/label ids/);
    expect(() => ctcLoss(lp, [[1], [1], [1]], [5, 6, 5])).toThrow(/frames/);
  });

  it('greedy decoding merges repeats and drops blanks; prefix beam search finds the most probable labelling', () => {
    const oneHot = (ids: number[]) => ids.map((i) => Array.from({ length: V }, (_, v) => (v === i ? 0.9 : 0.1 / 3)));
    expect(ctcGreedy(oneHot([1, 1, 0, 1, 2, 2, 0]))).toEqual([1, 1, 2]);
    for (let b = 0; b < 3; b++) {
      const best = [...allPaths(rows[b], T).entries()].sort((p, q) => q[1] - p[1])[0][0];
      expect(ctcBeam(rows[b], 64).join(',')).toBe(best);
    }
    expect(() => ctcBeam(rows[0], 0)).toThrow(/beam/);
  });

  it('beam search with a prior finds the labelling best by CTC probability plus the prior, never one the prior drops', () => {
    // the prior drops any labelling where a 2 follows a 1, and rewards (at the end) those holding a 3
    const conflict = (ids: readonly number[]) => ids.some((v, i) => v === 2 && ids.slice(0, i).includes(1));
    const prior = { prefix: (ids: readonly number[]) => (conflict(ids) ? -Infinity : 0), final: (ids: readonly number[]) => (ids.includes(3) ? 1.5 : 0) };
    const best = (lp: number[][]) => [...allPaths(lp, lp.length).entries()].filter(([l]) => !conflict(l ? l.split(',').map(Number) : []))
      .map(([l, p]) => [l, Math.log(p) + (l.split(',').includes('3') ? 1.5 : 0)] as const).sort((p, q) => q[1] - p[1])[0][0];
    const row = (...p: number[]) => p.map(Math.log);
    // a 1, then a 2 more likely than a 3: the 2 is dropped
    const drop = [row(0.05, 0.9, 0.03, 0.02), row(0.9, 0.05, 0.03, 0.02), row(0.02, 0.02, 0.56, 0.4), row(0.9, 0.04, 0.03, 0.03)];
    // a 3 less likely than the blank: the reward at the end keeps it
    const reward = [row(0.9, 0.05, 0.03, 0.02), row(0.6, 0.02, 0.02, 0.36), row(0.9, 0.04, 0.03, 0.03)];
    expect(ctcBeam(drop, 16)).toEqual([1, 2]);
    expect(ctcBeam(drop, 16, prior)).toEqual([1, 3]);
    expect(ctcBeam(reward, 16)).toEqual([]);
    expect(ctcBeam(reward, 16, prior)).toEqual([3]);
    for (const lp of [drop, reward, ...rows]) expect(ctcBeam(lp, 64, prior).join(',')).toBe(best(lp));
    // a label below the floor (e^-16) is tried only where the prior's bonus says a reward could carry it
    const faint = [row(0.9, 0.05, 0.05 - 1e-7, 1e-7), row(0.9, 0.05, 0.05, 1e-12)];
    const reward3 = { final: (ids: readonly number[]) => (ids.includes(3) ? 20 : 0) };
    expect(ctcBeam(faint, 8, reward3)).toEqual([]);
    expect(ctcBeam(faint, 8, { ...reward3, bonus: 20 })).toEqual([3]);
    // a prior that drops everything but the empty labelling leaves it
    expect(ctcBeam(rows[0], 8, { prefix: (ids) => (ids.length ? -Infinity : 0) })).toEqual([]);
  });
});
