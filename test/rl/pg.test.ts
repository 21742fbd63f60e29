import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { advantages, policyGradientLoss, sequenceKl, tokenLogProbs } from '../../src/rl/policyGradient.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

describe('policy gradient with a KL leash', () => {
  it("the loss's gradient equals the analytic REINFORCE gradient on a one-step softmax policy", () => {
    // a policy over 4 actions with logits theta; 3 sampled actions with rewards; no KL, no normalisation
    const theta = [0.3, -0.2, 0.5, 0.1], actions = [2, 0, 2], rewards = Float32Array.from([1, 0.2, -0.5]);
    const grad = tf.tidy(() => tf.grad((th: tf.Tensor) => {
      const logits = tf.tile(tf.expandDims(th, 0), [3, 1]) as tf.Tensor2D;
      const logp = tf.reshape(tokenLogProbs(logits, tf.tensor1d(actions, 'int32')), [3, 1]) as tf.Tensor2D;
      return policyGradientLoss({ logp, refLogp: tf.zerosLike(logp) as tf.Tensor2D, mask: tf.onesLike(logp) as tf.Tensor2D, rewards }, { kl: 0, normalise: false }).loss;
    })(tf.tensor1d(theta)).dataSync());
    // analytic: -1/N sum_i (R_i - mean R) (onehot(a_i) - softmax(theta))
    const z = theta.map(Math.exp), sum = z.reduce((a, b) => a + b), p = z.map((v) => v / sum);
    const mean = (1 + 0.2 - 0.5) / 3;
    const want = theta.map((_, k) => -actions.reduce((s, a, i) => s + (rewards[i] - mean) * ((a === k ? 1 : 0) - p[k]), 0) / 3);
    expect(maxAbsDiff(grad, want)).toBeLessThan(1e-6);
  });
  it('the KL term is zero when the policy is the reference, and positive in expectation otherwise', () => {
    tf.tidy(() => {
      const lp = tf.tensor2d([[-1.2, -0.3], [-2.0, -0.1]]), mask = tf.ones([2, 2]) as tf.Tensor2D;
      expect([...sequenceKl(lp, lp, mask)]).toEqual([0, 0]);
      // sampled from p, the estimate sum (log p - log q) averages KL(p || q) > 0
      const p = [0.7, 0.2, 0.1], q = [0.3, 0.3, 0.4], rng = new Rng(2);
      let s = 0;
      for (let i = 0; i < 20000; i++) { const u = rng.next(), a = u < 0.7 ? 0 : u < 0.9 ? 1 : 2; s += Math.log(p[a]) - Math.log(q[a]); }
      const kl = p.reduce((acc, pi, k) => acc + pi * Math.log(pi / q[k]), 0);
      expect(s / 20000).toBeCloseTo(kl, 1);
    });
  });
  it('shapes rewards by R - kl * KL, subtracts the batch mean, and normalises when asked', () => {
    const a = advantages(Float32Array.from([1, 2, 3]), false);
    expect([...a]).toEqual([-1, 0, 1]);
    const n = advantages(Float32Array.from([1, 2, 3]), true);
    expect(n[2]).toBeCloseTo(Math.sqrt(1.5), 4);
    tf.tidy(() => {
      const logp = tf.tensor2d([[-1, -1], [-0.5, -0.5]]), ref = tf.tensor2d([[-1.5, -1], [-0.5, -1.5]]);
      const r = policyGradientLoss({ logp, refLogp: ref, mask: tf.ones([2, 2]) as tf.Tensor2D, rewards: Float32Array.from([1, 1]) }, { kl: 0.5 });
      expect([...r.kl]).toEqual([0.5, 1]);
      expect([...r.shaped]).toEqual([0.75, 0.5]);
    });
  });
  it('a softmax policy on a 5-armed bandit reaches the best arm, and the KL leash holds it nearer the reference', async () => {
    const means = [0.1, 0.5, 0.2, 0.9, 0.3];
    const train = (kl: number) => {
      const theta = tf.variable(tf.zeros([5])), ref = tf.zeros([1, 5]) as tf.Tensor2D, rng = new Rng(7), opt = tf.train.adam(0.05);
      for (let step = 0; step < 300; step++) {
        const probs = tf.tidy(() => tf.softmax(theta).dataSync());
        const acts = Array.from({ length: 16 }, () => { let u = rng.next(), a = 0; while (a < 4 && u > probs[a]) { u -= probs[a]; a++; } return a; });
        const rewards = Float32Array.from(acts, (a) => means[a] + 0.1 * rng.normal());
        opt.minimize(() => {
          const logits = tf.tile(tf.expandDims(theta, 0), [16, 1]) as tf.Tensor2D, at = tf.tensor1d(acts, 'int32');
          const logp = tf.reshape(tokenLogProbs(logits, at), [16, 1]) as tf.Tensor2D;
          const refLogp = tf.reshape(tokenLogProbs(tf.tile(ref, [16, 1]) as tf.Tensor2D, at), [16, 1]) as tf.Tensor2D;
          return policyGradientLoss({ logp, refLogp, mask: tf.onesLike(logp) as tf.Tensor2D, rewards }, { kl }).loss;
        });
      }
      const p = tf.tidy(() => tf.softmax(theta).dataSync());
      theta.dispose(); ref.dispose(); opt.dispose();
      return p;
    };
    const free = train(0), leashed = train(2);
    expect(free.indexOf(Math.max(...free))).toBe(3);
    expect(free[3]).toBeGreaterThan(0.8);
    expect(leashed[3]).toBeLessThan(free[3]); // the reference (uniform) pulls back
    // PPO's clipped form: at ratio 1 its gradient is REINFORCE's; nothing leaks
    const g = (clip: number) => tf.tidy(() => tf.grad((lp: tf.Tensor) => policyGradientLoss({ logp: lp as tf.Tensor2D, refLogp: tf.tensor2d([[-1, -1], [-2, -1]]), mask: tf.ones([2, 2]) as tf.Tensor2D, rewards: Float32Array.from([1, 0]) }, { kl: 0.1, clip }).loss)(tf.tensor2d([[-1, -2], [-0.5, -1]])).dataSync());
    expect(maxAbsDiff(g(0.2), g(0))).toBeLessThan(1e-6);
    await expectNoLeak(() => { g(0.2); });
  });
});

describe('rewards', () => {
  it('word frequency: the share of words that are the word, case-insensitive; one word only', async () => {
    const { wordFrequencyReward } = await import('../../src/rl/rewards.js');
    const r = wordFrequencyReward('Love');
    expect([...r.score(['love is love', 'no words here', '', 'LOVE, love; hate'])].map((v) => Math.round(v * 1000) / 1000)).toEqual([0.667, 0, 0, 0.667]);
    expect(r.name).toBe('word:love');
    expect(() => wordFrequencyReward('two words')).toThrow(/one word/);
  });
});
