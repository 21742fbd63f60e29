import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { defaultFrameAeConfig, FrameAe, initFrameAeWeights } from '../../src/models/frameAe.js';
import { countParams } from '../../src/nn/layers.js';
import { frameAeTask, frameBatch } from '../../src/train/frameAeTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';
import { expectUserError, run, workspace } from '../cli/fixtures.js';

const c = defaultFrameAeConfig();
const digits = loadMnistPackage();

describe('frame autoencoder', () => {
  it("has the peer's frame_ae parameter count and maps 64x64x3 frames to 16x16x4 latents and back", () => {
    const m = new FrameAe(c, initFrameAeWeights(c, new Rng(1)));
    expect(countParams(m.params)).toBe(374_475);
    tf.tidy(() => {
      const { mu, logvar } = m.encode(tf.zeros([2, 64, 64, 3]) as tf.Tensor4D);
      expect(mu.shape).toEqual([2, 16, 16, 4]);
      expect(logvar.shape).toEqual([2, 16, 16, 4]);
      expect(m.decode(mu).shape).toEqual([2, 64, 64, 3]);
    });
    m.dispose();
  });
  it('trains on clip-world frames: the task leaks nothing, and the loss falls on a fixed batch', async () => {
    const m = new FrameAe(c, initFrameAeWeights(c, new Rng(2)));
    const task = frameAeTask({ model: m, train: digits.train, test: digits.test, valFrames: 2 });
    const frames = frameBatch(digits.train, 'train', new Rng(3), 2);
    expect(frames.length).toBe(2 * 64 * 64 * 3);
    expect(Math.max(...frames)).toBeGreaterThan(0.5); // a digit is lit in each frame's clip
    const vars = [...m.params.values()];
    const opt = tf.train.adam(2e-3);
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => m.loss(tf.tensor4d(frames, [2, 64, 64, 3]), tf.zeros([2, 16, 16, 4]) as tf.Tensor4D).loss, vars);
      opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
      return value.dataSync()[0];
    });
    const first = step();
    await expectNoLeak(() => { step(); });
    let last = first;
    for (let i = 0; i < 6; i++) last = step();
    expect(last).toBeLessThan(first * 0.8);
    await expectNoLeak(() => { task.validate!(1); });
    expect(task.meta().family).toBe('frame-ae');
    opt.dispose(); m.dispose();
  }, 300_000);
  it('genlab train frame-ae runs, resumes, and refuses --data other than the clip world', () => {
    const ws = workspace('genlab-fae-'), out = ws.dir + '/fae';
    const t = run('train', 'frame-ae', '--out', out, '--steps', '2', '--set', 'batchSize=2', '--set', 'evalBatches=1', '--quiet');
    expect(t.code, t.err).toBe(0);
    expect(t.err).toMatch(/frame-ae: 374,475 weights/);
    const r = run('train', 'frame-ae', '--out', out, '--steps', '3', '--resume', '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/resuming frame-ae from step 2/);
    const e = run('eval', out, '--n', '2');
    expect(e.code, e.err).toBe(0);
    const rep = JSON.parse(e.out);
    expect(rep).toMatchObject({ family: 'frame-ae', step: 3, clips: 2 });
    expect(rep.psnr).toBeCloseTo(10 * Math.log10(1 / rep.mse), 6);
    expectUserError(run('train', 'frame-ae', '--out', ws.dir + '/x', '--data', 'mnist'), /trains on the clip world/);
    expectUserError(run('train', 'frame-ae', '--out', ws.dir + '/x', '--set', 'latent=0'), /model latent must be a whole number >= 1, got 0/);
    expectUserError(run('train', 'gpt', '--out', ws.dir + '/x'), /--data is required for gpt/);
  }, 300_000);
});
