// The class-conditional switches of the image families and the GAN's batch-norm statistics.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Classifier, defaultClassifierConfig, initClassifierWeights } from '../../src/models/classifier.js';
import { Dcgan, initDcganWeights, minibatchStddev, onehotPlanesConv, packChannels, type DcganConfig } from '../../src/models/dcgan.js';
import { conv2d } from '../../src/nn/conv.js';
import { buildImageModel, defaultImageConfig, initImageWeights, validateImageConfig } from '../../src/models/images.js';
import { Vae, initVaeWeights, type VaeConfig } from '../../src/models/vae.js';
import { countParams } from '../../src/nn/layers.js';
import { iwaeNll } from '../../src/models/vae.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

describe('conditional image models', () => {
  it('conditional DCGAN: G takes labels beside z, D label planes beside the image; labels change the output', async () => {
    const c: DcganConfig = { z: 100, classes: 10, mbstd: 0, pack: 1, clusters: 0 };
    const m = new Dcgan(c, initDcganWeights(c, new Rng(1)));
    expect(countParams(m.params)).toBe(917_122 + 10 * 7 * 7 * 128 + 10 * 4 * 4 * 64);
    const z = tf.randomNormal([2, 100], 0, 1, 'float32', 3) as tf.Tensor2D;
    await expectNoLeak(() => tf.tidy(() => {
      const a = m.generate(z, tf.tensor1d([1, 1], 'int32'), 'running'), b = m.generate(z, tf.tensor1d([1, 7], 'int32'), 'running');
      expect(a.shape).toEqual([2, 28, 28, 1]);
      const d = tf.abs(tf.sub(a, b)).max([1, 2, 3]).dataSync();
      expect(d[0]).toBe(0); // same label, same z: same image
      expect(d[1]).toBeGreaterThan(1e-4);
      expect(m.discriminate(a, tf.tensor1d([1, 1], 'int32')).shape).toEqual([2, 1]);
    }));
    expect(() => tf.tidy(() => m.generate(z))).toThrow(/conditional: it needs 2 labels/);
    z.dispose(); m.dispose();
  });

  it("G's batch norms keep running statistics in 'update' mode and use them in 'running' mode (so one sample is not one batch)", () => {
    const c: DcganConfig = { z: 8, classes: 0, mbstd: 0, pack: 1, clusters: 0 };
    const m = new Dcgan(c, initDcganWeights(c, new Rng(2)));
    const rm = m.stats.get('g.bn1.rmean')!;
    expect(Array.from(rm.dataSync()).every((v) => v === 0)).toBe(true);
    const z = tf.randomNormal([16, 8], 0, 1, 'float32', 4) as tf.Tensor2D;
    tf.tidy(() => { m.generate(z, undefined, 'update'); });
    expect(Array.from(rm.dataSync()).some((v) => v !== 0)).toBe(true);
    expect(m.state.size).toBe(m.params.size + 4);
    // in running mode each image depends only on its own z
    const one = tf.tidy(() => m.generate(tf.slice(z, [0, 0], [1, 8]) as tf.Tensor2D, undefined, 'running').dataSync());
    const all = tf.tidy(() => m.generate(z, undefined, 'running').dataSync());
    for (let i = 0; i < one.length; i++) expect(all[i]).toBeCloseTo(one[i], 5);
    // the statistics travel with the weights
    const copy = buildImageModel('gan', { ...c }, new Map([...m.state].map(([k, v]) => [k, v.clone()]))) as Dcgan;
    expect(Array.from(copy.stats.get('g.bn1.rmean')!.dataSync())).toEqual(Array.from(rm.dataSync()));
    copy.dispose(); z.dispose(); m.dispose();
  });

  it('minibatch standard deviation: one plane per sample, the mean feature std of its group (samples i, i + M, ...)', async () => {
    const B = 6, H = 2, W = 1, C = 2;
    const x = Float32Array.from({ length: B * H * W * C }, (_, i) => Math.sin(i * 1.7) * (1 + i / 7));
    const per = H * W * C;
    // by hand, group size 3 -> G = 3, M = 2: sample i is in group i % 2
    const expected = Array.from({ length: B }, (_, i) => {
      const members = [0, 1, 2].map((g) => g * 2 + (i % 2));
      let s = 0;
      for (let f = 0; f < per; f++) {
        const v = members.map((b) => x[b * per + f]);
        const mu = v.reduce((a, b) => a + b, 0) / v.length;
        s += Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length + 1e-8);
      }
      return s / per;
    });
    const xt = tf.tensor4d(x, [B, H, W, C]);
    await expectNoLeak(() => tf.tidy(() => {
      const y = minibatchStddev(xt, 3);
      expect(y.shape).toEqual([B, H, W, C + 1]);
      const v = y.dataSync();
      for (let b = 0; b < B; b++) for (let p = 0; p < H * W; p++) {
        expect(v[(b * H * W + p) * (C + 1) + C]).toBeCloseTo(expected[b], 5);
        for (let c = 0; c < C; c++) expect(v[(b * H * W + p) * (C + 1) + c]).toBe(x[(b * H * W + p) * C + c]);
      }
      // a group size that does not divide the batch falls back to the largest divisor (4 -> 3)
      expect(Array.from(minibatchStddev(xt, 4).dataSync())).toEqual(Array.from(v));
      // identical samples have no spread
      expect(minibatchStddev(tf.ones([4, 2, 2, 3]) as tf.Tensor4D, 4).slice([0, 0, 0, 3], [4, 2, 2, 1]).max().dataSync()[0]).toBeLessThan(1e-3);
    }));
    // in D: one more 7x7 plane before the last layer; off by default (the peer's 917,122 weights)
    const c: DcganConfig = { z: 8, classes: 0, mbstd: 4, pack: 1, clusters: 0 };
    const m = new Dcgan(c, initDcganWeights(c, new Rng(3)));
    expect(m.p('d.fc.w').shape).toEqual([7 * 7 * 129, 1]);
    const logits = tf.tidy(() => m.discriminate(tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D));
    expect(logits.shape).toEqual([8, 1]);
    logits.dispose(); xt.dispose(); m.dispose();
  });

  it('PacGAN: D judges packs of samples stacked as channels; the batch must be a multiple of the pack', () => {
    // packing by hand: pack i, channel j * C + c = sample i * P + j, channel c
    const xs = Float32Array.from({ length: 6 * 2 * 2 * 3 }, (_, i) => i);
    const packed = packChannels(tf.tensor4d(xs, [6, 2, 2, 3]), 3);
    expect(packed.shape).toEqual([2, 2, 2, 9]);
    const pv = packed.dataSync();
    for (let i = 0; i < 2; i++) for (let q = 0; q < 4; q++) for (let j = 0; j < 3; j++) for (let ch = 0; ch < 3; ch++)
      expect(pv[(i * 4 + q) * 9 + j * 3 + ch]).toBe(xs[((i * 3 + j) * 4 + q) * 3 + ch]);
    packed.dispose();
    const c: DcganConfig = { z: 8, classes: 10, mbstd: 0, pack: 2, clusters: 0 };
    const m = new Dcgan(c, initDcganWeights(c, new Rng(4)));
    expect(m.p('d.c1.w').shape).toEqual([4, 4, 22, 64]);
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 6) as tf.Tensor4D, y = tf.tensor1d([3, 1, 4, 1], 'int32');
    tf.tidy(() => {
      const logits = m.discriminate(x, y);
      expect(logits.shape).toEqual([2, 1]);
      // pack i holds samples 2i and 2i + 1 (each image with its label planes): swapping two samples
      // across packs changes the logits, swapping within a pack only reorders D's input channels
      const swapAcross = m.discriminate(tf.gather(x, [2, 1, 0, 3]) as tf.Tensor4D, tf.gather(y, [2, 1, 0, 3]) as tf.Tensor1D);
      expect(Math.abs(swapAcross.dataSync()[0] - logits.dataSync()[0])).toBeGreaterThan(1e-6);
    });
    expect(() => tf.tidy(() => m.discriminate(tf.slice(x, [0, 0, 0, 0], [3, 28, 28, 1]) as tf.Tensor4D, tf.slice(y, [0], [3]) as tf.Tensor1D))).toThrow(/multiple of 2/);
    x.dispose(); y.dispose(); m.dispose();
  });

  it('self-conditioned DCGAN: cluster ids in place of labels, drawn from the clusters\' frequencies; the prior is saved state', () => {
    const c: DcganConfig = { z: 8, classes: 0, mbstd: 0, pack: 1, clusters: 3 };
    const m = new Dcgan(c, initDcganWeights(c, new Rng(8)));
    expect(m.p('g.fc.w').shape).toEqual([11, 7 * 7 * 128]);
    expect(m.p('d.c1.w').shape).toEqual([4, 4, 4, 64]);
    expect([...m.stats.get('g.prior')!.dataSync()]).toEqual([1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    expect(m.params.has('g.prior')).toBe(false); // never trained
    expect(new Set(tf.tidy(() => m.drawClusters(new Rng(9), 300).dataSync()))).toEqual(new Set([0, 1, 2])); // uniform before the data's sizes
    m.setClusterPrior([30, 0, 10]); // and a new prior replaces the one read before
    const ids = tf.tidy(() => m.drawClusters(new Rng(9), 4000).dataSync());
    const count = [0, 1, 2].map((k) => ids.filter((v) => v === k).length);
    expect(count[1]).toBe(0);
    expect(count[0] / 4000).toBeGreaterThan(0.72);
    expect(count[0] / 4000).toBeLessThan(0.78);
    const z = tf.randomNormal([2, 8], 0, 1, 'float32', 3) as tf.Tensor2D;
    tf.tidy(() => {
      const y = m.drawClusters(new Rng(1), 2);
      expect(m.generate(z, y, 'running').shape).toEqual([2, 28, 28, 1]);
      expect(m.discriminate(m.generate(z, y), y).shape).toEqual([2, 1]);
    });
    expect(() => tf.tidy(() => m.generate(z))).toThrow(/needs 2 cluster ids/);
    expect(() => m.setClusterPrior([1, 2])).toThrow(/expected 3 cluster sizes/);
    // the prior travels with the state into a rebuilt model
    const copy = buildImageModel('gan', { ...c }, new Map([...m.state].map(([k, v]) => [k, tf.clone(v)]))) as Dcgan;
    expect([...copy.stats.get('g.prior')!.dataSync()]).toEqual([0.75, 0, 0.25]);
    expect(() => new Dcgan(c, new Map([...initDcganWeights({ ...c, clusters: 0 }, new Rng(1))]))).toThrow(/3 clusters but no g.prior/);
    expect(() => validateImageConfig('gan', { ...defaultImageConfig('gan', 10), clusters: 5 }, 10)).toThrow(/set classes=0 with clusters/);
    expect(() => validateImageConfig('gan', { ...defaultImageConfig('gan', 0), clusters: 5 }, 10)).not.toThrow();
    z.dispose(); m.dispose(); copy.dispose();
  });

  it('label planes: their convolution from the labels alone equals convolving the planes (values and gradients)', () => {
    const rng = new Rng(11);
    // odd sizes and a blend of labels: taps cut by the padding differ at each border
    for (const [H, W, k, stride, pad] of [[28, 28, 4, 2, 1], [7, 9, 3, 2, 1], [5, 6, 3, 1, 1]]) {
      const B = 3, K = 4, C = 5;
      const weights = tf.tensor2d([[1, 0, 0, 0], [0, 0, 1, 0], [0.25, 0, 0, 0.75]]);
      const w = tf.tensor4d(rng.normalArray(k * k * K * C), [k, k, K, C]);
      const planes = () => tf.mul(tf.reshape(weights, [B, 1, 1, K]), tf.ones([1, H, W, 1])) as tf.Tensor4D;
      const zero = tf.zeros([C]);
      const dy = tf.tensor4d(rng.normalArray(B * Math.floor((H + 2 * pad - k) / stride + 1) * Math.floor((W + 2 * pad - k) / stride + 1) * C), [B, Math.floor((H + 2 * pad - k) / stride + 1), Math.floor((W + 2 * pad - k) / stride + 1), C]);
      const [a, ga] = tf.tidy(() => [onehotPlanesConv(weights, w, H, W, stride, pad).dataSync(), tf.grad((f: tf.Tensor) => tf.sum(tf.mul(onehotPlanesConv(weights, f as tf.Tensor4D, H, W, stride, pad), dy)))(w).dataSync()]);
      const [b, gb] = tf.tidy(() => [conv2d(planes(), w, zero, stride, pad).dataSync(), tf.grad((f: tf.Tensor) => tf.sum(tf.mul(conv2d(planes(), f, zero, stride, pad), dy)))(w).dataSync()]);
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
      for (let i = 0; i < ga.length; i++) expect(ga[i]).toBeCloseTo(gb[i], 3);
      weights.dispose(); w.dispose(); zero.dispose(); dy.dispose();
    }
    // D's first layer, conditional and packed: as the stacked channels [image, planes] per sample
    for (const pack of [1, 2]) {
      const c: DcganConfig = { z: 8, classes: 10, mbstd: 0, pack, clusters: 0 };
      const m = new Dcgan(c, initDcganWeights(c, new Rng(12)));
      const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 13) as tf.Tensor4D, y = tf.tensor1d([3, 9, 0, 3], 'int32');
      const [got, want] = tf.tidy(() => {
        const stacked = tf.concat([x, tf.mul(tf.reshape(tf.oneHot(y, 10).toFloat(), [4, 1, 1, 10]), tf.ones([1, 28, 28, 1]))], 3) as tf.Tensor4D;
        return [m.firstConv(x, y).dataSync(), conv2d(pack > 1 ? packChannels(stacked, pack) : stacked, m.p('d.c1.w'), m.p('d.c1.b'), 2, 1).dataSync()];
      });
      for (let i = 0; i < got.length; i += 7) expect(got[i]).toBeCloseTo(want[i], 4);
      x.dispose(); y.dispose(); m.dispose();
    }
  });

  it('CVAE: labels join the encoder and decoder; the NLL bound is given the label and differs by label', () => {
    const c: VaeConfig = { latent: 4, classes: 10 };
    const m = new Vae(c, initVaeWeights(c, new Rng(5)));
    const x = tf.cast(tf.greater(tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 6), 0.5), 'float32') as tf.Tensor4D;
    const y3 = tf.tensor1d([3, 3], 'int32'), y5 = tf.tensor1d([5, 5], 'int32');
    const a = iwaeNll(m, x, 4, new Rng(1), y3), b = iwaeNll(m, x, 4, new Rng(1), y5);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(Math.abs(a[0] - b[0])).toBeGreaterThan(1e-6);
    const l = tf.tidy(() => m.loss(x, tf.zeros([2, 4]) as tf.Tensor2D, y3).dataSync()[0]);
    expect(l).toBeGreaterThan(0);
    // blended class weights are accepted by the decoder (interpolation between classes)
    expect(tf.tidy(() => m.decode(tf.zeros([1, 4]) as tf.Tensor2D, tf.tensor2d([[0, 0, 0, 0.5, 0, 0.5, 0, 0, 0, 0]])).shape)).toEqual([1, 28, 28, 1]);
    x.dispose(); y3.dispose(); y5.dispose(); m.dispose();
  });

  it('classifier: features and 10 logits per image; configs are checked against the data', () => {
    const c = defaultClassifierConfig();
    const m = new Classifier(c, initClassifierWeights(c, new Rng(1)));
    tf.tidy(() => {
      const x = tf.zeros([3, 28, 28, 1]) as tf.Tensor4D;
      expect(m.features(x).shape).toEqual([3, 128]);
      expect(m.logits(x).shape).toEqual([3, 10]);
    });
    m.dispose();
    expect(() => validateImageConfig('gan', { ...defaultImageConfig('gan', 10), classes: 4 }, 10)).toThrow(/classes must be 0 \(unconditional\) or the number of classes of the data \(10\), got 4/);
    expect(() => validateImageConfig('vae', { ...defaultImageConfig('vae', 10), latent: 0 }, 10)).toThrow(/vae latent must be a whole number >= 1 and <= 4096, got 0/);
    expect(() => validateImageConfig('gan', { ...defaultImageConfig('gan', 10), mbstd: 0, pack: 1, clusters: 0 }, 10)).not.toThrow();
    expect(() => validateImageConfig('gan', { ...defaultImageConfig('gan', 10), mbstd: -1 }, 10)).toThrow(/gan mbstd must be a whole number >= 0 and <= 256, got -1/);
    const w = initImageWeights('vae', defaultImageConfig('vae', 0), new Rng(1));
    expect(countParams(w)).toBe(1_673_729);
    for (const t of w.values()) t.dispose();
  });
});
