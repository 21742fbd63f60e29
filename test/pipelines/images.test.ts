// Image pipelines on tiny random models: inpainting keeps the known pixels, SDEdit's strength
// sets how far the result may go, VAE variations and interpolation, the evaluation report; no leaks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateImages, reportMarkdown } from '../../src/eval/images.js';
import type { ImageSet } from '../../src/data/mnist.js';
import { Classifier, defaultClassifierConfig, initClassifierWeights } from '../../src/models/classifier.js';
import { Dcgan, initDcganWeights } from '../../src/models/dcgan.js';
import { Unet, initUnetWeights, type UnetConfig } from '../../src/models/unet.js';
import { Vae, initVaeWeights } from '../../src/models/vae.js';
import { diffuse, interpolateImages, loadImageModel, restoreImage, sampleImages, varyImage, type Generator, type LoadedImageModel } from '../../src/pipelines/images.js';
import { Rng } from '../../src/util/rng.js';
import { saveCheckpoint, type CheckpointMeta } from '../../src/checkpoint/checkpoint.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

const image = { height: 28, width: 28, classes: 10 };
const meta = { step: 0 } as CheckpointMeta;
const dir = mkdtempSync(join(tmpdir(), 'genlab-pipe-'));
const wrap = <M>(family: LoadedImageModel['family'], model: M): LoadedImageModel<M> => ({ family, model, image, data: 'mnist', meta, dir });
const unetCfg: UnetConfig = { channels: 1, groups: 8, tembDim: 32, classes: 10 };
const digit = Float32Array.from({ length: 784 }, (_, i) => ((i % 28) > 8 && (i % 28) < 20 && i > 100 && i < 700 ? 1 : 0));

describe('image pipelines', () => {
  const unet = new Unet(unetCfg, initUnetWeights(unetCfg, new Rng(1)));
  afterAll(() => unet.dispose());

  it('inpainting leaves the unmasked pixels as they were and changes the masked ones', async () => {
    const mask = Float32Array.from({ length: 784 }, (_, i) => (Math.floor(i / 28) < 14 ? 1 : 0)); // fill the top half
    let out: Float32Array = new Float32Array();
    await expectNoLeak(() => { out = restoreImage(wrap('diffusion', unet), digit, { mask, steps: 4, resample: 2, seed: 1 }); });
    const keep = [...out.keys()].filter((i) => mask[i] === 0), fill = [...out.keys()].filter((i) => mask[i] === 1);
    expect(maxAbsDiff(keep.map((i) => out[i]), keep.map((i) => digit[i]))).toBeLessThan(1e-5);
    expect(maxAbsDiff(fill.map((i) => out[i]), fill.map((i) => digit[i]))).toBeGreaterThan(0.05);
  });

  it("sampling without settings uses the checkpoint's recommended ones, else the measured defaults (DDIM 25, guidance 1.75)", () => {
    const rec = { ...wrap('diffusion', unet), meta: { ...meta, sampling: { steps: 3, guidance: 2.5, scheduler: 'ddim' as const } } } as LoadedImageModel<Generator>;
    const plain = wrap('diffusion', unet) as LoadedImageModel<Generator>;
    const a = sampleImages(rec, { n: 2, classLabel: 4, seed: 3 }).images;
    expect(maxAbsDiff(a, sampleImages(plain, { n: 2, classLabel: 4, seed: 3, steps: 3, guidance: 2.5 }).images)).toBe(0);
    expect(maxAbsDiff(a, sampleImages(plain, { n: 2, classLabel: 4, seed: 3, steps: 3, guidance: 1 }).images)).toBeGreaterThan(1e-3);
    const b = sampleImages(plain, { n: 1, classLabel: 4, seed: 3 }).images;
    expect(maxAbsDiff(b, sampleImages(plain, { n: 1, classLabel: 4, seed: 3, steps: 25, guidance: 1.75 }).images)).toBe(0);
  });

  it('SDEdit: a small strength stays near the seed image, strength 1 does not', () => {
    const near = diffuse(unet, image, [3], new Rng(2), { steps: 50, seedImages: [digit], strength: 0.02 });
    const far = diffuse(unet, image, [3], new Rng(2), { steps: 50, seedImages: [digit], strength: 1 });
    const mean = (a: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - digit[i]), 0) / a.length;
    expect(mean(near)).toBeLessThan(0.05);
    expect(mean(far)).toBeGreaterThan(4 * mean(near));
    expect(() => restoreImage(wrap('diffusion', unet), digit, { denoise: 1.5 })).toThrow(/--denoise must be in \(0, 1\], got 1.5/);
    expect(() => restoreImage(wrap('diffusion', unet), digit, {})).toThrow(/give --mask/);
    expect(() => sampleImages(wrap('diffusion', unet) as LoadedImageModel<Generator>, { n: 1, steps: 2, seedImage: digit, strength: 0 })).toThrow(/--strength must be in \(0, 1\], got 0/);
    expect(() => sampleImages(wrap('diffusion', unet) as LoadedImageModel<Generator>, { n: 1, classLabel: 10 })).toThrow(/--class must be one of 0\.\.9, got 10/);
  });

  it('VAE: n variations of one image, an interpolation strip whose ends decode the two inputs; a CVAE infers the class', async () => {
    for (const classes of [0, 10]) {
      const c = { latent: 4, classes };
      const vae = wrap('vae', new Vae(c, initVaeWeights(c, new Rng(3))));
      await expectNoLeak(() => {
        const v = varyImage(vae, digit, { n: 5, seed: 1 });
        expect(v.images.length).toBe(5 * 784);
        expect(maxAbsDiff(v.images.subarray(0, 784), v.images.subarray(784, 1568))).toBeGreaterThan(0);
        expect(classes ? v.label >= 0 && v.label < 10 : v.label === -1).toBe(true);
        const s = interpolateImages(vae, digit, digit.map((x) => 1 - x), { steps: 4 });
        expect(s.images.length).toBe(4 * 784);
        expect(maxAbsDiff(s.images.subarray(0, 784), s.images.subarray(3 * 784))).toBeGreaterThan(0);
      });
      expect(() => interpolateImages(vae, digit, digit, { steps: 1 })).toThrow(/--steps must be a whole number >= 2/);
      vae.model.dispose();
    }
  });

  it('evaluation: Frechet distance beside its floor, conditional accuracy and class shares, as JSON and Markdown', async () => {
    const rng = new Rng(4), n = 60;
    const set = (k: number): ImageSet => ({ images: rng.uniformArray(k * 784, 0, 1), labels: Int32Array.from({ length: k }, (_, i) => i % 10), n: k, height: 28, width: 28, classes: 10 });
    const train = set(n), test = set(n);
    const clf = wrap('classifier', new Classifier(defaultClassifierConfig(), initClassifierWeights(defaultClassifierConfig(), new Rng(5))));
    const gan = wrap('gan', new Dcgan({ z: 8, classes: 10, mbstd: 0, pack: 1, clusters: 0 }, initDcganWeights({ z: 8, classes: 10, mbstd: 0, pack: 1, clusters: 0 }, new Rng(6)))) as LoadedImageModel<Generator>;
    await expectNoLeak(() => {
      const r = evaluateImages(gan, clf, train, test, { n: 40 });
      expect(r.samples).toBe(40);
      expect(r.frechet.samples).toBeGreaterThan(0);
      expect(r.frechet.floor).toBeGreaterThan(0);
      expect(r.frechet.ratio).toBeCloseTo(r.frechet.samples / r.frechet.floor, 9);
      expect(r.perClassAccuracy).toHaveLength(10);
      // 40 samples cycle through the 10 classes: 4 per class, so each share is k/4 and the overall accuracy their mean
      for (const a of r.perClassAccuracy!) expect(Number.isInteger(a * 4)).toBe(true);
      expect(r.conditionalAccuracy).toBeCloseTo(r.perClassAccuracy!.reduce((p, q) => p + q, 0) / 10, 9);
      expect(r.unconditionalClassShare).toBeUndefined(); // a conditional GAN has no unconditional samples
      expect(reportMarkdown(r)).toMatch(/\| conditional accuracy \| \d+\.\d%/);
    });
    const ugan = wrap('gan', new Dcgan({ z: 8, classes: 0, mbstd: 0, pack: 1, clusters: 0 }, initDcganWeights({ z: 8, classes: 0, mbstd: 0, pack: 1, clusters: 0 }, new Rng(7)))) as LoadedImageModel<Generator>;
    const u = evaluateImages(ugan, clf, train, test, { n: 40 });
    expect(u.conditionalAccuracy).toBeUndefined();
    expect(u.unconditionalClassShare!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(u.minClassShare).toBe(Math.min(...u.unconditionalClassShare!));
    for (const m of [clf.model, gan.model, ugan.model]) m.dispose();
  });

  it('temperature scales the latent draws: near 0, every draw decodes to the same image', () => {
    const vae = wrap('vae', new Vae({ latent: 4, classes: 0 }, initVaeWeights({ latent: 4, classes: 0 }, new Rng(10))));
    const cold = sampleImages(vae as LoadedImageModel<Generator>, { n: 2, temperature: 1e-6, seed: 1 }).images;
    const warm = sampleImages(vae as LoadedImageModel<Generator>, { n: 2, temperature: 1, seed: 1 }).images;
    expect(maxAbsDiff(cold.subarray(0, 784), cold.subarray(784))).toBeLessThan(1e-4);
    expect(maxAbsDiff(warm.subarray(0, 784), warm.subarray(784))).toBeGreaterThan(1e-3);
    expect(() => sampleImages(vae as LoadedImageModel<Generator>, { n: 1, temperature: 0 })).toThrow(/--temperature must be > 0, got 0/);
    vae.model.dispose();
  });

  it('a GAN checkpoint with an EMA loads and exports its EMA weights (as diffusion does)', async () => {
    const cfg = { z: 8, classes: 10, mbstd: 0, pack: 1, clusters: 0 };
    const raw = initDcganWeights(cfg, new Rng(3)), ema = initDcganWeights(cfg, new Rng(4));
    const ck = join(dir, 'gan-ema');
    await saveCheckpoint(ck, {
      meta: { format: 'genlab-checkpoint/1', family: 'gan', model: { ...cfg }, image, data: 'mnist', step: 1, created: new Date().toISOString() } as CheckpointMeta,
      weights: Object.fromEntries(raw), ema: Object.fromEntries(ema),
    });
    const loaded = loadImageModel(ck, ['gan']);
    const model = loaded.model as Dcgan;
    expect(maxAbsDiff(model.p('g.fc.w').dataSync(), ema.get('g.fc.w')!.dataSync())).toBe(0);
    expect(maxAbsDiff(model.p('g.fc.w').dataSync(), raw.get('g.fc.w')!.dataSync())).toBeGreaterThan(0);
    model.dispose();
    [raw, ema].forEach((m) => m.forEach((t) => t.dispose()));
  });
  it('leaks nothing while sampling from each family', async () => {
    const gan = new Dcgan({ z: 8, classes: 10, mbstd: 0, pack: 1, clusters: 0 }, initDcganWeights({ z: 8, classes: 10, mbstd: 0, pack: 1, clusters: 0 }, new Rng(8)));
    const vae = new Vae({ latent: 4, classes: 0 }, initVaeWeights({ latent: 4, classes: 0 }, new Rng(9)));
    for (const [f, m] of [['diffusion', unet], ['gan', gan], ['vae', vae]] as const) {
      await expectNoLeak(() => {
        const s = sampleImages(wrap(f, m) as LoadedImageModel<Generator>, { n: 3, steps: 2, guidance: 2, seed: 1 });
        expect(s.images.length).toBe(3 * 784);
        expect(s.labels).toEqual(f === 'vae' ? [-1, -1, -1] : [0, 1, 2]);
        expect(Math.min(...s.images)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...s.images)).toBeLessThanOrEqual(1);
      });
    }
    gan.dispose(); vae.dispose();
  });
});
