// Convolutional building blocks on NHWC tensors, with PyTorch's parameter layouts in mind:
// a Conv2d(cin, cout, k) is a filter [k, k, cin, cout] and a bias [cout].
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { uniform, type Weights } from './layers.js';

/** Conv2d weights with PyTorch's default init, U(+-1/sqrt(fan_in)). */
export function convWeights(w: Weights, name: string, rng: Rng, k: number, cin: number, cout: number): void {
  const bound = 1 / Math.sqrt(cin * k * k);
  w.set(`${name}.w`, uniform(rng, [k, k, cin, cout], bound));
  w.set(`${name}.b`, uniform(rng, [cout], bound));
}

/** ConvTranspose2d weights: filter [k, k, cout, cin] as tfjs's conv2dTranspose takes it. */
export function convTWeights(w: Weights, name: string, rng: Rng, k: number, cin: number, cout: number): void {
  const bound = 1 / Math.sqrt(cout * k * k);
  w.set(`${name}.w`, uniform(rng, [k, k, cout, cin], bound));
  w.set(`${name}.b`, uniform(rng, [cout], bound));
}

export function linearWeights(w: Weights, name: string, rng: Rng, inDim: number, outDim: number): void {
  const bound = 1 / Math.sqrt(inDim);
  w.set(`${name}.w`, uniform(rng, [inDim, outDim], bound));
  w.set(`${name}.b`, uniform(rng, [outDim], bound));
}

export function normWeights(w: Weights, name: string, channels: number): void {
  w.set(`${name}.g`, tf.ones([channels]));
  w.set(`${name}.b`, tf.zeros([channels]));
}

/** Conv2d with symmetric zero padding `pad` (PyTorch's padding=p); the bias is fused into the kernel. */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor, stride: number, pad: number): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter: w as tf.Tensor4D, strides: stride, pad, bias: b });
}

/** ConvTranspose2d(k, stride s, padding p) with output size (in - 1) s - 2p + k, as PyTorch's. */
export function convTranspose2d(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor, stride: number, pad: number): tf.Tensor4D {
  const [B, H, W] = x.shape;
  const k = w.shape[0] as number, cout = w.shape[2] as number;
  const oh = (H - 1) * stride - 2 * pad + k, ow = (W - 1) * stride - 2 * pad + k;
  // tfjs's transposed convolution pads like TF; with explicit padding it equals PyTorch's padding=p.
  const y = tf.conv2dTranspose(x, w as tf.Tensor4D, [B, oh, ow, cout], stride, pad as unknown as 'same');
  return tf.add(y, b) as tf.Tensor4D;
}

/**
 * Batch normalisation over every axis but the last, then an optional activation (`leaky`: a leaky
 * ReLU of that slope, 0 for ReLU): with the batch's statistics (training mode; a fused kernel where
 * the backend has it), or with given running statistics (evaluation mode). `onBatchStats` receives
 * the batch's mean and unbiased variance for keeping running averages (an assign is not differentiated).
 */
export function batchNorm(
  x: tf.Tensor, g: tf.Tensor, b: tf.Tensor,
  opts: { running?: { mean: tf.Tensor; variance: tf.Tensor }; onBatchStats?(mean: tf.Tensor, variance: tf.Tensor): void; leaky?: number } = {}, eps = 1e-5,
): tf.Tensor {
  if (!opts.running) return batchNormTrain(x, g, b, { eps, onBatchStats: opts.onBatchStats, leaky: opts.leaky });
  const { mean, variance } = opts.running;
  return activate(tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b), { leaky: opts.leaky });
}

export { conv2dAdd, conv2dImageBias, conv2dOnData, groupNorm } from '../tensor/ops.js';
import { activate, batchNormTrain } from '../tensor/ops.js';

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** Nearest-neighbour upsampling by 2 (F.interpolate(scale_factor=2)). */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  // without corner alignment or half-pixel centres, source pixel = floor(target / 2), as PyTorch's.
  // (tfjs-cpu's gradient of this resize is wrong for batch > 1; src/tensor/cpuKernels.ts corrects it.)
  return tf.image.resizeNearestNeighbor(x, [2 * x.shape[1], 2 * x.shape[2]]);
}
