// DDPO for the clip diffusion model: the step distribution, the per-prompt advantages, the
// surrogate's gradient, the KL term, and a tiny model pulled toward a reward by the trainer.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../../src/diffusion/schedules.js';
import { DdimScheduler } from '../../src/diffusion/schedulers.js';
import { clipDdpoTask, ddimStepMean, ddpoStepLoss, perPromptAdvantages, referenceMeans, sampleTrajectories, stepLogProb } from '../../src/rl/clipDdpo.js';
import { createProgress } from '../../src/train/progress.js';
import { defaultTrainConfig, Trainer, type TrainPhase } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { workspace } from '../cli/fixtures.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { tinyClipDiffusion, tinySpriteDiffusion } from '../models/clipFixtures.js';
import type { ClipDenoiser } from '../../src/rl/clipDdpo.js';
import { SpriteDiffusion } from '../../src/models/spriteDiffusion.js';

const schedule = scheduleFrom(DEFAULT_SCHEDULE), ab = schedule.alphasCumprod;
const sampling = { schedule, steps: 4, eta: 1, guidance: 2 };

describe('clip DDPO', () => {
  it("a step's mean is DDIM's step without noise, and its sigma DDPM's posterior std at eta 1", () => {
    tf.tidy(() => {
      const rng = new Rng(1), x = tf.tensor4d(rng.normalArray(2 * 16 * 16 * 4), [2, 16, 16, 4]), eps = tf.tensor4d(rng.normalArray(2 * 16 * 16 * 4), [2, 16, 16, 4]);
      const sc = new DdimScheduler(schedule, false, 0);
      sc.setTimesteps(4);
      const [t, tp] = sc.timesteps;
      const ours = ddimStepMean(eps, x, ab[t], ab[tp], 0);
      expect(ours.sigma).toBe(0);
      expect(maxAbsDiff(ours.mean.dataSync(), sc.step(eps, t, x).prevSample.dataSync())).toBeLessThan(1e-4);
      const beta = 1 - ab[t] / ab[tp];
      expect(ddimStepMean(eps, x, ab[t], ab[tp], 1).sigma).toBeCloseTo(Math.sqrt(((1 - ab[tp]) / (1 - ab[t])) * beta), 10);
    });
  });

  it("log-probabilities: a clip's mean over elements of the Gaussian's log density, highest at the mean", () => {
    tf.tidy(() => {
      const mean = tf.zeros([4, 1, 1, 2]) as tf.Tensor4D, prev = tf.tensor4d([0, 0, 0, 0, 1, 1, 1, 1], [4, 1, 1, 2]);
      // clips 0 and 1: frames 0-1 and 2-3 of [B * frames]; clip 1 is 1 away everywhere
      expect(Array.from(stepLogProb(prev, mean, 0.5, 2).dataSync())).toEqual([0, -2]);
    });
  });

  it('per-prompt advantages: normalised within each prompt; a prompt seen once uses the batch; equal rewards give 0', () => {
    const a = perPromptAdvantages([1, 0, 0.5, 0.5, 1], ['x', 'x', 'y', 'y', 'z']);
    expect(a[0]).toBeCloseTo(1, 4);
    expect(a[1]).toBeCloseTo(-1, 4);
    expect(a[2]).toBe(0);
    expect(a[3]).toBe(0);
    const m = 0.6, sd = Math.sqrt((0.16 + 0.36 + 0.01 + 0.01 + 0.16) / 5);
    expect(a[4]).toBeCloseTo((1 - m) / sd, 4);
    expect(() => perPromptAdvantages([1], ['a', 'b'])).toThrow(/1 rewards for 2 prompts/);
  });

  it("at the sampling weights the ratio is 1, the KL to an equal reference is 0, and the loss's gradient is REINFORCE's", async () => {
    const m = tinyClipDiffusion(3), ref = tinyClipDiffusion(3);
    try {
      await expectNoLeak(() => {
        const tr = sampleTrajectories(m, ['a red 3 moving left', 'a blue 7 moving up'], sampling, new Rng(4));
        try {
          expect(tr.t).toHaveLength(3); // the last of 4 steps is deterministic
          const adv = Float32Array.of(1, -1), k = 1, o = { ...sampling, clip: 0.2, kl: 0.5, refMean: referenceMeans(ref, tr, sampling)[k] };
          const vars = ['unet.out.c.b', 'unet.out.c.w'].map((n) => m.params.get(n)!);
          const { value, grads } = tf.variableGrads(() => {
            const r = ddpoStepLoss(m, tr, k, adv, o);
            expect(r.ratio).toBeCloseTo(1, 5);
            expect(r.kl).toBeLessThan(1e-10);
            expect(r.clipped).toBe(0);
            return r.loss;
          }, vars);
          // REINFORCE: -mean_i A_i * d log p_i (the ratio's gradient at 1 is the log-prob's)
          const { value: wantValue, grads: want } = tf.variableGrads(() => tf.neg(tf.mean(tf.mul(tf.tensor1d(adv), ddpoLogp(m, tr, k)))) as tf.Scalar, vars);
          for (const v of vars) expect(maxAbsDiff(grads[v.name].dataSync(), want[v.name].dataSync())).toBeLessThan(1e-5 + 1e-3 * Math.max(...Array.from(want[v.name].dataSync(), Math.abs)));
          expect(Math.max(...Array.from(grads[vars[0].name].dataSync(), Math.abs))).toBeGreaterThan(0);
          value.dispose();
          wantValue.dispose();
          // a reference that differs is a positive KL
          const other = tinyClipDiffusion(4);
          try {
            tf.tidy(() => { expect(ddpoStepLoss(m, tr, k, adv, { ...o, refMean: referenceMeans(other, tr, sampling)[k] }).kl).toBeGreaterThan(1e-6); });
          } finally {
            other.dispose();
          }
          for (const g of [...Object.values(grads), ...Object.values(want)]) g.dispose();
        } finally {
          tr.final.dispose();
        }
      });
    } finally {
      m.dispose();
      ref.dispose();
    }
  }, 60_000);

  it("one trainer step makes the rewarded clips' steps more likely and the others' less (A * dlog p > 0 at the trained step)", () => {
    const m = tinyClipDiffusion(5), texts = ['a red 3', 'a blue 7'];
    try {
      // the first sample of each prompt is rewarded, the second not
      const task = clipDdpoTask({
        ...sampling, policy: m, clip: 1e-4, kl: 0, perPrompt: 2, meta: {},
        prompts: () => ({ texts, keys: texts }),
        reward: (_f, keys) => Float32Array.from(keys, (_, i) => (i % 2 === 0 ? 1 : 0)),
      });
      const cfg = { ...defaultTrainConfig(), steps: 1, batchSize: 4, lr: 1e-4, minLr: 1e-4, warmupSteps: 0, weightDecay: 0, gradClip: 0, evalEvery: 0, checkpointEvery: 0 };
      const trainer = new Trainer(task, cfg, { outDir: workspace('genlab-ddpo-').dir, progress: createProgress({ quiet: true }) });
      trainer.trainStep();
      const { trajectories: tr, advantages: adv, trained } = task.batch()!;
      expect(Array.from(adv)).toEqual([1, -1, 1, -1].map((v) => expect.closeTo(v, 4)));
      expect(trained).toHaveLength(1);
      const k = trained[0], now = tf.tidy(() => ddpoLogp(m, tr, k).dataSync());
      const gain = Array.from(now).reduce((s, lp, i) => s + adv[i] * (lp - tr.logp[k][i]), 0);
      expect(gain).toBeGreaterThan(0);
      expect(Number.isFinite(task.stats().reward)).toBe(true);
      expect(task.stats().reward).toBe(0.5);
    } finally {
      m.dispose();
    }
  }, 60_000);

  it.each([['latent video diffusion', () => tinyClipDiffusion(6)], ['sprite diffusion', () => tinySpriteDiffusion(6)]] as const)("%s: with accumulate, one trainer step trains on every stochastic timestep of the batch, and the rewarded clips' steps gain on the whole", (_name, make) => {
    const m: ClipDenoiser = make(), texts = ['a red 3', 'a blue 7'];
    try {
      const task = clipDdpoTask({
        ...sampling, policy: m, clip: 1e-4, kl: 0, perPrompt: 2, meta: {}, accumulate: true,
        prompts: () => ({ texts, keys: texts }),
        reward: (_f, keys) => Float32Array.from(keys, (_, i) => (i % 2 === 0 ? 1 : 0)),
      });
      expect((task as unknown as TrainPhase).accumulate).toBe(sampling.steps - 1);
      // a small step: the first-order gain (random tiny models are far from linear at 1e-4, clipped x0 most of all)
      const cfg = { ...defaultTrainConfig(), steps: 1, batchSize: 4, lr: 1e-6, minLr: 1e-6, warmupSteps: 0, weightDecay: 0, gradClip: 0, evalEvery: 0, checkpointEvery: 0 };
      const trainer = new Trainer(task, cfg, { outDir: workspace('genlab-ddpo-').dir, progress: createProgress({ quiet: true }) });
      trainer.trainStep();
      const { trajectories: tr, advantages: adv, trained } = task.batch()!;
      expect([...trained].sort()).toEqual(tr.t.map((_, k) => k));
      const gain = trained.reduce((g, k) => g + Array.from(tf.tidy(() => ddpoLogp(m, tr, k).dataSync())).reduce((s, lp, i) => s + adv[i] * (lp - tr.logp[k][i]), 0), 0);
      expect(gain).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  }, 60_000);
});

/** The step's log-probabilities under the model, recomputed as the loss does (for the REINFORCE check). */
function ddpoLogp(m: ClipDenoiser, tr: ReturnType<typeof sampleTrajectories>, k: number): tf.Tensor1D {
  const B = tr.texts.length, texts = [...tr.texts, ...tr.texts.map(() => '')], t = tf.fill([2 * B], tr.t[k], 'int32') as tf.Tensor1D;
  let x: tf.Tensor, out: tf.Tensor;
  if (m instanceof SpriteDiffusion) {
    x = tf.tensor2d(tr.x[k], [B, 792]);
    out = m.predictNoise(tf.concat([x, x]) as tf.Tensor2D, t, m.condition(texts), ab);
  } else {
    x = tf.tensor4d(tr.x[k], [B * 16, 16, 16, 4]);
    out = m.predictNoise(tf.concat([x, x]) as tf.Tensor4D, t, m.encodeText(texts), ab);
  }
  const [c, u] = tf.split(out, 2, 0);
  const eps = tf.add(u, tf.mul(tf.sub(c, u), sampling.guidance));
  const { mean, sigma } = ddimStepMean(eps, x, ab[tr.t[k]], ab[tr.tPrev[k]], 1, m instanceof SpriteDiffusion);
  return stepLogProb(tf.tensor(tr.prev[k], x.shape), mean, sigma, B);
}
