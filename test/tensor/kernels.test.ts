// Every kernel genlab registers, against TensorFlow.js's plain cpu backend on random inputs,
// gradients included.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, inPlaceOps, nativeAvailable, useBackend, type BackendName } from '../../src/tensor/backend.js';
import { Rng } from '../../src/util/rng.js';
import { gelu, layerNorm, ownVariable } from '../../src/nn/layers.js';
import { upsample2 } from '../../src/nn/conv.js';
import { nearestSources } from '../../src/tensor/cpuKernels.js';
import { causalSoftmax, conv2dAdd, conv2dImageBias, conv2dOnData } from '../../src/tensor/ops.js';
import { batchNormTrain, groupNorm, lstmCell } from '../../src/tensor/ops.js';
import { Adam } from '../../src/train/optim.js';
import { maxAbsDiff } from '../helpers.js';

const rng = new Rng(123);
const rand = (shape: number[]) => rng.normalArray(shape.reduce((a, b) => a * b, 1));

/** Runs `f` on a backend and returns its outputs as plain arrays. */
async function on(name: BackendName, f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(name);
  const outs = tf.tidy(() => { const r = f(); return Array.isArray(r) ? r : [r]; });
  const arrays = outs.map((t) => t.dataSync() as Float32Array);
  outs.forEach((t) => t.dispose());
  return arrays;
}

async function expectSameAsCpu(backend: BackendName, f: () => tf.Tensor | tf.Tensor[], tol = 1e-4): Promise<void> {
  const want = await on('cpu', f);
  const got = await on(backend, f);
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const scale = want[i].reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    expect(maxAbsDiff(g, want[i]) / scale, `output ${i}`).toBeLessThan(tol);
  });
}

const original = backendInfo()!.backend;
afterAll(async () => { await useBackend(original); });

describe('wasm: UnsortedSegmentSum (the gradient of an embedding lookup)', () => {
  for (const [rows, inner, segs] of [[7, 1, 3], [50, 16, 10], [12, 5, 20]]) {
    it(`sums ${rows} rows of ${inner} into ${segs} segments, dropping out-of-range ids`, async () => {
      const x = rand([rows, inner]);
      const ids = Int32Array.from({ length: rows }, () => rng.int(segs + 2) - 1); // includes -1 and segs
      await expectSameAsCpu('wasm', () => tf.unsortedSegmentSum(tf.tensor2d(x, [rows, inner]), tf.tensor1d(ids, 'int32'), segs));
    });
  }
  it('gives the embedding gradient', async () => {
    const table = rand([11, 6]);
    const idx = Int32Array.from({ length: 30 }, () => rng.int(11));
    const w = rand([30, 6]);
    await expectSameAsCpu('wasm', () =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(idx, 'int32')), tf.tensor2d(w, [30, 6]))))(tf.tensor2d(table, [11, 6])));
  });
});

describe('wasm: Conv2DBackpropFilter', () => {
  const cases: { b: number; h: number; w: number; ci: number; co: number; f: number; s: number; pad: 'same' | 'valid' | number }[] = [
    { b: 1, h: 5, w: 5, ci: 1, co: 2, f: 3, s: 1, pad: 'same' },
    { b: 3, h: 8, w: 7, ci: 2, co: 3, f: 3, s: 2, pad: 'same' },
    { b: 2, h: 9, w: 9, ci: 3, co: 4, f: 4, s: 2, pad: 1 },
    { b: 4, h: 6, w: 6, ci: 2, co: 2, f: 2, s: 1, pad: 'valid' },
    { b: 2, h: 7, w: 5, ci: 1, co: 3, f: 1, s: 3, pad: 0 },
  ];
  for (const c of cases) {
    it(`matches cpu for batch ${c.b}, ${c.h}x${c.w}x${c.ci} -> ${c.co}, filter ${c.f}, stride ${c.s}, pad ${c.pad}`, async () => {
      const x = rand([c.b, c.h, c.w, c.ci]), k = rand([c.f, c.f, c.ci, c.co]);
      await expectSameAsCpu('wasm', () => {
        const xt = tf.tensor4d(x, [c.b, c.h, c.w, c.ci]), kt = tf.tensor4d(k, [c.f, c.f, c.ci, c.co]);
        // gradients of a weighted sum of the convolution with respect to input and filter
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad)));
        return tf.grads(f)([xt, kt]);
      });
    });
  }
  it('leaves dilated forward convolutions to the backend and agrees with cpu', async () => {
    const x = rand([2, 9, 9, 2]), k = rand([3, 3, 2, 3]);
    await expectSameAsCpu('wasm', () => tf.conv2d(tf.tensor4d(x, [2, 9, 9, 2]), tf.tensor4d(k, [3, 3, 2, 3]), 1, 'same', 'NHWC', 2));
  });
});

describe.runIf(nativeAvailable())('native: BLAS kernels', () => {
  // grad: false where tfjs-core itself has no gradient (broadcast batch dimensions)
  const mm: { a: number[]; b: number[]; ta: boolean; tb: boolean; grad?: false }[] = [
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [4, 5, 7], b: [4, 7, 3], ta: false, tb: false },
    { a: [2, 3, 6, 4], b: [2, 3, 6, 5], ta: true, tb: false },
    { a: [4, 5, 7], b: [7, 3], ta: false, tb: false, grad: false }, // broadcast b: folded into one GEMM
    { a: [5, 7], b: [4, 7, 3], ta: false, tb: false, grad: false }, // broadcast a
    { a: [4, 7, 5], b: [1, 7, 3], ta: true, tb: false, grad: false },
    { a: [1, 1], b: [1, 1], ta: false, tb: false },
  ];
  for (const c of mm) {
    it(`BatchMatMul ${c.a} x ${c.b} (transpose a ${c.ta}, b ${c.tb})${c.grad === false ? '' : ' and its gradients'}`, async () => {
      const a = rand(c.a), b = rand(c.b);
      await expectSameAsCpu('native', () => {
        const at = tf.tensor(a, c.a), bt = tf.tensor(b, c.b);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, c.ta, c.tb)));
        return [tf.matMul(at, bt, c.ta, c.tb), ...(c.grad === false ? [] : tf.grads(f)([at, bt]))];
      });
    });
  }
  it('_FusedMatMul with a bias (row and broadcast shapes) and its gradients', async () => {
    const a = rand([6, 8]), b = rand([8, 5]), bias = rand([5]), colBias = rand([6, 1]);
    await expectSameAsCpu('native', () => {
      const at = tf.tensor2d(a, [6, 8]), bt = tf.tensor2d(b, [8, 5]), ct = tf.tensor1d(bias);
      const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z })));
      return [
        tf.fused.matMul({ a: at, b: bt, bias: ct }),
        tf.fused.matMul({ a: at, b: bt, bias: tf.tensor2d(colBias, [6, 1]) }),
        tf.fused.matMul({ a: at, b: bt, bias: ct, activation: 'relu' }),
        ...tf.grads(f)([at, bt, ct]),
      ];
    });
  });
  const perms: [number[], number[]][] = [
    [[3, 4], [1, 0]], [[2, 3, 4], [0, 2, 1]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4, 5], [0, 2, 1, 3]],
    [[2, 3, 4, 5, 3], [2, 0, 3, 1, 4]], [[2, 1, 3, 1, 2, 3], [5, 4, 3, 2, 1, 0]], [[4, 5], [0, 1]],
  ];
  for (const [shape, perm] of perms) {
    it(`Transpose ${shape} by ${perm} and its gradient`, async () => {
      const x = rand(shape), w = rand(perm.map((p) => shape[p]));
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor(x, shape);
        return [tf.transpose(xt, perm), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.transpose(v, perm), tf.tensor(w, perm.map((p) => shape[p])))))(xt)];
      });
    });
  }
  const convs: { b: number; h: number; w: number; ci: number; co: number; f: number; s: number | [number, number]; pad: 'same' | 'valid' | number; d?: number }[] = [
    { b: 2, h: 8, w: 8, ci: 3, co: 4, f: 3, s: 1, pad: 1 },
    { b: 3, h: 9, w: 7, ci: 2, co: 5, f: 3, s: 2, pad: 'same' },
    { b: 2, h: 14, w: 14, ci: 4, co: 3, f: 4, s: 2, pad: 1 },
    { b: 1, h: 6, w: 6, ci: 5, co: 6, f: 1, s: 1, pad: 0 }, // pointwise: no im2col
    { b: 2, h: 7, w: 7, ci: 2, co: 3, f: 2, s: 1, pad: 'valid' },
    { b: 4, h: 16, w: 16, ci: 8, co: 6, f: 3, s: 1, pad: 1 }, // large enough for the two-thread im2col/col2im
    { b: 21, h: 16, w: 16, ci: 3, co: 4, f: 3, s: 1, pad: 1 }, // more than one block of 4,096 output rows
    { b: 2, h: 9, w: 9, ci: 2, co: 2, f: 3, s: 1, pad: 'same', d: 2 }, // dilated (forward only: tfjs has no dilated filter gradient)
    // channel counts in multiples of 16 take the direct (register-tiled, no im2col) kernels
    { b: 2, h: 8, w: 8, ci: 16, co: 32, f: 3, s: 1, pad: 1 },
    { b: 3, h: 10, w: 6, ci: 32, co: 16, f: 3, s: 1, pad: 'same' },
    { b: 2, h: 9, w: 11, ci: 3, co: 48, f: 3, s: 2, pad: 'same' }, // strided forward and filter gradient; input gradient by im2col
    { b: 2, h: 6, w: 7, ci: 80, co: 80, f: 1, s: 1, pad: 0 }, // pointwise, 4 + 1 vectors of channels
    { b: 2, h: 7, w: 9, ci: 16, co: 64, f: 2, s: 1, pad: 'valid' },
    { b: 2, h: 9, w: 9, ci: 16, co: 16, f: 3, s: 1, pad: 'same', d: 2 },
    { b: 3, h: 8, w: 9, ci: 32, co: 1, f: 3, s: 1, pad: 1 }, // fewer output channels than a vector: vectors along the input
    { b: 2, h: 7, w: 6, ci: 16, co: 3, f: 3, s: 2, pad: 'same' },
    { b: 2, h: 6, w: 5, ci: 80, co: 2, f: 3, s: 1, pad: 1 }, // narrow, 4 + 1 vectors of input channels
    { b: 4, h: 16, w: 16, ci: 32, co: 1, f: 3, s: 1, pad: 1 }, // narrow, large enough to split across threads
    { b: 2, h: 8, w: 8, ci: 3, co: 96, f: 3, s: 1, pad: 1 }, // 96 outputs over a short inner dimension: direct
    // the direct kernels treat taps outside the input as zeros (no padded copy): borders of every kind
    { b: 2, h: 3, w: 4, ci: 16, co: 32, f: 5, s: 1, pad: 2 }, // every pixel a border pixel
    { b: 2, h: 9, w: 10, ci: 16, co: 16, f: 4, s: 2, pad: 'same' }, // asymmetric padding, stride 2
    { b: 1, h: 20, w: 23, ci: 16, co: 64, f: 3, s: 1, pad: 1 }, // full tiles between the borders
    { b: 2, h: 11, w: 11, ci: 16, co: 32, f: 3, s: 1, pad: 'same', d: 3 }, // dilated borders
    // from 10 output columns the forward (and the input gradient) pad the columns into scratch: all wide tiles
    { b: 2, h: 5, w: 16, ci: 32, co: 16, f: 5, s: 1, pad: 2 }, // two columns of padding each side, both ways
    { b: 2, h: 7, w: 21, ci: 16, co: 48, f: 3, s: 2, pad: 'same' }, // strided, 11 columns
    { b: 2, h: 4, w: 16, ci: 80, co: 80, f: 3, s: 1, pad: 1 }, // many channels over a long inner dimension, but 16 wide: direct on AVX2
    { b: 1, h: 3, w: 16, ci: 96, co: 96, f: 3, s: 1, pad: 1 }, // the same, its input gradient direct too
    { b: 2, h: 6, w: 20, ci: 16, co: 16, f: 3, s: 2, pad: 'same' }, // 'same' padding on the right only, 10 columns
    { b: 2, h: 6, w: 12, ci: 16, co: 16, f: 4, s: 1, pad: 'same' }, // uneven 'same' padding (1 left, 2 right)
    { b: 1, h: 5, w: 33, ci: 16, co: 16, f: 3, s: 3, pad: 1 }, // the padded copy drops input columns no tap reads
    { b: 2, h: 4, w: 16, ci: 16, co: 8, f: 3, s: 1, pad: 1 }, // one vector of output channels (AVX2)
    { b: 1, h: 97, w: 1, ci: 16, co: 16, f: 1, s: 1, pad: 0 }, // a 1x1 convolution regrouped: 97 pixels, no divisor up to 96
    { b: 3, h: 8, w: 8, ci: 16, co: 32, f: 1, s: 1, pad: 0 }, // a 1x1 convolution regrouped into rows of 96 pixels
    // the acoustic model's front end: strides 1 in time, 2 across the mel bands
    { b: 2, h: 12, w: 40, ci: 1, co: 16, f: 3, s: [1, 2], pad: 'same' },
    { b: 2, h: 12, w: 20, ci: 16, co: 16, f: 3, s: [1, 2], pad: 'same' },
  ];
  for (const c of convs) {
    it(`Conv2D batch ${c.b} ${c.h}x${c.w}x${c.ci} -> ${c.co}, filter ${c.f}, stride ${c.s}, pad ${c.pad}, dilation ${c.d ?? 1}${c.d ? '' : ', with gradients'}`, async () => {
      const x = rand([c.b, c.h, c.w, c.ci]), k = rand([c.f, c.f, c.ci, c.co]);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor4d(x, [c.b, c.h, c.w, c.ci]), kt = tf.tensor4d(k, [c.f, c.f, c.ci, c.co]);
        const y = tf.conv2d(xt, kt, c.s, c.pad, 'NHWC', c.d ?? 1);
        if (c.d) return [y];
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad)));
        return [y, ...tf.grads(f)([xt, kt])];
      });
    });
  }
  for (const [shape, size] of [[[2, 4, 5, 3], [8, 10]], [[3, 5, 4, 2], [7, 9]], [[1, 6, 6, 4], [4, 3]]] as [number[], [number, number]][]) {
    it(`nearest-neighbour resize of ${shape} to ${size} and its gradient`, async () => {
      const x = rand(shape), w = rand([shape[0], ...size, shape[3]]);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor4d(x, shape as [number, number, number, number]);
        const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(v as tf.Tensor4D, size), tf.tensor(w, [shape[0], ...size, shape[3]])));
        return [tf.image.resizeNearestNeighbor(xt, size), tf.grad(f)(xt)];
      });
    });
  }
  it("cpu's nearest-resize gradient (genlab's correction of tfjs-cpu) equals that of the same resize as two gathers, batch > 1", async () => {
    const x = rand([3, 5, 4, 2]);
    for (const [size, alignCorners, halfPixelCenters] of [[[10, 8], false, false], [[7, 9], false, false], [[7, 9], true, false], [[7, 9], false, true], [[3, 2], false, true]] as [[number, number], boolean, boolean][]) {
      const w = rand([3, ...size, 2]);
      const diffs = await on('cpu', () => {
        const xt = tf.tensor4d(x, [3, 5, 4, 2]), wt = tf.tensor(w, [3, ...size, 2]);
        const rows = tf.tensor1d(nearestSources(5, size[0], alignCorners, halfPixelCenters), 'int32');
        const cols = tf.tensor1d(nearestSources(4, size[1], alignCorners, halfPixelCenters), 'int32');
        const byResize = (v: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(v as tf.Tensor4D, size, alignCorners, halfPixelCenters), wt));
        const byGather = (v: tf.Tensor) => tf.sum(tf.mul(tf.gather(tf.gather(v, rows, 1), cols, 2), wt));
        return [tf.sub(tf.image.resizeNearestNeighbor(xt, size, alignCorners, halfPixelCenters), tf.gather(tf.gather(xt, rows, 1), cols, 2)), tf.sub(tf.grad(byResize)(xt), tf.grad(byGather)(xt))];
      });
      diffs.forEach((d, i) => expect(Math.max(...Array.from(d).map(Math.abs)), `${size} ${alignCorners} ${halfPixelCenters} output ${i}`).toBeLessThan(1e-5));
    }
  });
  it('upsample2 (the UNet\'s) and its gradient agree between cpu and native', async () => {
    const x = rand([3, 4, 5, 2]), w = rand([3, 8, 10, 2]);
    await expectSameAsCpu('native', () => {
      const xt = tf.tensor4d(x, [3, 4, 5, 2]);
      return [upsample2(xt), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(upsample2(v as tf.Tensor4D), tf.tensor4d(w, [3, 8, 10, 2]))))(xt)];
    });
  });
  it('the acoustic front end\'s convolution (bias fused, strides [1, 2], \'same\') and its gradients', async () => {
    const x = rand([2, 12, 20, 8]), k = rand([3, 3, 8, 16]), bias = rand([16]);
    await expectSameAsCpu('native', () => {
      const xt = tf.tensor4d(x, [2, 12, 20, 8]), kt = tf.tensor4d(k, [3, 3, 8, 16]), bt = tf.tensor1d(bias);
      const f = (u: tf.Tensor, v: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.fused.conv2d({ x: u as tf.Tensor4D, filter: v as tf.Tensor4D, strides: [1, 2], pad: 'same', bias: w })));
      return [tf.fused.conv2d({ x: xt, filter: kt, strides: [1, 2], pad: 'same', bias: bt }), ...tf.grads(f)([xt, kt, bt])];
    });
  });
  // direct (OC 32), narrow (OC 3) and im2col (OC 96 over 128 inputs) paths, stride 1 and 2, and a 1x1 (not regrouped: the bias is found by image)
  for (const [b, h, ci, co, s, kk] of [[3, 8, 16, 32, 1, 3], [2, 7, 32, 3, 1, 3], [2, 6, 128, 96, 1, 3], [3, 9, 16, 32, 2, 3], [3, 8, 16, 32, 1, 1]]) {
    it(`convolution with a bias per image (${b}x${h}x${h}x${ci} -> ${co}, filter ${kk}, stride ${s}) and its gradients, native and wasm`, async () => {
      const pad = (kk - 1) / 2, x = rand([b, h, h, ci]), k = rand([kk, kk, ci, co]), bias = rand([b, co]);
      for (const backend of ['native', 'wasm'] as const) {
        await expectSameAsCpu(backend, () => {
          const xt = tf.tensor4d(x, [b, h, h, ci]), kt = tf.tensor4d(k, [kk, kk, ci, co]), bt = tf.tensor2d(bias, [b, co]);
          const f = (u: tf.Tensor, v: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(conv2dImageBias(u as tf.Tensor4D, v as tf.Tensor4D, w as tf.Tensor2D, s, pad)));
          // the reference: the same convolution, then the bias added as a broadcast
          const y = conv2dImageBias(xt, kt, bt, s, pad);
          const ref = tf.add(tf.conv2d(xt, kt, s, pad as unknown as 'same'), tf.reshape(bt, [b, 1, 1, co]));
          return [y, tf.sub(y, ref), ...tf.grads(f)([xt, kt, bt])];
        });
      }
    });
  }
  // direct (OC 32), narrow (OC 3), im2col (OC 96 over 128 inputs), pointwise, strided, direct on padded columns (16 wide)
  for (const [b, h, ci, co, k, s] of [[3, 8, 16, 32, 3, 1], [2, 7, 32, 3, 3, 1], [2, 6, 128, 96, 3, 1], [2, 5, 32, 64, 1, 1], [3, 9, 16, 32, 3, 2], [2, 16, 24, 64, 3, 1]]) {
    it(`convolution plus a residual addend (${b}x${h}x${h}x${ci} -> ${co}, filter ${k}, stride ${s}) and its gradients`, async () => {
      const pad = (k - 1) / 2, oh = Math.floor((h + 2 * pad - k) / s) + 1;
      const x = rand([b, h, h, ci]), w = rand([k, k, ci, co]), bias = rand([co]), r = rand([b, oh, oh, co]), m = rand([b, oh, oh, co]);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor4d(x, [b, h, h, ci]), wt = tf.tensor4d(w, [k, k, ci, co]), bt = tf.tensor1d(bias), rt = tf.tensor4d(r, [b, oh, oh, co]);
        const f = (u: tf.Tensor, v: tf.Tensor, z: tf.Tensor, a: tf.Tensor) => tf.sum(tf.mul(conv2dAdd(u as tf.Tensor4D, v as tf.Tensor4D, z as tf.Tensor1D, a as tf.Tensor4D, s, pad), tf.tensor(m, [b, oh, oh, co])));
        return [conv2dAdd(xt, wt, bt, rt, s, pad), ...tf.grads(f)([xt, wt, bt, rt])];
      });
    });
  }
  // the clip denoiser's temporal convolution: frames as the rows of a [T, H*W] image, a [3, 1] kernel, 'same' padding in T only
  for (const [b, t, hw, c] of [[2, 16, 64, 16], [1, 16, 16, 48], [2, 5, 7, 3]]) {
    it(`a [3, 1] temporal convolution plus its residual (${b}x${t}x${hw}x${c}) and its gradients`, async () => {
      const x = rand([b, t, hw, c]), w = rand([3, 1, c, c]), bias = rand([c]), r = rand([b, t, hw, c]), m = rand([b, t, hw, c]);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor4d(x, [b, t, hw, c]), wt = tf.tensor4d(w, [3, 1, c, c]), bt = tf.tensor1d(bias), rt = tf.tensor4d(r, [b, t, hw, c]);
        const f = (u: tf.Tensor, v: tf.Tensor, z: tf.Tensor, a: tf.Tensor) => tf.sum(tf.mul(conv2dAdd(u as tf.Tensor4D, v as tf.Tensor4D, z as tf.Tensor1D, a as tf.Tensor4D, 1, 'same'), tf.tensor(m, [b, t, hw, c])));
        return [conv2dAdd(xt, wt, bt, rt, 1, 'same'), ...tf.grads(f)([xt, wt, bt, rt])];
      });
    });
  }
  it("a convolution of data computes the filter's and bias's gradients only, equal to the fused convolution's", async () => {
    const x = rand([3, 9, 9, 1]), w = rand([3, 3, 1, 32]), bias = rand([32]), m = rand([3, 9, 9, 32]);
    for (const backend of ['native', 'cpu'] as const) {
      const [y, gw, gb, y2, gw2, gb2] = await on(backend, () => {
        const xt = tf.tensor4d(x, [3, 9, 9, 1]), wt = tf.tensor4d(w, [3, 3, 1, 32]), bt = tf.tensor1d(bias), mt = tf.tensor4d(m, [3, 9, 9, 32]);
        // the input made inside the differentiated function, as a training step makes its noisy images
        const onData = (v: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(conv2dOnData(tf.mul(xt, 1) as tf.Tensor4D, v as tf.Tensor4D, z as tf.Tensor1D, 1, 1), mt));
        const fused = (v: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(tf.fused.conv2d({ x: xt, filter: v as tf.Tensor4D, strides: 1, pad: 1 as unknown as 'same', bias: z }), mt));
        return [conv2dOnData(xt, wt, bt, 1, 1), ...tf.grads(onData)([wt, bt]), tf.fused.conv2d({ x: xt, filter: wt, strides: 1, pad: 1 as unknown as 'same', bias: bt }), ...tf.grads(fused)([wt, bt])];
      });
      expect(maxAbsDiff(y, y2)).toBeLessThan(1e-5);
      expect(maxAbsDiff(gw, gw2)).toBeLessThan(1e-3);
      expect(maxAbsDiff(gb, gb2)).toBeLessThan(1e-3);
    }
  });
  it('transposed convolution (k 4, stride 2, padding 1) and its gradients', async () => {
    const x = rand([2, 7, 7, 6]), k = rand([4, 4, 3, 6]);
    await expectSameAsCpu('native', () => {
      const xt = tf.tensor4d(x, [2, 7, 7, 6]), kt = tf.tensor4d(k, [4, 4, 3, 6]);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 14, 14, 3], 2, 1 as unknown as 'same')));
      return [tf.conv2dTranspose(xt, kt, [2, 14, 14, 3], 2, 1 as unknown as 'same'), ...tf.grads(f)([xt, kt])];
    });
  });
  const sums: [number[], number[] | number, boolean][] = [
    [[6, 5], 0, false], [[6, 5], 1, true], [[4, 3, 5], [0, 1], false], [[4, 3, 5], [1, 2], true], [[2, 3, 4, 5], [1, 2], false],
    [[7], 0, false], [[2, 3, 4], [0, 2], false], // non-adjacent axes: left to the wasm kernel
  ];
  for (const [shape, axis, keep] of sums) {
    it(`Sum and Mean of ${shape} over ${axis} (keepDims ${keep}) and their gradients`, async () => {
      const x = rand(shape);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor(x, shape);
        return [
          tf.sum(xt, axis, keep), tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.sum(v, axis, keep))))(xt),
          tf.mean(xt, axis, keep), tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.mean(v, axis, keep))))(xt),
        ];
      });
    });
  }
  const slices: [number[], number[], number[]][] = [
    [[6, 5], [2, 0], [3, 5]], [[6, 5], [1, 2], [4, 2]], [[4, 3, 5], [1, 0, 0], [2, 3, 5]], [[4, 3, 5], [0, 1, 2], [4, 2, 3]],
    [[2, 3, 4, 5], [1, 1, 0, 1], [1, 2, 4, 3]], [[7], [3], [2]],
    [[6, 40, 40, 32], [1, 2, 3, 4], [5, 36, 30, 20]], // large enough to split across threads
  ];
  for (const [shape, begin, size] of slices) {
    it(`Slice of ${shape} at ${begin} size ${size}, with its gradient`, async () => {
      const x = rand(shape);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor(x, shape);
        return [tf.slice(xt, begin, size), tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.slice(v, begin, size))))(xt)];
      });
    });
  }
  const concats: [number[][], number][] = [[[[2, 3, 4], [2, 3, 1], [2, 3, 5]], 2], [[[2, 3, 4], [1, 3, 4]], 0], [[[4, 1, 3], [4, 2, 3], [4, 0, 3]], 1], [[[5], [3]], 0], [[[64, 7, 7, 1], [64, 7, 7, 10]], 3], [[[8, 16, 16, 48], [8, 16, 16, 32]], 3]];
  for (const [shapes, axis] of concats) {
    it(`Concat of ${shapes.map((s) => `[${s}]`).join(' ')} along axis ${axis}, with gradients`, async () => {
      const xs = shapes.map(rand);
      const outShape = [...shapes[0]];
      outShape[axis] = shapes.reduce((n, s) => n + s[axis], 0);
      const w = rand(outShape);
      await expectSameAsCpu('native', () => {
        const ts = xs.map((x, i) => tf.tensor(x, shapes[i]));
        const f = (...a: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(a, axis), tf.tensor(w, outShape)));
        return [tf.concat(ts, axis), ...tf.grads(f)(ts)];
      });
    });
  }
  for (const axis of [0, 1, 2]) {
    it(`unstack and split along axis ${axis}, with gradients`, async () => {
      const x = rand([4, 6, 3]), w = rand([4, 6, 3]);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor3d(x, [4, 6, 3]);
        const f = (v: tf.Tensor) => tf.addN(tf.unstack(tf.mul(v, tf.tensor3d(w, [4, 6, 3])), axis).map((t, i) => tf.mul(tf.sum(t), i + 1)));
        const sizes = [[1, 3], [1, 2, 3], [2, 1]][axis];
        const g = (v: tf.Tensor) => tf.addN(tf.split(v, sizes, axis).map((t, i) => tf.sum(tf.mul(t, i + 1))));
        return [...tf.unstack(xt, axis), ...tf.split(xt, sizes, axis), tf.grad(f)(xt), tf.grad(g)(xt)];
      });
    });
  }
  // H 24: one vector of 16 hidden units and 8 single ones
  for (const H of [5, 24]) it(`LSTM cell with ${H} hidden units (fused kernel) equals the composite cell on cpu, gradients included`, async () => {
    const B = 3, wide = (a: Float32Array) => a.map((v) => v * 6 - 3);
    const xw = wide(rand([B, 4 * H])), hw = rand([B, 4 * H]), c = wide(rand([B, H])), wh = rand([B, H]), wc = rand([B, H]);
    await expectSameAsCpu('native', () => {
      const ts = [tf.tensor2d(xw, [B, 4 * H]), tf.tensor2d(hw, [B, 4 * H]), tf.tensor2d(c, [B, H])] as tf.Tensor2D[];
      const f = (a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor) => {
        const r = lstmCell(a as tf.Tensor2D, b as tf.Tensor2D, cc as tf.Tensor2D);
        return tf.add(tf.sum(tf.mul(r.h, tf.tensor2d(wh, [B, H]))), tf.sum(tf.mul(r.c, tf.tensor2d(wc, [B, H]))));
      };
      const r = lstmCell(ts[0], ts[1], ts[2]);
      return [r.h, r.c, ...tf.grads(f)(ts)];
    }, 1e-5);
  });
  // the third shape is large enough for the kernels' two-thread path; the fourth mixes vectors of 16 channels and single ones
  for (const [silu, shape, groups] of [[false, [2, 5, 4, 12], 3], [true, [2, 5, 4, 12], 3], [true, [5, 32, 32, 16], 8], [true, [3, 8, 8, 40], 8]] as [boolean, [number, number, number, number], number][]) {
    it(`GroupNorm${silu ? ' + SiLU' : ''} over ${shape} in ${groups} groups (fused kernel) equals the composite on cpu, gradients included`, async () => {
      const x = rand(shape).map((v) => v * 2 + 0.5), g = rand([shape[3]]), b = rand([shape[3]]), w = rand(shape);
      await expectSameAsCpu('native', () => {
        const ts = [tf.tensor4d(x, shape), tf.tensor1d(g), tf.tensor1d(b)];
        const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(groupNorm(a as tf.Tensor4D, gg, bb, groups, { silu }), tf.tensor4d(w, shape)));
        return [groupNorm(ts[0] as tf.Tensor4D, ts[1], ts[2], groups, { silu }), ...tf.grads(f)(ts)];
      }, 1e-4);
    });
  }
  it('GroupNorm + leaky ReLU (fused kernel) equals the composite on cpu, gradients included', async () => {
    const shape: [number, number, number, number] = [3, 4, 5, 32];
    const x = rand(shape), g = rand([32]), b = rand([32]), w = rand(shape);
    await expectSameAsCpu('native', () => {
      const ts = [tf.tensor4d(x, shape), tf.tensor1d(g), tf.tensor1d(b)];
      const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(groupNorm(a as tf.Tensor4D, gg, bb, 4, { leaky: 0.2 }), tf.tensor4d(w, shape)));
      return [groupNorm(ts[0] as tf.Tensor4D, ts[1], ts[2], 4, { leaky: 0.2 }), ...tf.grads(f)(ts)];
    });
  });
  for (const [shape, leaky] of [[[64, 40], 0], [[6, 7, 7, 48], 0.2], [[5, 3, 3, 20], undefined]] as [number[], number | undefined][]) {
    it(`batch norm of ${shape} in training mode${leaky === undefined ? '' : ` + leaky ReLU ${leaky}`} (fused kernel) equals the composite on cpu, gradients and batch statistics included`, async () => {
      const C = shape[shape.length - 1];
      const x = rand(shape).map((v) => v * 3 - 1), g = rand([C]), b = rand([C]), w = rand(shape);
      await expectSameAsCpu('native', () => {
        const ts = [tf.tensor(x, shape), tf.tensor1d(g), tf.tensor1d(b)];
        const stats: tf.Tensor[] = [];
        const y = batchNormTrain(ts[0], ts[1], ts[2], { leaky, onBatchStats: (m, v) => stats.push(m, v) });
        const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, gg, bb, { leaky }), tf.tensor(w, shape)));
        return [y, ...stats, ...tf.grads(f)(ts)];
      });
    });
  }
  it('leaky ReLU and its gradient (one kernel each) equal the composite on cpu, zeros included', async () => {
    const x = rand([6, 7, 9]).map((v, i) => (i % 5 === 0 ? 0 : v * 2 - 1)), w = rand([6, 7, 9]);
    await expectSameAsCpu('native', () => {
      const xt = tf.tensor3d(x, [6, 7, 9]);
      return [tf.leakyRelu(xt, 0.2), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.2), tf.tensor3d(w, [6, 7, 9]))))(xt)];
    });
    // the gradient by hand: w where x > 0, 0.2 w elsewhere
    await useBackend('native');
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.2), tf.tensor3d(w, [6, 7, 9]))))(tf.tensor3d(x, [6, 7, 9])).dataSync();
    expect(maxAbsDiff(g, x.map((v, i) => (v > 0 ? w[i] : 0.2 * w[i])))).toBeLessThan(1e-6);
  });
  for (const shape of [[6, 5, 128], [9, 24], [3, 2, 4, 37]]) {
    it(`LayerNorm (GroupNorm's kernel, one group per row) of ${shape} and its gradients`, async () => {
      const C = shape[shape.length - 1], x = rand(shape).map((v, i) => v * 2 + (i % 3)), g = rand([C]), b = rand([C]), w = rand(shape);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor(x, shape), gt = tf.tensor1d(g), bt = tf.tensor1d(b), wt = tf.tensor(w, shape);
        const f = (u: tf.Tensor, v: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(layerNorm(u, v, z), wt));
        return [layerNorm(xt, gt, bt), ...tf.grads(f)([xt, gt, bt])];
      });
    });
  }
  // [..., Tn, T] with the first query at pos0: a training block, a KV-cache step, a chunk after a prefix, a threaded split
  for (const [shape, pos0] of [[[2, 3, 8, 8], 0], [[2, 4, 1, 37], 36], [[3, 5, 37], 32], [[12, 4, 64, 64], 0]] as [number[], number][]) {
    it(`causal softmax of ${shape} from position ${pos0} and its gradient`, async () => {
      const x = rand(shape).map((v) => v * 4), w = rand(shape);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor(x, shape), wt = tf.tensor(w, shape);
        return [causalSoftmax(xt, 0.3, pos0), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(causalSoftmax(v, 0.3, pos0), wt)))(xt)];
      });
    });
  }
  for (const [rows, cols, scale] of [[7, 33, 3], [101, 71, 10]]) {
    it(`GELU (fused kernel) equals the erf formula on cpu, gradient included (${rows}x${cols}, |x| up to ${scale * 2})`, async () => {
      const x = rand([rows, cols]).map((v) => v * scale);
      await expectSameAsCpu('native', () => {
        const xt = tf.tensor2d(x, [rows, cols]);
        return [gelu(xt), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(gelu(v), v)))(xt)];
      }, 1e-5);
    });
  }
  it('Identity shares the buffer: a clone is the same data, and outlives its source', async () => {
    await useBackend('native');
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    expect(b.dataId).toBe(a.dataId); // wasm's own Identity copies into a new buffer
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
  });
  it('in-place Adam and AdamW updates equal the tensor-op updates on cpu', async () => {
    const p0 = rand([4, 6]), grads = [rand([4, 6]), rand([4, 6]), rand([4, 6])];
    const runAdam = async (name: BackendName, kind: 'adam' | 'adamw') => {
      await useBackend(name);
      expect(inPlaceOps() !== undefined).toBe(name === 'native'); // the in-place path is the one under test
      const p = ownVariable(tf.tensor2d(p0, [4, 6]), true);
      const opt = new Adam(new Map([['w', p]]), ['w'], new Set(['w']), { kind, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
      for (const g of grads) {
        const gt = tf.tensor2d(g, [4, 6]);
        opt.apply({ w: gt }, 1e-2, 0.5);
        gt.dispose();
      }
      const out = Float32Array.from(p.dataSync());
      opt.dispose(); p.dispose();
      return out;
    };
    for (const kind of ['adam', 'adamw'] as const) {
      const want = await runAdam('cpu', kind), got = await runAdam('native', kind);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    }
  });
  it('1024x1024 product agrees with wasm to float32 tolerance', async () => {
    const a = rand([1024, 1024]), b = rand([1024, 1024]);
    const f = () => tf.matMul(tf.tensor2d(a, [1024, 1024]), tf.tensor2d(b, [1024, 1024]));
    const w = await on('wasm', f), n = await on('native', f);
    expect(maxAbsDiff(w[0], n[0])).toBeLessThan(1e-3);
  });
});
