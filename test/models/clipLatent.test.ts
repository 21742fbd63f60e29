import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { ClipLatent } from '../../src/models/clipLatent.js';
import { FrameAe } from '../../src/models/frameAe.js';
import { buildLatentCache } from '../../src/train/clipDiffusionTask.js';
import { clipLatentTask, defaultClipLatentTask } from '../../src/train/clipLatentTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { expectGanPhases, expectVaeLearns, tinyClipLatent } from './clipFixtures.js';

const digits = loadMnistPackage();

const tiny = (kind: 'gan' | 'vae') => tinyClipLatent(kind, 2);

function cacheOf(m: ClipLatent) {
  const ae = new FrameAe(m.config.ae, new Map([...m.params].filter(([k]) => k.startsWith('ae.')).map(([k, v]) => [k.slice(3), tf.clone(v)])));
  const c = buildLatentCache(ae, digits.train, 3, 1);
  ae.dispose();
  return c;
}

describe('clip GAN and VAE', () => {
  it('the generator makes 16 latent frames per clip; they differ by frame, by text and by noise', () => {
    const m = tiny('gan');
    tf.tidy(() => {
      const z = tf.tensor2d(new Rng(1).normalArray(16), [2, 8]), pooled = m.encodeText(['a red 3 moving left', 'a blue 7 moving up']).pooled;
      const x = m.generate(z, pooled);
      expect(x.shape).toEqual([32, 16, 16, 4]);
      const f = (i: number) => tf.slice(x, i, 1).dataSync();
      expect(maxAbsDiff(f(0), f(5))).toBeGreaterThan(1e-4); // frames differ (the frame index joins the embedding)
      const same = m.generate(tf.concat([tf.slice(z, 0, 1), tf.slice(z, 0, 1)]) as tf.Tensor2D, pooled);
      expect(maxAbsDiff(tf.slice(same, 0, 16).dataSync(), tf.slice(same, 16, 16).dataSync())).toBeGreaterThan(1e-4); // the text matters
      expect(m.score(x, pooled).shape).toEqual([2]);
    });
    m.dispose();
  });
  it("the GAN's D phase moves only the discriminator and G only the generator, the text encoder stays frozen; no leaks", async () => {
    const m = tiny('gan');
    const task = clipLatentTask({ model: m, cache: cacheOf(m), train: digits.train, test: digits.test, task: defaultClipLatentTask(), valClips: 2 });
    await expectGanPhases(m, task);
    await expectNoLeak(() => { task.validate!(1); });
    expect(task.meta().family).toBe('clip-gan');
    m.dispose();
  }, 120_000);
  it('the VAE trains encoder and decoder on one loss that falls on a fixed batch; validation repeats', async () => {
    const m = tiny('vae');
    const task = clipLatentTask({ model: m, cache: cacheOf(m), train: digits.train, test: digits.test, task: { ...defaultClipLatentTask(), renewPerStep: 0 }, valClips: 2 });
    await expectVaeLearns(m, task);
    expect(task.meta().family).toBe('clip-vae');
    m.dispose();
  }, 120_000);
});
