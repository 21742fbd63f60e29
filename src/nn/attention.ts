// Multi-head attention on plain tensors (the peer's MHA): queries from x [N, L, C], keys and
// values from ctx [N, S, Cc] (cross-attention) or from x itself; an optional additive key bias
// [N, 1, 1, S] masks padding. Weights: `${name}.q` [C, C], `${name}.kv` [Cc, 2C], `${name}.proj` [C, C].
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { linearWeights } from './conv.js';
import { linear, type Weights } from './layers.js';

export type Getter = (name: string) => tf.Tensor;

export function mhaWeights(w: Weights, name: string, rng: Rng, c: number, ctxDim = c): void {
  linearWeights(w, `${name}.q`, rng, c, c);
  linearWeights(w, `${name}.kv`, rng, ctxDim, 2 * c);
  linearWeights(w, `${name}.proj`, rng, c, c);
}

export function mha(p: Getter, name: string, x: tf.Tensor3D, heads: number, ctx?: tf.Tensor3D, keyBias?: tf.Tensor): tf.Tensor3D {
  const [N, L, C] = x.shape, S = ctx ? ctx.shape[1] : L, hd = C / heads;
  const split = (t: tf.Tensor, len: number) => (heads === 1 ? t : tf.transpose(tf.reshape(t, [N, len, heads, hd]), [0, 2, 1, 3]));
  const q = split(linear(x, p(`${name}.q.w`), p(`${name}.q.b`)), L);
  const [k, v] = tf.split(linear(ctx ?? x, p(`${name}.kv.w`), p(`${name}.kv.b`)), 2, 2).map((t) => split(t, S));
  let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd));
  if (keyBias) scores = tf.add(scores, heads === 1 ? tf.reshape(keyBias, [N, 1, S]) : keyBias);
  let y = tf.matMul(tf.softmax(scores), v);
  if (heads > 1) y = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [N, L, C]);
  return linear(y, p(`${name}.proj.w`), p(`${name}.proj.b`)) as tf.Tensor3D;
}
