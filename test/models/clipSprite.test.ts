import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { renderScene } from '../../src/data/clips/render.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { CHECKPOINT_FORMAT } from '../../src/checkpoint/checkpoint.js';
import { ClipLatent, initClipLatentWeights } from '../../src/models/clipLatent.js';
import { pasteWeights } from '../../src/models/spriteLatent.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES } from '../../src/data/clips/world.js';
import { generateClip } from '../../src/pipelines/clipGenerate.js';
import { auxLoss, defaultClipLatentTask, gaussianKl, spriteGanTask, spriteRecon, spriteVaeTask } from '../../src/train/clipLatentTask.js';
import type { Weights } from '../../src/nn/layers.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { expectGanPhases, expectVaeLearns, tinyClipLatent } from './clipFixtures.js';

const digits = loadMnistPackage();
const sprite = () => tinyClipLatent('gan', 5, 'sprite');

describe('the sprite GAN', () => {
  it("pasting a digit with the box-filter weights draws exactly the world renderer's frame, at both sizes", () => {
    const image = digits.train.images.subarray(0, 784);
    for (const [size, side, x0, y0] of [['small', 20, 5, 30], ['large', 32, 17, 3]] as const) {
      const truth = renderScene({ objects: [{ digit: digits.train.labels[0] as 0, colour: 'white', direction: 'right', speed: 'slow', size, image, x0, y0 }] }).subarray(0, 64 * 64 * 3);
      const grey = tf.tidy(() => {
        const k = tf.fill([1, 1, 1], side / 28), ay = pasteWeights(tf.fill([1, 1, 1], y0), k), ax = pasteWeights(tf.fill([1, 1, 1], x0), k);
        return tf.matMul(tf.matMul(ay, tf.tensor3d(image, [1, 28, 28])), ax, false, true).dataSync();
      });
      const red = Float32Array.from({ length: 64 * 64 }, (_, i) => truth[i * 3]);
      expect(maxAbsDiff(grey, red)).toBeLessThan(1e-5);
    }
  });
  it('makes 16 frames in [0, 1] of one ink image moved at a constant velocity, tinted; the text and the noise change it', () => {
    const m = sprite();
    tf.tidy(() => {
      const z = tf.tensor2d(new Rng(1).normalArray(16), [2, 8]), pooled = m.encodeText(['a red 3 moving left', 'a blue 7 moving up']).pooled;
      const x = m.frames(z, pooled), v = x.dataSync();
      expect(x.shape).toEqual([32, 64, 64, 3]);
      expect(v.every((p) => p >= 0 && p <= 1)).toBe(true);
      const { pos, tint, ink } = m.sprite(z, pooled), p = pos.arraySync();
      for (const clip of p) for (let t = 2; t < 16; t++) for (const a of [0, 1]) expect(clip[t][a] - clip[t - 1][a]).toBeCloseTo(clip[1][a] - clip[0][a], 4);
      // every lit pixel's colour is the clip's tint times one grey level
      const t0 = tint.arraySync()[0], f0 = tf.slice(x, 0, 1).dataSync();
      for (let i = 0; i < 64 * 64; i++) if (f0[i * 3] > 1e-3) for (const c of [1, 2]) expect(f0[i * 3 + c] / f0[i * 3]).toBeCloseTo(t0[c] / t0[0], 3);
      expect(maxAbsDiff(tf.slice(ink, 0, 1).dataSync(), tf.slice(ink, 1, 1).dataSync())).toBeGreaterThan(1e-4);
    });
    m.dispose();
  });
  it("the critic's gradient reaches the generator's frames, so G learns through D; generating a clip leaks nothing", async () => {
    const m = sprite();
    const g = tf.tidy(() => {
      const x = tf.randomUniform([16, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D, pooled = m.encodeText(['a red 3 moving left']).pooled;
      const f = m.pixelFeatures(x);
      expect(f.shape).toEqual([1, 256]);
      return tf.grad((xx: tf.Tensor) => tf.sum(m.pixelScore(m.pixelFeatures(xx as tf.Tensor4D), pooled)))(x).abs().sum().dataSync()[0];
    });
    expect(g).toBeGreaterThan(0);
    // the entry point that makes its clips (the platform's, the page's) frees what it allocates
    const loaded = { kind: 'gan' as const, model: m, meta: { format: CHECKPOINT_FORMAT, family: 'clip-gan', model: { ...m.config }, step: 0, created: '' }, dir: 'tiny' };
    await generateClip(loaded, 'a red 3 moving left', { seed: 1 });
    await expectNoLeak(async () => { await generateClip(loaded, 'a red 3 moving left', { seed: 2 }); });
    m.dispose();
  });
  it('its D phase moves only the discriminator and G only the generator, on freshly rendered clips; validation repeats; no leaks', async () => {
    const m = sprite();
    const task = spriteGanTask({ model: m, train: digits.train, test: digits.test, task: defaultClipLatentTask(), valClips: 2 });
    await expectGanPhases(m, task);
    expect(task.validate!(1)).toBe(task.validate!(1));
    expect(task.meta()).toMatchObject({ family: 'clip-gan', model: { gen: { arch: 'sprite' } } });
    if (!('phases' in task)) throw new Error('two phases expected');
    expect(task.phases.D.trainable).not.toContain('disc.aux.w'); // aux 0: the head is not trained
    // with the auxiliary classifier (AC-GAN) its head trains in D, and G's loss reaches it too
    const ac = spriteGanTask({ model: m, train: digits.train, test: digits.test, task: { ...defaultClipLatentTask(), aux: 1 }, valClips: 2 });
    if (!('phases' in ac)) throw new Error('two phases expected');
    expect(ac.phases.D.trainable).toContain('disc.aux.w');
    await expectGanPhases(m, ac);
    // G's loss carries the head's cross-entropy: same batch, same noise, a larger loss
    const gLoss = (t: typeof ac) => {
      if (!('phases' in t)) throw new Error('two phases expected');
      tf.tidy(() => { t.phases.D.loss(new Rng(9), 2); }); // sets the batch G is asked for
      return tf.tidy(() => t.phases.G.loss(new Rng(10), 2).dataSync()[0]);
    };
    expect(gLoss(ac)).toBeGreaterThan(gLoss(task) + 0.1);
    m.dispose();
  }, 120_000);
  it("the auxiliary classifier's loss: the mean cross-entropy over the attributes the text names", () => {
    tf.tidy(() => {
      const a = { digit: 3, colour: 'red', direction: 'left', speed: 'fast', size: 'small' } as const;
      const flat = tf.zeros([2, 23]) as tf.Tensor2D, all = [10, 5, 4, 2, 2].map(Math.log);
      expect(auxLoss(flat, [a, a]).dataSync()[0]).toBeCloseTo(all.reduce((x, y) => x + y) / 5, 5);
      // the first clip's text leaves the digit and the size unsaid
      expect(auxLoss(flat, [a, a], [['digit', 'size'], []]).dataSync()[0]).toBeCloseTo((all[1] + all[2] + all[3] + all[0] + all[1] + all[2] + all[3] + all[4]) / 8, 5);
      // logits that put their mass on the true values: near zero; on others: large
      const sure = new Float32Array(23), wrong = new Float32Array(23);
      for (const i of [3, 10 + 1, 15 + 0, 19 + 1, 21 + 0]) sure[i] = 20;
      for (const i of [4, 10 + 2, 15 + 1, 19 + 0, 21 + 1]) wrong[i] = 20;
      expect(auxLoss(tf.tensor2d(sure, [1, 23]), [a]).dataSync()[0]).toBeLessThan(1e-6);
      expect(auxLoss(tf.tensor2d(wrong, [1, 23]), [a]).dataSync()[0]).toBeGreaterThan(19);
    });
  });
});

describe('the sprite VAE', () => {
  const square = (x0: number, y0: number) => tf.tidy(() => {
    // one frame, a 10x10 white square at (x0, y0), drawn as pasteWeights draws a sprite
    const k = tf.fill([1, 1, 1], 10 / 28), ink = tf.ones([1, 28, 28]);
    const grey = tf.matMul(tf.matMul(pasteWeights(tf.fill([1, 1, 1], y0), k), ink), pasteWeights(tf.fill([1, 1, 1], x0), k), false, true);
    return tf.tile(tf.reshape(grey, [1, 64, 64, 1]), [1, 1, 1, 3]) as tf.Tensor4D;
  });
  it('its reconstruction error is zero on the clip itself and pulls a sprite with no overlap toward the target', () => {
    const target = square(40, 40);
    expect(tf.tidy(() => spriteRecon(target, target).dataSync()[0])).toBeCloseTo(0, 6);
    // the sprite at x0 = 2.3 covers none of the target's pixels: the error's slope in x0 must still point right
    const slope = tf.tidy(() => tf.grad((x0: tf.Tensor) => {
      const k = tf.fill([1, 1, 1], 10 / 28), ink = tf.ones([1, 28, 28]);
      const grey = tf.matMul(tf.matMul(pasteWeights(tf.fill([1, 1, 1], 40), k), ink), pasteWeights(tf.reshape(x0, [1, 1, 1]), k), false, true);
      return spriteRecon(tf.tile(tf.reshape(grey, [1, 64, 64, 1]), [1, 1, 1, 3]) as tf.Tensor4D, target);
    })(tf.scalar(2.3)).dataSync()[0]); // not a whole pixel: there min and max tie and pass their gradient to the constant side
    expect(slope).toBeLessThan(0);
    expect(tf.tidy(() => spriteRecon(square(30, 40), target).dataSync()[0])).toBeLessThan(tf.tidy(() => spriteRecon(square(2, 40), target).dataSync()[0]));
    target.dispose();
  });
  it('encodes pixels with the glimpse encoder and trains encoder and decoder on one loss that falls on a fixed batch; validation repeats; no leaks', async () => {
    const m = tinyClipLatent('vae', 5, 'sprite');
    expect(m.names('enc.').length).toBeGreaterThan(0);
    expect(m.names('disc.')).toEqual([]);
    tf.tidy(() => {
      const q = m.posterior(tf.randomUniform([32, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D, m.encodeText(['a red 3 moving left', 'a 7']).pooled);
      expect(q.mu.shape).toEqual([2, 8]);
      expect(q.logvar.shape).toEqual([2, 8]);
    });
    const task = spriteVaeTask({ model: m, train: digits.train, test: digits.test, task: defaultClipLatentTask(), valClips: 2 });
    await expectVaeLearns(m, task);
    expect(task.meta()).toMatchObject({ family: 'clip-vae', model: { gen: { arch: 'sprite' } } });
    m.dispose();
  }, 120_000);
  it('KL between diagonal Gaussians: zero for equal ones, and the closed form against a hand-computed case', () => {
    tf.tidy(() => {
      const g = (mu: number, lv: number) => ({ mu: tf.fill([1, 1], mu) as tf.Tensor2D, logvar: tf.fill([1, 1], lv) as tf.Tensor2D });
      expect(gaussianKl(g(0.3, -1), g(0.3, -1)).dataSync()[0]).toBeCloseTo(0, 6);
      expect(gaussianKl(g(1, 0), g(0, 0)).dataSync()[0]).toBeCloseTo(0.5, 6);
      // 0.5 (log 4 - 0 + (1 + 1) / 4 - 1)
      expect(gaussianKl(g(1, 0), g(0, Math.log(4))).dataSync()[0]).toBeCloseTo(0.5 * (Math.log(4) + 0.5 - 1), 5);
    });
  });
  it('with prior=text, the code it generates from is a draw from p(z | text): mean and spread set by the words', async () => {
    const m = tinyClipLatent('vae', 5, 'sprite', 'text'), plain = tinyClipLatent('vae', 5, 'sprite');
    expect(m.names('gen.')).toContain('gen.prior.w');
    tf.tidy(() => {
      const pooled = m.encodeText(['a red 3 moving left', 'a blue 7 moving up']).pooled, eps = tf.tensor2d(new Rng(2).normalArray(16), [2, 8]);
      const p = m.prior(pooled), z = m.code(eps, pooled);
      expect(maxAbsDiff(tf.slice(p.mu, 0, 1).dataSync(), tf.slice(p.mu, 1, 1).dataSync())).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(tf.slice(p.logvar, 0, 1).dataSync(), tf.slice(p.logvar, 1, 1).dataSync())).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(z.dataSync(), tf.add(p.mu, tf.mul(eps, tf.exp(tf.mul(p.logvar, 0.5)))).dataSync())).toBeLessThan(1e-6);
      // a N(0, I) prior generates from the noise itself
      expect(maxAbsDiff(plain.code(eps, pooled).dataSync(), eps.dataSync())).toBe(0);
    });
    const task = spriteVaeTask({ model: m, train: digits.train, test: digits.test, task: defaultClipLatentTask(), valClips: 2 });
    if (!('loss' in task)) throw new Error('a one-phase task expected');
    expect(task.trainable).toContain('gen.prior.w');
    await expectVaeLearns(m, task);
    m.dispose(); plain.dispose();
  }, 120_000);
});

describe('cond=heads: the generators read the clip-text heads', () => {
  it("the condition is each attribute head's softmax of the pooled text times headScale (reading=soft; by default the one-hot of its argmax), side by side, and the generator reads the text only through it", async () => {
    const base = tinyClipLatent('vae', 7, 'sprite', 'text'), D = base.config.text.dim;
    const config = { ...base.config, gen: { ...base.config.gen, cond: 'heads' as const, headScale: 4, reading: 'soft' as const } };
    const w: Weights = new Map([...base.params].filter(([k]) => k.startsWith('text.') || k.startsWith('ae.')).map(([k, v]) => [k, tf.clone(v)]));
    const rng = new Rng(8);
    for (const [k, v] of initClipLatentWeights(config, rng)) w.set(k, v);
    for (const k of ATTRIBUTE_NAMES) {
      w.set(`head.${k}.w`, tf.tensor2d(rng.normalArray(D * ATTRIBUTE_VALUES[k].length), [D, ATTRIBUTE_VALUES[k].length]));
      w.set(`head.${k}.b`, tf.zeros([ATTRIBUTE_VALUES[k].length]));
    }
    base.dispose();
    const m = new ClipLatent(config, w), texts = ['a red 3 moving left', 'a big blue 7 going up quickly'];
    expect(m.params.get('gen.e1.w')!.shape).toEqual([8 + 23, 16]);
    const got = tf.tidy(() => m.condition(texts).arraySync());
    const pooled = tf.tidy(() => m.encodeText(texts).pooled.arraySync());
    let at = 0;
    for (const k of ATTRIBUTE_NAMES) {
      const n = ATTRIBUTE_VALUES[k].length, hw = m.params.get(`head.${k}.w`)!.arraySync() as number[][];
      for (let b = 0; b < texts.length; b++) {
        const logits = Array.from({ length: n }, (_, j) => pooled[b].reduce((s, x, i) => s + x * hw[i][j], 0));
        const e = logits.map((l) => Math.exp(l - Math.max(...logits))), z = e.reduce((a, c) => a + c, 0);
        expect(maxAbsDiff(got[b].slice(at, at + n), e.map((x) => (4 * x) / z))).toBeLessThan(1e-4);
      }
      at += n;
    }
    expect(at).toBe(got[0].length);
    // absent, the reading is hard: each group the one-hot of the soft reading's argmax, times headScale
    const hardModel = new ClipLatent({ ...config, gen: { ...config.gen, reading: undefined } }, new Map([...m.params].map(([k, v]) => [k, tf.clone(v)] as [string, tf.Tensor])));
    const hard = tf.tidy(() => hardModel.condition(texts).arraySync());
    hardModel.dispose();
    at = 0;
    for (const k of ATTRIBUTE_NAMES) {
      const n = ATTRIBUTE_VALUES[k].length;
      for (let b = 0; b < texts.length; b++) {
        const g = got[b].slice(at, at + n), arg = g.indexOf(Math.max(...g));
        expect(hard[b].slice(at, at + n)).toEqual(g.map((_, i) => (i === arg ? 4 : 0)));
      }
      at += n;
    }
    // the code and the frames follow the heads: with every head's weights zeroed, two texts give the same clip
    for (const k of ATTRIBUTE_NAMES) { const h = m.params.get(`head.${k}.w`)!; (h as tf.Variable).assign(tf.zerosLike(h)); }
    const [a, b] = texts.map((t) => tf.tidy(() => m.frames(m.code(tf.ones([1, 8]), m.condition([t])), m.condition([t])).dataSync()));
    expect(maxAbsDiff(a, b)).toBe(0);
    await expectNoLeak(() => { m.condition(texts).dispose(); });
    m.dispose();
  });
});
