import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { cosineBetas, linearBetas } from '../../src/diffusion/schedules.js';
import { DdimScheduler, DdpmScheduler } from '../../src/diffusion/schedulers.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

const rng = new Rng(5);
const x0v = rng.uniformArray(2 * 4 * 4, -1, 1), epsv = rng.normalArray(2 * 4 * 4);

describe('noise schedules', () => {
  it('linear: 1e-4 to 0.02, decreasing cumulative products', () => {
    const s = linearBetas();
    expect(s.betas[0]).toBeCloseTo(1e-4, 12);
    expect(s.betas[999]).toBeCloseTo(0.02, 12);
    expect(s.alphasCumprod[0]).toBeCloseTo(0.9999, 12);
    expect(s.alphasCumprod[999]).toBeCloseTo(4.04e-5, 6); // as torch.cumprod(1 - linspace(1e-4, 0.02, 1000))[-1]
  });
  it('cosine: betas in (0, 0.999], abar from near 1 to near 0', () => {
    const s = cosineBetas();
    expect(Math.max(...s.betas)).toBeLessThanOrEqual(0.999);
    expect(s.alphasCumprod[0]).toBeGreaterThan(0.999);
    expect(s.alphasCumprod[999]).toBeLessThan(1e-4);
  });
});

describe('schedulers', () => {
  it('addNoise then a DDIM step with the true noise recovers x0, and the last step lands on it', () => {
    const sch = new DdimScheduler(linearBetas(), false);
    sch.setTimesteps(50);
    expect(sch.timesteps.slice(0, 3)).toEqual([980, 960, 940]);
    expect(sch.timesteps.at(-1)).toBe(0);
    const x0 = tf.tensor4d(x0v, [2, 4, 4, 1]), eps = tf.tensor4d(epsv, [2, 4, 4, 1]);
    for (const t of [980, 500, 20, 0]) {
      const xt = sch.addNoise(x0, eps, [t, t]);
      const { prevSample, predOriginalSample } = sch.step(eps, t, xt);
      expect(maxAbsDiff(predOriginalSample.dataSync(), x0v)).toBeLessThan(1e-3);
      if (t === 0) expect(maxAbsDiff(prevSample.dataSync(), x0v)).toBeLessThan(1e-3);
      // with the true noise, x_{t-1} is exactly the noised x0 at the previous timestep
      else expect(maxAbsDiff(prevSample.dataSync(), sch.addNoise(x0, eps, [t - 20, t - 20]).dataSync())).toBeLessThan(1e-3);
    }
  });

  it('a deterministic DDIM loop with a perfect denoiser maps pure noise to x0, leaking nothing', async () => {
    const sch = new DdimScheduler();
    sch.setTimesteps(10);
    const x0 = tf.tensor4d(x0v, [2, 4, 4, 1]), eps = tf.tensor4d(epsv, [2, 4, 4, 1]);
    let x = sch.addNoise(x0, eps, [sch.timesteps[0], sch.timesteps[0]]);
    await expectNoLeak(() => {
      for (const t of sch.timesteps) {
        const out = sch.step(eps, t, x);
        out.predOriginalSample.dispose(); // the caller owns both outputs
        x.dispose();
        x = out.prevSample;
      }
    });
    expect(maxAbsDiff(x.dataSync(), x0v)).toBeLessThan(1e-3);
  });

  it('DDPM: the same seed gives the same sample; the last step adds no noise', () => {
    const sch = new DdpmScheduler();
    const x = tf.tensor4d(epsv, [2, 4, 4, 1]), eps = tf.zeros([2, 4, 4, 1]);
    const a = sch.step(eps, 500, x, new Rng(1)).prevSample.dataSync();
    expect(Array.from(sch.step(eps, 500, x, new Rng(1)).prevSample.dataSync())).toEqual(Array.from(a));
    expect(Array.from(sch.step(eps, 500, x, new Rng(2)).prevSample.dataSync())).not.toEqual(Array.from(a));
    const last = sch.step(eps, 0, x).prevSample; // t = 0: no rng needed
    expect(maxAbsDiff(last.dataSync(), sch.step(eps, 0, x).predOriginalSample.dataSync())).toBeLessThan(1e-5);
  });

  it('refuses a timestep outside its schedule and a bad step count', () => {
    const sch = new DdimScheduler();
    sch.setTimesteps(10);
    const x = tf.zeros([1, 2, 2, 1]);
    expect(() => sch.step(x, 7, x)).toThrow(/timestep 7 is not in/);
    expect(() => sch.setTimesteps(0)).toThrow(/whole number in \[1, 1000\]/);
  });
});

describe('classifier-free guidance', () => {
  it('scale 1 equals the conditional model, scale 0 the unconditional, and 2 extrapolates', async () => {
    const { Unet, defaultUnetConfig, initUnetWeights } = await import('../../src/models/unet.js');
    const { guidedNoise } = await import('../../src/diffusion/guidance.js');
    const cfg = { ...defaultUnetConfig(), classes: 10 };
    const m = new Unet(cfg, initUnetWeights(cfg, new Rng(3)));
    const model = (x: tf.Tensor4D, t: tf.Tensor1D, y: tf.Tensor1D) => m.forward(x, t, y);
    const x = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 1) as tf.Tensor4D, t = tf.tensor1d([10, 700], 'int32'), y = tf.tensor1d([3, 8], 'int32');
    const cond = model(x, t, y).dataSync(), uncond = model(x, t, tf.tensor1d([10, 10], 'int32')).dataSync();
    expect(maxAbsDiff(guidedNoise(model, x, t, y, 10, 1).dataSync(), cond)).toBeLessThan(1e-6);
    expect(maxAbsDiff(guidedNoise(model, x, t, y, 10, 0).dataSync(), uncond)).toBeLessThan(1e-4);
    const g2 = guidedNoise(model, x, t, y, 10, 2).dataSync();
    expect(maxAbsDiff(g2, cond.map((c, i) => 2 * c - uncond[i]))).toBeLessThan(1e-4);
    expect(maxAbsDiff(cond, uncond)).toBeGreaterThan(1e-3); // the label matters
    await expectNoLeak(() => guidedNoise(model, x, t, y, 10, 3).dispose());
    m.dispose();
  });
});

describe('Min-SNR-gamma weights', () => {
  it('are min(SNR, gamma) / SNR: gamma / SNR at low noise, 1 at high noise, all 1 when off', async () => {
    const { minSnrWeights } = await import('../../src/train/diffusionTask.js');
    const { alphasCumprod } = linearBetas();
    const snr = (t: number) => alphasCumprod[t] / (1 - alphasCumprod[t]);
    const w = minSnrWeights(alphasCumprod, [0, 100, 999], 5);
    expect(w[0]).toBeCloseTo(5 / snr(0), 6);
    expect(snr(999)).toBeLessThan(5);
    expect(w[2]).toBe(1);
    expect(w[1]).toBeLessThan(1);
    expect(Array.from(minSnrWeights(alphasCumprod, [0, 500], 0))).toEqual([1, 1]);
  });
});
