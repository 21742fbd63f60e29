import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { renderScene } from '../../src/data/clips/render.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { CHECKPOINT_FORMAT } from '../../src/checkpoint/checkpoint.js';
import { pasteWeights } from '../../src/models/clipLatent.js';
import { generateClip } from '../../src/pipelines/clipGenerate.js';
import { defaultClipLatentTask, spriteGanTask } from '../../src/train/clipLatentTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { expectGanPhases, tinyClipLatent } from './clipFixtures.js';

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
    m.dispose();
  }, 120_000);
});
