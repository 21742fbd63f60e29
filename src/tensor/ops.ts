// Ops that have a fused kernel on some backends and a composite form everywhere.
import * as tf from '@tensorflow/tfjs-core';

import { nativeKernelsActive } from './native.js';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** GELU, exact form 0.5 x (1 + erf(x / sqrt 2)) as PyTorch's F.gelu (Hendrycks & Gimpel 2016). */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && hasKernel('GenlabGelu') && hasKernel('GenlabGeluGrad')) {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as tf.Tensor, save = args[1] as tf.GradSaveFunc;
      save([input]);
      return {
        value: tf.engine().runKernel('GenlabGelu', { x: input }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel('GenlabGeluGrad', { x: saved[0], dy }) as tf.Tensor,
      };
    });
    return f(x);
  }
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/**
 * One LSTM step from its two gate projections xw and hw [B, 4H] (gate order i, f, g, o as in
 * PyTorch) and the previous cell state c [B, H]: one fused kernel (forward and backward) where
 * the backend has it, about a dozen ops otherwise.
 */
export function lstmCell(xw: tf.Tensor2D, hw: tf.Tensor2D, c: tf.Tensor2D): { h: tf.Tensor2D; c: tf.Tensor2D } {
  const H = c.shape[1];
  if (hasKernel('GenlabLstmCell')) {
    // A kernel with three outputs (h, c, saved activations); its gradient is registered with it.
    const [h2, c2] = tf.engine().runKernel('GenlabLstmCell', { xw, hw, c }) as tf.Tensor2D[];
    return { h: h2, c: c2 };
  }
  const [i, fg, g, o] = tf.split(tf.add(xw, hw), [H, H, H, H], 1);
  const c2 = tf.add(tf.mul(tf.sigmoid(fg), c), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
  return { h: tf.mul(tf.sigmoid(o), tf.tanh(c2)) as tf.Tensor2D, c: c2 };
}

/** What follows a normalisation inside its fused kernel: SiLU, or a leaky ReLU of slope `leaky` (0: ReLU). */
export interface NormActivation {
  silu?: boolean;
  leaky?: number;
}

function activationAttrs(a: NormActivation): { act: number; alpha: number } {
  if (a.silu && a.leaky !== undefined) throw new Error('a normalisation takes one activation: silu or leaky');
  return a.silu ? { act: 1, alpha: 0 } : a.leaky !== undefined ? { act: 2, alpha: a.leaky } : { act: 0, alpha: 0 };
}

/** The composite form of a NormActivation. */
export function activate(z: tf.Tensor, a: NormActivation): tf.Tensor {
  if (a.silu) return tf.mul(z, tf.sigmoid(z));
  if (a.leaky === undefined) return z;
  return a.leaky === 0 ? tf.relu(z) : tf.leakyRelu(z, a.leaky);
}

/**
 * GroupNorm (Wu & He 2018) over NHWC with `groups` groups of channels, optionally followed by an
 * activation: one fused kernel (forward and backward) where the backend has it.
 */
export function groupNorm(x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, groups: number, opts: { eps?: number } & NormActivation = {}): tf.Tensor4D {
  const eps = opts.eps ?? 1e-5;
  const [B, H, W, C] = x.shape;
  if (C % groups !== 0) throw new Error(`groupNorm: ${C} channels do not split into ${groups} groups`);
  if (hasKernel('GenlabGroupNorm') && x.dtype === 'float32') {
    return (tf.engine().runKernel('GenlabGroupNorm', { x, gamma: g, beta: b }, { groups, eps, ...activationAttrs(opts) }) as tf.Tensor[])[0] as tf.Tensor4D;
  }
  const xg = tf.reshape(x, [B, H, W, groups, C / groups]);
  const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
  const n = tf.reshape(tf.mul(tf.sub(xg, mean), tf.rsqrt(tf.add(variance, eps))), [B, H, W, C]);
  return activate(tf.add(tf.mul(n, g), b), opts) as tf.Tensor4D;
}

/**
 * Layer normalisation over the last axis (PyTorch's nn.LayerNorm): GroupNorm's kernel with one
 * group of C channels at one position per row where the backend has it (one kernel forward and
 * one backward instead of about ten ops each), the composite form otherwise.
 */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  const C = x.shape[x.rank - 1], n = x.size / C;
  if (hasKernel('GenlabGroupNorm') && x.dtype === 'float32') {
    const [y] = tf.engine().runKernel('GenlabGroupNorm', { x: tf.reshape(x, [n, 1, 1, C]), gamma: g, beta: b }, { groups: 1, eps, ...activationAttrs({}) }) as tf.Tensor[];
    return tf.reshape(y, x.shape);
  }
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
}

/**
 * Batch normalisation with the batch's statistics over every axis but the last, then an optional
 * activation. The fused kernel is GroupNorm's: one item of N positions with one channel per group.
 * `onBatchStats` receives the batch's mean and unbiased variance [C] (for running averages).
 */
export function batchNormTrain(
  x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, opts: { eps?: number; onBatchStats?(mean: tf.Tensor, variance: tf.Tensor): void } & NormActivation = {},
): tf.Tensor {
  const eps = opts.eps ?? 1e-5, C = x.shape[x.rank - 1], n = x.size / C;
  if (hasKernel('GenlabGroupNorm') && x.dtype === 'float32') {
    const [y, stats] = tf.engine().runKernel('GenlabGroupNorm', { x: tf.reshape(x, [1, n, 1, C]), gamma: g, beta: b }, { groups: C, eps, ...activationAttrs(opts) }) as tf.Tensor[];
    if (opts.onBatchStats) {
      const [mean, rstd] = tf.split(tf.reshape(stats, [C, 2]), 2, 1);
      opts.onBatchStats(tf.reshape(mean, [C]), tf.reshape(tf.mul(tf.sub(tf.reciprocal(tf.square(rstd)), eps), n / Math.max(1, n - 1)), [C]));
    }
    return tf.reshape(y, x.shape);
  }
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const { mean, variance } = tf.moments(x, axes, true);
  if (opts.onBatchStats) opts.onBatchStats(tf.reshape(mean, [-1]), tf.reshape(tf.mul(variance, n / Math.max(1, n - 1)), [-1]));
  return activate(tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b), opts);
}

/**
 * Conv2d (symmetric padding `pad`) plus a bias per image and channel, bias [B, OC] (a UNet's
 * convolution bias plus its time embedding): one kernel on the native and cpu backends, whose
 * fused convolution takes a bias broadcast over the pixels; added after the convolution on wasm,
 * whose FusedConv2D takes only [OC].
 */
export function conv2dImageBias(x: tf.Tensor4D, w: tf.Tensor4D, bias: tf.Tensor2D, stride: number, pad: number): tf.Tensor4D {
  const b4 = tf.reshape(bias, [bias.shape[0], 1, 1, bias.shape[1]]);
  const backend = tf.getBackend();
  if (bias.shape[0] === x.shape[0] && (backend === 'cpu' || (backend === 'wasm' && nativeKernelsActive()))) {
    return tf.fused.conv2d({ x, filter: w, strides: stride, pad: pad as unknown as 'same', bias: b4 });
  }
  return tf.add(tf.fused.conv2d({ x, filter: w, strides: stride, pad: pad as unknown as 'same' }), b4);
}

/**
 * conv2d(x, w) + b + addend (symmetric padding `pad`): a residual connection in the convolution's
 * own pass where the backend has the kernel (the output tile starts from the addend), a
 * convolution then an Add otherwise.
 */
export function conv2dAdd(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, addend: tf.Tensor4D, stride: number, pad: number | 'same'): tf.Tensor4D {
  if (hasKernel('GenlabConv2DAdd') && x.dtype === 'float32' && b.rank === 1) {
    const c = tf.backend_util.computeConv2DInfo(x.shape, w.shape, stride, 1, pad);
    if (tf.util.arraysEqual([c.batchSize, c.outHeight, c.outWidth, c.outChannels], addend.shape)) {
      return tf.engine().runKernel('GenlabConv2DAdd', { x, filter: w, bias: b, addend }, { strides: stride, pad }) as tf.Tensor4D;
    }
  }
  return tf.add(tf.fused.conv2d({ x, filter: w, strides: stride, pad: pad as unknown as 'same', bias: b }), addend);
}

/**
 * Attention weights: softmax(scale * scores) over the last axis, where query i (axis -2) sees the
 * keys j <= pos0 + i only (a causal mask; pos0 is the position of the first query). One kernel
 * each way where the backend has it; scale, an additive mask and softmax otherwise.
 */
export function causalSoftmax(scores: tf.Tensor, scale: number, pos0: number): tf.Tensor {
  const [Tn, T] = scores.shape.slice(-2);
  if (hasKernel('GenlabCausalSoftmax') && hasKernel('GenlabCausalSoftmaxGrad') && scores.dtype === 'float32') {
    return tf.engine().runKernel('GenlabCausalSoftmax', { x: scores }, { scale, pos0 }) as tf.Tensor;
  }
  // -Infinity, not a large negative number: logits of 1e10 would see through a -1e9 mask
  const seen = new Uint8Array(Tn * T);
  for (let i = 0; i < Tn; i++) for (let j = 0; j <= Math.min(T - 1, pos0 + i); j++) seen[i * T + j] = 1;
  const scaled = tf.mul(scores, scale);
  return tf.softmax(tf.where(tf.broadcastTo(tf.tensor2d(seen, [Tn, T], 'bool'), scaled.shape), scaled, tf.fill(scaled.shape, -Infinity)));
}

/**
 * Conv2d + bias (symmetric padding `pad`) of an input that takes no gradient, the network's data:
 * tfjs's fused convolution computes the input's gradient along with the others; this computes
 * only the filter's and the bias's.
 */
export function conv2dOnData(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, stride: number, pad: number): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const filter = args[0] as tf.Tensor4D, bias = args[1] as tf.Tensor1D, save = args[2] as tf.GradSaveFunc;
    save([x]); // kept for the backward pass (the forward pass's scope disposes what it made)
    return {
      value: tf.fused.conv2d({ x, filter, strides: stride, pad: pad as unknown as 'same', bias }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.engine().runKernel('Conv2DBackpropFilter', { x: saved[0], dy }, { strides: stride, pad, dataFormat: 'NHWC', filterShape: filter.shape }) as tf.Tensor,
        tf.sum(dy, [0, 1, 2]),
      ],
    };
  });
  return f(w, b) as tf.Tensor4D;
}
