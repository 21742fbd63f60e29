import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { denoiseLoop, keepKnown, SamplingCancelled, startFromImage } from '../../src/diffusion/loop.js';
import { DdimScheduler } from '../../src/diffusion/schedulers.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

// a perfect noise predictor for a known clean sample: eps = (x - sqrt(abar) x0) / sqrt(1 - abar)
function oracle(sch: DdimScheduler, x0: tf.Tensor) {
  return (x: tf.Tensor, t: tf.Tensor1D) => {
    const a = sch.schedule.alphasCumprod[t.dataSync()[0]];
    return tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(a))), Math.sqrt(1 - a));
  };
}

describe('the scheduler-driven sampling loop', () => {
  // 5-D: [batch, frames, height, width, channels], as the clip engine's video latents
  const shape = [2, 3, 4, 4, 2];
  const rng = new Rng(9), x0v = rng.uniformArray(shape.reduce((a, b) => a * b, 1), -0.9, 0.9);

  it('takes any sample shape: with a perfect predictor it lands on x0, reports each step, and leaks nothing', async () => {
    const sch = new DdimScheduler();
    sch.setTimesteps(8);
    const x0 = tf.tensor(x0v, shape);
    const steps: number[] = [];
    let out: tf.Tensor | undefined;
    await expectNoLeak(() => {
      out = denoiseLoop({ scheduler: sch, predict: oracle(sch, x0), x: tf.tensor(new Rng(1).normalArray(x0v.length), shape), onStep: (k, n, p) => { steps.push(k); expect(n).toBe(8); expect(p.shape).toEqual(shape); } });
      out.dispose();
    });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const again = denoiseLoop({ scheduler: sch, predict: oracle(sch, x0), x: tf.tensor(new Rng(1).normalArray(x0v.length), shape) });
    expect(maxAbsDiff(again.dataSync(), x0v)).toBeLessThan(1e-3);
    again.dispose(); x0.dispose();
  });

  it('stops between steps when its signal aborts, disposing everything', async () => {
    const sch = new DdimScheduler();
    sch.setTimesteps(10);
    const x0 = tf.tensor(x0v, shape), ctrl = new AbortController();
    let calls = 0;
    await expectNoLeak(() => {
      expect(() => denoiseLoop({
        scheduler: sch, x: tf.randomNormal(shape), signal: ctrl.signal,
        predict: (x, t) => { calls += 1; return oracle(sch, x0)(x, t); },
        onStep: (k) => { if (k === 3) ctrl.abort(); },
      })).toThrow(SamplingCancelled);
    });
    expect(calls).toBe(3);
    x0.dispose();
  });

  it('image-to-image starts part of the way up; inpainting keeps the known region exactly', () => {
    const sch = new DdimScheduler();
    sch.setTimesteps(10);
    const x0 = tf.tensor(x0v, shape), noise = tf.randomNormal(shape);
    const s = startFromImage(sch, x0, 0.3, noise);
    expect(s.timesteps).toEqual(sch.timesteps.slice(7));
    s.x.dispose();
    const mask = tf.tensor(Float32Array.from(x0v, (_, i) => (i % 2 ? 1 : 0)), shape);
    const wrong = tf.zerosLike(x0); // a predictor that knows nothing: the known half must still come out exact
    const r = new Rng(3);
    const out = denoiseLoop({
      scheduler: sch, x: tf.randomNormal(shape), predict: (x) => tf.mul(x, 0),
      after: keepKnown(sch, x0, mask, (sh) => tf.tensor(r.normalArray(sh.reduce((a, b) => a * b, 1)), sh)),
    });
    const o = out.dataSync();
    for (let i = 0; i < o.length; i += 2) expect(Math.abs(o[i] - x0v[i])).toBeLessThan(1e-5);
    for (const t of [x0, noise, mask, wrong, out]) t.dispose();
  });
});
