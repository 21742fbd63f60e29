// Shared building blocks on plain tensors (no tfjs-layers): each takes its weights explicitly.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';

export type Weights = Map<string, tf.Tensor>;

/** x [..., in] @ w [in, out] + b [out]: one fused kernel call on a 2D view. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.shape[1] as number;
  const y = tf.fused.matMul({ a: tf.reshape(x, [-1, inDim]), b: w as tf.Tensor2D, bias: b });
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

// LayerNorm over the last axis (Ba et al. 2016), eps as PyTorch's default; GELU; causal softmax
export { causalSoftmax, gelu, layerNorm } from '../tensor/ops.js';

/**
 * Mean cross-entropy of logits [N, V] against integer targets [N], with a one-op gradient
 * (softmax - onehot) / N instead of autodiff through log-softmax.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [n, v] = logits.shape;
  const onehot = tf.oneHot(targets, v);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const lg = args[0] as tf.Tensor, save = args[1] as tf.GradSaveFunc;
    const lse = tf.logSumExp(lg, 1);
    const picked = tf.sum(tf.mul(lg, onehot), 1);
    save([lg, onehot]);
    return {
      value: tf.div(tf.sum(tf.sub(lse, picked)), n) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.div(tf.sub(tf.softmax(saved[0]), saved[1]), n), dy),
    };
  });
  return f(logits) as tf.Scalar;
}

export function normal(rng: Rng, shape: number[], std: number): tf.Tensor {
  return tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), std), shape, 'float32');
}

export function uniform(rng: Rng, shape: number[], bound: number): tf.Tensor {
  return tf.tensor(rng.uniformArray(shape.reduce((a, b) => a * b, 1), -bound, bound), shape, 'float32');
}

export function countParams(weights: ReadonlyMap<string, tf.Tensor>): number {
  let n = 0;
  for (const t of weights.values()) n += t.size;
  return n;
}

/** A variable that takes over `t` (t is disposed, the variable holds its own reference). */
export function ownVariable(t: tf.Tensor, trainable: boolean, name?: string): tf.Variable {
  const v = tf.variable(t, trainable, name);
  t.dispose();
  return v;
}
