// Every native kernel that computes exp, log or a reciprocal square root, on extreme but finite
// inputs, against the cpu backend: a kernel must never turn finite inputs into NaN where cpu
// gives numbers (the fused `scale * x - max` once gave NaN for logits near 1e10).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, nativeAvailable, useBackend, type BackendName } from '../../src/tensor/backend.js';
import { causalSoftmax, gelu, groupNorm, lstmCell } from '../../src/tensor/ops.js';
import { layerNorm, ownVariable } from '../../src/nn/layers.js';
import { Adam } from '../../src/train/optim.js';
import { Rng } from '../../src/util/rng.js';

const rng = new Rng(7);
const original = backendInfo()!.backend;
afterAll(async () => { await useBackend(original); });

async function on(name: BackendName, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(name);
  const outs = tf.tidy(f);
  const arrays = outs.map((t) => Float32Array.from(t.dataSync()));
  outs.forEach((t) => t.dispose());
  return arrays;
}

/** Same values up to `tol` relative to the output's largest finite magnitude; equal infinities match; NaN matches nothing. */
function expectClose(got: Float32Array, want: Float32Array, tol: number, what: string): void {
  expect(got.length).toBe(want.length);
  let scale = 1;
  for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    expect(Number.isNaN(g), `${what}[${i}] is NaN (cpu: ${w})`).toBe(Number.isNaN(w));
    if (!Number.isFinite(w)) { if (!Number.isNaN(w)) expect(g, `${what}[${i}]`).toBe(w); continue; }
    expect(Math.abs(g - w) / scale, `${what}[${i}]: ${g} against cpu ${w}`).toBeLessThan(tol);
  }
}

async function expectSameAsCpu(f: () => tf.Tensor[], tol = 1e-5): Promise<void> {
  const want = await on('cpu', f), got = await on('native', f);
  got.forEach((g, i) => expectClose(g, want[i], tol, `output ${i}`));
}

/** Values spanning many orders of magnitude, both signs, zeros included. */
function extremes(n: number, top = 1e30): Float32Array {
  const mags = [0, 1e-30, 1e-6, 0.5, 3, 20, 90, 1e4, 1e10, top];
  return Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * mags[rng.int(mags.length)] * (0.5 + rng.next()));
}

describe.runIf(nativeAvailable())('native kernels on extreme inputs equal cpu', () => {
  it('causal softmax: logits near 1e10 (the row that gave NaN) give the one-hot of the maximum, as cpu does', async () => {
    await useBackend('native');
    const row = tf.tensor3d([12128843776, 12590286848, 12550098944], [1, 1, 3]);
    const y = causalSoftmax(row, 0.1768, 2);
    expect(Array.from(y.dataSync())).toEqual([0, 1, 0]);
    row.dispose(); y.dispose();
  });
  for (const [shape, pos0] of [[[2, 3, 5], 2], [[2, 4, 37], 33], [[3, 17, 17], 0]] as [number[], number][]) {
    it(`causal softmax of ${shape} with logits from 0 to 1e30 and its gradient`, async () => {
      const x = extremes(shape.reduce((a, b) => a * b, 1)), w = extremes(x.length, 10);
      await expectSameAsCpu(() => {
        const xt = tf.tensor(x, shape), wt = tf.tensor(w, shape);
        return [causalSoftmax(xt, 0.1768, pos0), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(causalSoftmax(v, 0.1768, pos0), wt)))(xt)];
      });
    });
  }
  it('GELU and its gradient from -1e30 to 1e30', async () => {
    const x = extremes(7 * 37);
    await expectSameAsCpu(() => {
      const xt = tf.tensor2d(x, [7, 37]);
      return [gelu(xt), tf.grad((v: tf.Tensor) => tf.sum(gelu(v)))(xt)];
    });
  });
  it('LSTM cell with pre-activations from -1e30 to 1e30, gradients included', async () => {
    const B = 3, H = 21, xw = extremes(B * 4 * H), hw = extremes(B * 4 * H, 1e4), c = extremes(B * H, 1e4);
    await expectSameAsCpu(() => {
      const ts = [tf.tensor2d(xw, [B, 4 * H]), tf.tensor2d(hw, [B, 4 * H]), tf.tensor2d(c, [B, H])] as tf.Tensor2D[];
      const f = (a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor) => { const r = lstmCell(a as tf.Tensor2D, b as tf.Tensor2D, cc as tf.Tensor2D); return tf.add(tf.sum(r.h), tf.sum(r.c)); };
      const r = lstmCell(ts[0], ts[1], ts[2]);
      return [r.h, r.c, ...tf.grads(f)(ts)];
    });
  });
  for (const [name, make] of [
    ['constant items (zero variance)', (n: number) => new Float32Array(n).fill(3.5)],
    ['values up to 1e15', (n: number) => extremes(n, 1e15)],
  ] as [string, (n: number) => Float32Array][]) {
    it(`GroupNorm + SiLU and LayerNorm of ${name}, gradients included`, async () => {
      const shape: [number, number, number, number] = [2, 4, 4, 24], C = 24;
      const x = make(2 * 4 * 4 * C), g = Float32Array.from({ length: C }, () => 1 + rng.normal() * 0.1), b = Float32Array.from({ length: C }, () => rng.normal());
      await expectSameAsCpu(() => {
        const ts = [tf.tensor4d(x, shape), tf.tensor1d(g), tf.tensor1d(b)];
        const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(groupNorm(a as tf.Tensor4D, gg, bb, 4, { silu: true }));
        const l = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.square(layerNorm(a, gg, bb)));
        return [groupNorm(ts[0] as tf.Tensor4D, ts[1], ts[2], 4, { silu: true }), ...tf.grads(f)(ts), layerNorm(ts[0], ts[1], ts[2]), ...tf.grads(l)(ts)];
      }, 1e-3);
    });
  }
  it('in-place Adam and AdamW with gradients from 0 to 1e30 equal the tensor-op updates on cpu', async () => {
    const p0 = extremes(40, 1e4), grads = [extremes(40), extremes(40, 1e-3), new Float32Array(40)];
    const run = async (name: BackendName, kind: 'adam' | 'adamw') => {
      await useBackend(name);
      const p = ownVariable(tf.tensor1d(p0), true);
      const opt = new Adam(new Map([['w', p]]), ['w'], new Set(['w']), { kind, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
      for (const g of grads) { const gt = tf.tensor1d(g); opt.apply({ w: gt }, 1e-2, 1); gt.dispose(); }
      const out = Float32Array.from(p.dataSync());
      opt.dispose(); p.dispose();
      return out;
    };
    for (const kind of ['adam', 'adamw'] as const) expectClose(await run('native', kind), await run('cpu', kind), 1e-6, kind);
  });
});
