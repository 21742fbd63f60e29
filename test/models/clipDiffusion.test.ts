import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CLS, PAD, encodeWords } from '../../src/data/clips/vocab.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { DEFAULT_SCHEDULE } from '../../src/diffusion/schedules.js';
import { ClipDiffusion, defaultClipDiffusionConfig, epsFromV, savedClipDiffusionConfig, vTarget, type ClipDiffusionConfig } from '../../src/models/clipDiffusion.js';
import { defaultFrameAeConfig, FrameAe, initFrameAeWeights } from '../../src/models/frameAe.js';
import { defaultTextEncoderConfig, initTextEncoderWeights } from '../../src/models/textEncoder.js';
import { frameEmbeddingWeights, initVideoUnetWeights, referenceVideoUnetConfig } from '../../src/models/videoUnet.js';
import { countParams, type Weights } from '../../src/nn/layers.js';
import { backendInfo, nativeAvailable, useBackend } from '../../src/tensor/backend.js';
import { buildLatentCache, clipDiffusionTask, defaultClipDiffusionTask } from '../../src/train/clipDiffusionTask.js';
import { Rng } from '../../src/util/rng.js';
import { tinyClipDiffusion } from './clipFixtures.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

const original = backendInfo()!.backend;
afterAll(async () => { await useBackend(original); });

describe('clip diffusion model', () => {
  it("the frame embedding: at zero the network is the one without it; given weights, the frames' outputs depend on their index", () => {
    const plain = tinyClipDiffusion(7), withF = tinyClipDiffusion(7);
    try {
      const cfg = { ...withF.config, unet: { ...withF.config.unet, frameEmbedding: true } };
      const w = new Map([...withF.params].map(([k, v]) => [k, tf.clone(v)] as [string, tf.Tensor]));
      for (const [k, v] of frameEmbeddingWeights(cfg.unet)) w.set(k, v);
      const m = new ClipDiffusion(cfg, w);
      try {
        tf.tidy(() => {
          const rng = new Rng(2), x = tf.tensor4d(rng.normalArray(16 * 16 * 16 * 4), [16, 16, 16, 4]), t = tf.tensor1d([500], 'int32');
          const run = (mm: ClipDiffusion) => mm.predict(x, t, mm.encodeText(['a red 3'])).dataSync();
          expect(maxAbsDiff(run(m), run(plain))).toBeLessThan(1e-5);
          m.params.get('unet.fpos.w')!.assign(tf.tensor2d(rng.normalArray(128 * cfg.unet.tembDim, 0.5), [128, cfg.unet.tembDim]));
          expect(maxAbsDiff(run(m), run(plain))).toBeGreaterThan(1e-3);
        });
      } finally {
        m.dispose();
      }
    } finally {
      plain.dispose();
      withF.dispose();
    }
  });

  it("has the peer's video_unet parameter counts: text encoder 416,256 + denoiser 3,000,900 = 3,417,156", () => {
    const t = initTextEncoderWeights(defaultTextEncoderConfig(), new Rng(1)), u = initVideoUnetWeights(referenceVideoUnetConfig(), new Rng(1));
    expect(countParams(t)).toBe(416_256);
    expect(countParams(u)).toBe(3_000_900);
    for (const m of [t, u]) for (const v of m.values()) v.dispose();
  });
  it("v-prediction: the noise recovered from x_t and the true v is the noise added, and x0 is the same at every noise level only with the right v", () => {
    tf.tidy(() => {
      const rng = new Rng(5), shape: [number, number, number, number] = [3, 4, 4, 2];
      const x0 = tf.tensor4d(rng.normalArray(96), shape), eps = tf.tensor4d(rng.normalArray(96), shape);
      for (const a of [0.9999, 0.5, 0.003]) {
        const A = tf.fill([3, 1, 1, 1], a) as tf.Tensor4D;
        const xt = tf.add(tf.mul(x0, Math.sqrt(a)), tf.mul(eps, Math.sqrt(1 - a))) as tf.Tensor4D;
        expect(maxAbsDiff(epsFromV(vTarget(x0, eps, A), xt, A).dataSync(), eps.dataSync())).toBeLessThan(1e-4);
        // the target is not eps itself (nor x0) at any noise level that matters
        if (a < 0.99) expect(maxAbsDiff(vTarget(x0, eps, A).dataSync(), eps.dataSync())).toBeGreaterThan(0.1);
      }
    });
    // checkpoints saved before `prediction` existed predicted eps; new runs predict v
    const { prediction: _, ...before } = defaultClipDiffusionConfig();
    expect(savedClipDiffusionConfig({ ...before, ae: defaultFrameAeConfig(), latentScale: 1 }).prediction).toBe('eps');
    expect(defaultClipDiffusionConfig().prediction).toBe('v');
  });
  it('padding does not change what the text encoder reads (the key mask), and words do', () => {
    const m = tinyClipDiffusion();
    tf.tidy(() => {
      const ids = encodeWords('a red 3 moving left', 24);
      expect(ids[0]).toBe(CLS);
      expect(ids[6]).toBe(PAD);
      const long = m.text.encode(tf.tensor2d(ids, [1, 24], 'int32')), short = m.text.encode(tf.tensor2d(ids.slice(0, 8), [1, 8], 'int32'));
      expect(maxAbsDiff(long.pooled.dataSync(), short.pooled.dataSync())).toBeLessThan(1e-5);
      expect(maxAbsDiff(tf.slice(long.tokens, [0, 0, 0], [1, 6, -1]).dataSync(), tf.slice(short.tokens, [0, 0, 0], [1, 6, -1]).dataSync())).toBeLessThan(1e-5);
      const other = m.encodeText(['a red 4 moving left']);
      expect(maxAbsDiff(other.pooled.dataSync(), long.pooled.dataSync())).toBeGreaterThan(1e-3);
    });
    m.dispose();
  });
  it('frames see each other through the temporal layers, and the prediction depends on the text', () => {
    const m = tinyClipDiffusion();
    tf.tidy(() => {
      const x = tf.randomNormal([16, 16, 16, 4], 0, 1, 'float32', 3) as tf.Tensor4D, t = tf.tensor1d([300], 'int32');
      const text = m.encodeText(['a red 3 moving left']);
      const y = m.predict(x, t, text);
      expect(y.shape).toEqual([16, 16, 16, 4]);
      const bump = tf.concat([tf.add(tf.slice(x, 0, 1), 1), tf.slice(x, 1, 15)]) as tf.Tensor4D;
      const y2 = m.predict(bump, t, text);
      const frame = (a: tf.Tensor, f: number) => tf.slice(a, f, 1).dataSync();
      expect(maxAbsDiff(frame(y, 8), frame(y2, 8))).toBeGreaterThan(1e-4); // frame 0's change reaches frame 8
      const y3 = m.predict(x, t, m.encodeText(['a blue 7 moving up']));
      expect(maxAbsDiff(y.dataSync(), y3.dataSync())).toBeGreaterThan(1e-4);
    });
    m.dispose();
  });
  it.runIf(nativeAvailable())('the denoiser and its gradients on the native kernels equal the cpu backend', async () => {
    const run = async (b: 'cpu' | 'native') => {
      await useBackend(b);
      const m = tinyClipDiffusion(7), vars = m.trainable.map((k) => m.params.get(k)!);
      const out = tf.tidy(() => {
        const x = tf.tensor4d(new Rng(5).normalArray(2 * 16 * 16 * 16 * 4), [32, 16, 16, 4]);
        const f = () => tf.sum(tf.square(m.predict(x, tf.tensor1d([100, 700], 'int32'), m.encodeText(['a big red 3 moving left', 'small 5 up'])))) as tf.Scalar;
        const { value, grads } = tf.variableGrads(f, vars);
        return [value.dataSync()[0], ...vars.map((v) => grads[v.name].dataSync() as Float32Array)] as const;
      });
      m.dispose();
      return out;
    };
    const [lc, ...gc] = await run('cpu');
    const [ln, ...gn] = await run('native');
    expect(Math.abs(ln - lc) / Math.abs(lc)).toBeLessThan(1e-4);
    // with one channel per GroupNorm group, biases right before a norm have a true gradient of 0 (float noise on both sides): scale by the largest gradient too
    const top = Math.max(...gc.map((g) => g.reduce((a, v) => Math.max(a, Math.abs(v)), 0)));
    gc.forEach((g, i) => {
      const scale = Math.max(g.reduce((a, v) => Math.max(a, Math.abs(v)), 0), 1e-2 * top);
      expect(maxAbsDiff(gn[i], g) / scale, `gradient ${i}`).toBeLessThan(2e-3);
    });
  }, 120_000);
  it('a training step of the task leaks nothing, renews the cache, and validates on held-out clips', async () => {
    const m = tinyClipDiffusion(), digits = loadMnistPackage();
    const ae = new FrameAe(m.config.ae, new Map([...m.params].filter(([k]) => k.startsWith('ae.')).map(([k, v]) => [k.slice(3), tf.clone(v)])));
    const cache = buildLatentCache(ae, digits.train, 3, 1);
    ae.dispose();
    const before = cache.latents.slice();
    const task = clipDiffusionTask({ model: m, cache, train: digits.train, test: digits.test, task: { ...defaultClipDiffusionTask(), renewPerStep: 1 }, schedule: DEFAULT_SCHEDULE, valClips: 2 });
    const vars = m.trainable.map((k) => m.params.get(k)!), rng = new Rng(2);
    if (!('loss' in task)) throw new Error('one-phase task expected');
    const loss = task.loss;
    const step = () => tf.tidy(() => { const { value, grads } = tf.variableGrads(() => loss(rng, 2), vars); Object.values(grads).forEach((g) => g.dataSync()); return value.dataSync()[0]; });
    expect(Number.isFinite(step())).toBe(true);
    expect(maxAbsDiff(before.subarray(0, 16384), cache.latents.subarray(0, 16384))).toBeGreaterThan(0); // clip 0 replaced
    await expectNoLeak(() => { step(); });
    const v1 = task.validate!(1);
    await expectNoLeak(() => { task.validate!(1); });
    expect(task.validate!(1)).toBe(v1); // fixed clips, noise and timesteps
    expect(task.meta()).toMatchObject({ family: 'clip-diffusion', schedule: DEFAULT_SCHEDULE });
    m.dispose();
  }, 120_000);
});
