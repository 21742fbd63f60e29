import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT } from '../../src/checkpoint/checkpoint.js';
import { ClipSampler } from '../../src/data/clips/dataset.js';
import { renderScene } from '../../src/data/clips/render.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { DEFAULT_SCHEDULE } from '../../src/diffusion/schedules.js';
import { initSpriteDiffusionWeights, SpriteDiffusion } from '../../src/models/spriteDiffusion.js';
import { decodeSpriteLatents, SPRITE_LATENT, spriteLatent } from '../../src/models/spriteLatent.js';
import { generateClip } from '../../src/pipelines/clipGenerate.js';
import { SamplingCancelled } from '../../src/diffusion/loop.js';
import { defaultSpriteDiffusionTask, spriteDiffusionTask } from '../../src/train/spriteDiffusionTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { tinySpriteDiffusion } from './clipFixtures.js';

const digits = loadMnistPackage();

const tinySprite = tinySpriteDiffusion;
const loaded = (m: SpriteDiffusion) => ({ kind: 'diffusion' as const, model: m, meta: { format: CHECKPOINT_FORMAT, family: 'clip-diffusion', model: { ...m.config }, step: 0, created: '', schedule: DEFAULT_SCHEDULE }, dir: 'tiny' });

describe('sprite diffusion', () => {
  it("a clip's sprite latent, decoded by the paste, is the world renderer's clip (every size, speed and direction)", () => {
    const s = new ClipSampler(digits.test, 'eval', new Rng(3));
    for (let i = 0; i < 12; i++) {
      const e = s.next(), z = spriteLatent(e.scene.objects[0]);
      expect(z.every((v) => v >= -1 && v <= 1)).toBe(true); // what the sampler's x0 clipping keeps
      const frames = tf.tidy(() => decodeSpriteLatents(tf.tensor2d(z, [1, SPRITE_LATENT])).dataSync());
      expect(maxAbsDiff(frames, renderScene(e.scene))).toBeLessThan(1e-4);
    }
  });
  it('its task trains the denoiser only (the text encoder and heads frozen), the loss falls on a fixed batch, validation repeats, no leak', async () => {
    const m = tinySprite();
    const task = spriteDiffusionTask({ model: m, train: digits.train, test: digits.test, task: defaultSpriteDiffusionTask(), schedule: DEFAULT_SCHEDULE, valClips: 4 });
    if (!('loss' in task)) throw new Error('one phase expected');
    expect(task.trainable.some((k) => k.startsWith('ink.')) && task.trainable.some((k) => k.startsWith('path.'))).toBe(true);
    expect(task.trainable.some((k) => k.startsWith('text.') || k.startsWith('head.'))).toBe(false);
    const vars = task.trainable.map((k) => m.params.get(k)!), opt = tf.train.adam(3e-3);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => task.loss(new Rng(7), 4), vars);
      expect(Object.keys(grads).length).toBe(vars.length);
      opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
      const v = value.dataSync()[0];
      value.dispose(); tf.dispose(Object.values(grads));
      return v;
    };
    const first = step();
    await expectNoLeak(() => { step(); });
    let last = first;
    for (let i = 0; i < 10; i++) last = step();
    expect(last).toBeLessThan(first);
    expect(task.validate!(1)).toBe(task.validate!(1));
    expect(task.meta()).toMatchObject({ family: 'clip-diffusion', model: { arch: 'sprite' } });
    opt.dispose(); m.dispose();
  });
  it('generates 16 frames: the same seed gives the same clip, another seed another; progress step by step; cancelled between steps; no leak', async () => {
    const m = tinySprite(), g = loaded(m), steps: number[] = [];
    const a = await generateClip(g, 'a red 3 moving left', { seed: 1, steps: 4, guidance: 3, preview: true, onProgress: (p) => { steps.push(p.step); expect(p.preview!.length).toBe(64 * 64 * 3); } });
    expect(a.frames.length).toBe(16 * 64 * 64 * 3);
    expect(steps).toEqual([1, 2, 3, 4]);
    const b = await generateClip(g, 'a red 3 moving left', { seed: 1, steps: 4, guidance: 3 }), c = await generateClip(g, 'a red 3 moving left', { seed: 2, steps: 4, guidance: 3 });
    expect(maxAbsDiff(a.frames, b.frames)).toBe(0);
    expect(maxAbsDiff(a.frames, c.frames)).toBeGreaterThan(0);
    await expectNoLeak(async () => { await generateClip(g, 'a big blue 7', { seed: 3, steps: 3, guidance: 1 }); });
    const ac = new AbortController(), seen: number[] = [];
    await expectNoLeak(async () => {
      await expect(generateClip(g, 'a red 3 moving left', { seed: 1, steps: 6, signal: ac.signal, onProgress: (p) => { seen.push(p.step); if (p.step === 2) ac.abort(); } })).rejects.toBeInstanceOf(SamplingCancelled);
    });
    expect(seen).toEqual([1, 2]);
    m.dispose();
  });
  it("cond=factored: the ink reads only the digit's softmax and the path only the other attributes'", () => {
    const base = tinySpriteDiffusion(4), config = { ...base.config, cond: 'factored' as const };
    const w = new Map([...base.params].map(([k, v]) => [k, tf.clone(v)] as [string, tf.Tensor]));
    for (const [k, v] of initSpriteDiffusionWeights(config, new Rng(9))) if (k.startsWith('pcond.')) w.set(k, v); else v.dispose();
    base.dispose();
    const m = new SpriteDiffusion(config, w);
    tf.tidy(() => {
      const x = tf.randomNormal([1, SPRITE_LATENT], 0, 1, 'float32', 1) as tf.Tensor2D, t = tf.tensor1d([500], 'int32');
      const c = m.condition(['a red 3 moving left']), cv = c.dataSync() as Float32Array;
      const digitOther = Float32Array.from(cv, (v, i) => (i < 10 ? cv[(i + 4) % 10] : v)), restOther = Float32Array.from(cv, (v, i) => (i < 10 ? v : 4 - v));
      const out = (cc: Float32Array) => m.predict(x, t, tf.tensor2d(cc, [1, cv.length])).dataSync() as Float32Array;
      const a = out(cv), d = out(digitOther), r = out(restOther), ink = (v: Float32Array) => v.subarray(0, 784), path = (v: Float32Array) => v.subarray(784);
      expect(maxAbsDiff(path(a), path(d))).toBe(0);
      expect(maxAbsDiff(ink(a), ink(d))).toBeGreaterThan(0);
      expect(maxAbsDiff(ink(a), ink(r))).toBe(0);
      expect(maxAbsDiff(path(a), path(r))).toBeGreaterThan(0);
    });
    m.dispose();
  });
  it("reading=hard: each head's argmax as a one-hot times headScale for a text, the softmaxes kept for the empty text (guidance's null)", () => {
    const soft = tinySpriteDiffusion(5), hard = new SpriteDiffusion({ ...soft.config, reading: 'hard' }, new Map([...soft.params].map(([k, v]) => [k, tf.clone(v)] as [string, tf.Tensor])));
    expect(soft.config.reading).toBe('soft');
    tf.tidy(() => {
      const s = soft.condition(['a red 3 moving left', '']).arraySync(), h = hard.condition(['a red 3 moving left', '']).arraySync();
      let at = 0;
      for (const n of [10, 5, 4, 2, 2]) {
        const sg = s[0].slice(at, at + n), hg = h[0].slice(at, at + n), arg = sg.indexOf(Math.max(...sg));
        expect(hg).toEqual(hg.map((_, i) => (i === arg ? 4 : 0)));
        at += n;
      }
      expect(h[1]).toEqual(s[1]);
      expect(s[0].some((v) => v > 0 && v < 4)).toBe(true); // the soft reading is not already one-hot
    });
    soft.dispose(); hard.dispose();
  });
});
