// RL on the encoder's reading (the latent GAN's and sprite diffusion's): the loss's gradient is
// REINFORCE's, the KL to an equal reference is 0, the clips of a greedy reading are generate's,
// and a toy bandit over the digit head learns the rewarded arm through the trainer.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, DIGITS } from '../../src/data/clips/world.js';
import { generateClip } from '../../src/pipelines/clipGenerate.js';
import { clipReadingTask, greedyReading, headLogits, headProbs, readingLoss, renderReading, sampleReading, type Reading } from '../../src/rl/clipReading.js';
import { createProgress } from '../../src/train/progress.js';
import { defaultTrainConfig, Trainer } from '../../src/train/trainer.js';
import { Rng } from '../../src/util/rng.js';
import { workspace } from '../cli/fixtures.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { tinyLatentGan } from '../models/clipFixtures.js';

const texts = ['a red 3 moving left', 'a small blue 7 going up fast'];

describe('RL on the reading of the words', () => {
  it("the loss's gradient in the heads' biases is REINFORCE's, -mean_i A_i (onehot(a_i) - softmax(l_i / T)) / T per head; the KL to an equal reference is 0", () => {
    const m = tinyLatentGan(), T = 2, adv = new Float32Array([1.5, -0.5]);
    const reading = sampleReading(m, texts, T, new Rng(4));
    const grads = tf.tidy(() => {
      const vars = ATTRIBUTE_NAMES.map((k) => m.p(`head.${k}.b`)), { grads: g } = tf.variableGrads(() => readingLoss(m, texts, reading, adv, { temperature: T, kl: 1, refProbs: headProbs(m, texts) }).loss, vars);
      return Object.fromEntries(ATTRIBUTE_NAMES.map((k, i) => [`head.${k}.b`, g[vars[i].name].dataSync() as Float32Array]));
    });
    const logits = tf.tidy(() => Object.fromEntries(Object.entries(headLogits(m, texts)).map(([k, v]) => [k, tf.softmax(tf.div(v, T)).arraySync() as number[][]])));
    for (const k of ATTRIBUTE_NAMES) {
      const V = ATTRIBUTE_VALUES[k].length, want = new Float32Array(V);
      for (let i = 0; i < texts.length; i++) for (let v = 0; v < V; v++) want[v] -= (adv[i] * ((reading[k][i] === v ? 1 : 0) - logits[k][i][v])) / T / texts.length;
      expect(maxAbsDiff(grads[`head.${k}.b`], want), k).toBeLessThan(1e-5);
    }
    const l = tf.tidy(() => readingLoss(m, texts, reading, adv, { temperature: T, kl: 1, refProbs: headProbs(m, texts) }).kl);
    expect(Math.abs(l)).toBeLessThan(1e-6);
    m.dispose();
  });

  it("the KL term: sum_k KL(pi_k || ref_k) at temperature 1, averaged over texts, and its gradient in the biases p (log p - log q - KL)", () => {
    const m = tinyLatentGan(), ref = tinyLatentGan(), c = 0.5;
    ref.p('head.colour.b').assign(tf.tensor1d([0.7, -0.3, 0, 0.2, 0]));
    ref.p('head.direction.b').assign(tf.tensor1d([0, 0, -0.9, 0.4]));
    const q = headProbs(ref, texts), p = headProbs(m, texts), B = texts.length, zero = new Float32Array(B);
    const reading = sampleReading(m, texts, 1, new Rng(2));
    const vars = ATTRIBUTE_NAMES.map((k) => m.p(`head.${k}.b`));
    const out = tf.tidy(() => {
      let kl = 0;
      const { grads } = tf.variableGrads(() => { const r = readingLoss(m, texts, reading, zero, { temperature: 2, kl: c, refProbs: q }); kl = r.kl; return r.loss; }, vars);
      return { kl, g: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    });
    let want = 0;
    ATTRIBUTE_NAMES.forEach((k, h) => {
      const V = ATTRIBUTE_VALUES[k].length, g = new Float32Array(V);
      for (let i = 0; i < B; i++) {
        let klk = 0;
        for (let v = 0; v < V; v++) klk += p[k][i * V + v] * Math.log(p[k][i * V + v] / q[k][i * V + v]);
        want += klk / B;
        for (let v = 0; v < V; v++) g[v] += (c * p[k][i * V + v] * (Math.log(p[k][i * V + v] / q[k][i * V + v]) - klk)) / B;
      }
      expect(maxAbsDiff(out.g[h], g), k).toBeLessThan(1e-5);
    });
    expect(want).toBeGreaterThan(0.01);
    expect(out.kl).toBeCloseTo(want, 5);
    m.dispose(); ref.dispose();
  });

  it("the clips of the heads' argmax are generate's clips of the same text and seed (RL trains the reading generate uses)", async () => {
    const m = tinyLatentGan(), g = { kind: 'gan' as const, model: m, meta: { family: 'clip-gan', model: m.config } as never, dir: 'tiny' };
    const made = await generateClip(g, texts[0], { seed: 9 });
    const ours = renderReading(m, greedyReading(m, [made.report.encoderText]), new Rng(9), {});
    expect(maxAbsDiff(ours, made.frames)).toBeLessThan(1e-6);
    // a different reading makes a different clip
    const r = greedyReading(m, [made.report.encoderText]), other: Reading = { ...r, colour: Int32Array.from([(r.colour[0] + 1) % ATTRIBUTE_VALUES.colour.length]) };
    expect(maxAbsDiff(renderReading(m, other, new Rng(9), {}), made.frames)).toBeGreaterThan(1e-3);
    m.dispose();
  });

  it("a toy bandit: rewarded for reading the digit asked, the trainer moves the digit head's probability toward it, the rest of the generator untouched; no leak", async () => {
    const m = tinyLatentGan(), ws = workspace('genlab-reading-');
    const prompts = DIGITS.slice(0, 4).map((d) => `a red ${d} moving left`);
    const asked = (t: string) => DIGITS.indexOf(Number(t.split(' ')[2]) as (typeof DIGITS)[number]);
    // the mean probability the digit head gives the digit asked
    const right = () => { const p = headProbs(m, prompts).digit; return prompts.reduce((s, t, i) => s + p[i * 10 + asked(t)], 0) / prompts.length; };
    const before = right(), frozen = m.p('gen.pout.w').dataSync().slice();
    // the render hands the reading's digit on as the "clip", the reward reads it back
    let lastReading: Reading | undefined;
    const task = clipReadingTask({
      policy: m, kl: 0, temperature: 1.5, perPrompt: 4, meta: {},
      prompts: (rng, n) => { const ts = Array.from({ length: n }, () => prompts[rng.int(prompts.length)]); return { texts: ts, keys: ts }; },
      render: (r) => { lastReading = r; return Float32Array.from(r.digit); },
      reward: (frames, keys) => { const reward = Float32Array.from(keys, (k, i) => (frames[i] === asked(k) ? 1 : 0)); return { reward, exact: reward.reduce((a, b) => a + b, 0) / keys.length }; },
    });
    const cfg = { ...defaultTrainConfig(), optimizer: 'adam' as const, steps: 200, batchSize: 16, lr: 3e-3, minLr: 3e-3, warmupSteps: 0, weightDecay: 0, evalEvery: 0, checkpointEvery: 1000, logEvery: 1000 };
    await new Trainer(task, cfg, { outDir: ws.dir, progress: createProgress({ quiet: true }) }).run();
    expect(lastReading).toBeDefined();
    expect(before).toBeLessThan(0.4);
    expect(right()).toBeGreaterThan(before + 0.3);
    expect(maxAbsDiff(m.p('gen.pout.w').dataSync(), frozen)).toBe(0);
    await expectNoLeak(() => {
      task.prepare!(new Rng(1), 8);
      tf.tidy(() => tf.variableGrads(() => task.loss(new Rng(1), 8) as tf.Scalar).value).dispose();
    });
    m.dispose();
  }, 120_000);
});
