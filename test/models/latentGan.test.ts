import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT } from '../../src/checkpoint/checkpoint.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { decodeSpriteLatents, INK, PATH, SPRITE_LATENT } from '../../src/models/spriteLatent.js';
import { generateClip } from '../../src/pipelines/clipGenerate.js';
import { defaultClipLatentTask, latentGanTask } from '../../src/train/clipLatentTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { expectGanPhases, tinyLatentGan } from './clipFixtures.js';

const digits = loadMnistPackage();
const P = INK * INK;
/** a heads reading [1, 23]: one-hot digit d and one-hot picks in the other four groups (colour 5, direction 4, speed 2, size 2), times 4 */
const reading = (d: number, rest: [number, number, number, number]) => {
  const v = new Float32Array(23), at = [10, 15, 19, 21];
  v[d] = 4;
  rest.forEach((r, i) => { v[at[i] + r] = 4; });
  return tf.tensor2d(v, [1, 23]);
};

describe('the latent GAN (clip-gan, arch=latent)', () => {
  it("draws sprite diffusion's latent (ink in [-1, 1], then 8 path numbers); its frames are the paste of it", () => {
    const m = tinyLatentGan();
    tf.tidy(() => {
      const z = tf.tensor2d(new Rng(1).normalArray(16), [2, 8]), cond = m.condition(['a red 3 moving left', 'a big blue 7 going up quickly']);
      const x = m.latent(z, cond);
      expect(x.shape).toEqual([2, SPRITE_LATENT]);
      expect(tf.slice(x, [0, 0], [2, P]).dataSync().every((v) => v >= -1 && v <= 1)).toBe(true);
      const f = m.frames(z, cond);
      expect(f.shape).toEqual([32, 64, 64, 3]);
      expect(maxAbsDiff(f.dataSync(), decodeSpriteLatents(x).dataSync())).toBe(0);
    });
    m.dispose();
  });
  it('is factored: the digit head moves only the ink, the other heads only the path, in G and in D', () => {
    const m = tinyLatentGan();
    tf.tidy(() => {
      const z = tf.tensor2d(new Rng(2).normalArray(8), [1, 8]);
      const a = m.latent(z, reading(3, [1, 2, 0, 1])), b = m.latent(z, reading(7, [1, 2, 0, 1])), c = m.latent(z, reading(3, [4, 0, 1, 0]));
      const ink = (t: tf.Tensor2D) => tf.slice(t, [0, 0], [1, P]).dataSync(), path = (t: tf.Tensor2D) => tf.slice(t, [0, P], [1, PATH]).dataSync();
      expect(maxAbsDiff(path(a), path(b))).toBe(0);
      expect(maxAbsDiff(ink(a), ink(b))).toBeGreaterThan(1e-6);
      expect(maxAbsDiff(ink(a), ink(c))).toBe(0);
      expect(maxAbsDiff(path(a), path(c))).toBeGreaterThan(1e-6);
      const x = tf.tensor2d(new Rng(3).normalArray(SPRITE_LATENT), [1, SPRITE_LATENT]);
      const s1 = m.latentCritic(x, reading(3, [1, 2, 0, 1])), s2 = m.latentCritic(x, reading(7, [1, 2, 0, 1])), s3 = m.latentCritic(x, reading(3, [4, 0, 1, 0]));
      expect(s1.path.dataSync()[0]).toBe(s2.path.dataSync()[0]);
      expect(s1.ink.dataSync()[0]).not.toBe(s2.ink.dataSync()[0]);
      expect(s1.ink.dataSync()[0]).toBe(s3.ink.dataSync()[0]);
      expect(s1.path.dataSync()[0]).not.toBe(s3.path.dataSync()[0]);
      expect(s1.aux.shape).toEqual([1, 23]);
    });
    m.dispose();
  });
  it('its D phase moves only the discriminator and G only the generator, on fresh latents; the auxiliary loss reaches G; validation repeats; no leaks', async () => {
    const m = tinyLatentGan();
    const task = latentGanTask({ model: m, train: digits.train, test: digits.test, task: { ...defaultClipLatentTask(), aux: 1 }, valClips: 2 });
    await expectGanPhases(m, task);
    if (!('phases' in task)) throw new Error('two phases expected');
    expect(task.phases.D.trainable).toEqual(expect.arrayContaining(['disc.i.aux.w', 'disc.p.aux.w']));
    expect(task.validate!(1)).toBe(task.validate!(1));
    expect(task.meta()).toMatchObject({ family: 'clip-gan', model: { gen: { arch: 'latent', cond: 'heads' } } });
    const plain = latentGanTask({ model: m, train: digits.train, test: digits.test, task: defaultClipLatentTask(), valClips: 2 });
    // aux 0: the classifiers are not trained (every trainable weight must get a gradient)
    if (!('phases' in plain)) throw new Error('two phases expected');
    expect(plain.phases.D.trainable.some((k) => k.includes('.aux.'))).toBe(false);
    await expectGanPhases(m, plain);
    const gLoss = (t: ReturnType<typeof latentGanTask>) => {
      if (!('phases' in t)) throw new Error('two phases expected');
      tf.tidy(() => { t.phases.D.loss(new Rng(9), 4); }); // sets the batch G is asked for
      return tf.tidy(() => t.phases.G.loss(new Rng(10), 4).dataSync()[0]);
    };
    expect(gLoss(task)).toBeGreaterThan(gLoss(plain)); // the cross-entropy is positive
    // generating a clip through the platform's entry point frees what it allocates
    const loaded = { kind: 'gan' as const, model: m, meta: { format: CHECKPOINT_FORMAT, family: 'clip-gan', model: { ...m.config }, step: 0, created: '' }, dir: 'tiny' };
    const clip = await generateClip(loaded, 'a red 3 moving left', { seed: 1 });
    expect(clip.frames.length).toBe(16 * 64 * 64 * 3);
    await expectNoLeak(async () => { await generateClip(loaded, 'a red 3 moving left', { seed: 2 }); });
    m.dispose();
  }, 120_000);
});
