// Pieces the recurrent sequence models share: a (bidirectional) LSTM over a sequence with a
// padding mask, an LSTM decoder with Luong's attention and input feeding (Luong, Pham & Manning
// 2015) over any memory [B, S, H], and beam search over a model's next-word log-probabilities.
// The prompt translator reads word embeddings with them; the clip captioner reads frame features.
import * as tf from '@tensorflow/tfjs-core';
import { linearWeights } from '../nn/conv.js';
import { linear, normal, uniform, type Weights } from '../nn/layers.js';
import { lstmCell } from '../tensor/ops.js';
import type { Rng } from '../util/rng.js';

export const PAD = 0, BOS = 1, EOS = 2, UNK = 3;
export const SPECIALS = ['[pad]', '[bos]', '[eos]', '[unk]'];
type P = (name: string) => tf.Tensor;

export function lstmWeights(w: Weights, name: string, rng: Rng, input: number, H: number): void {
  const b = 1 / Math.sqrt(H);
  w.set(`${name}.wih`, uniform(rng, [input, 4 * H], b)); w.set(`${name}.whh`, uniform(rng, [H, 4 * H], b));
  w.set(`${name}.bih`, uniform(rng, [4 * H], b)); w.set(`${name}.bhh`, uniform(rng, [4 * H], b));
}

/** One LSTM over steps xs[t] [B, I]; where masks[t] [B, 1] is 0 (padding) the state stays as it was. */
export function runLstm(p: P, name: string, xs: tf.Tensor2D[], masks: tf.Tensor2D[] | undefined, H: number): { hs: tf.Tensor2D[]; h: tf.Tensor2D } {
  const B = xs[0].shape[0];
  let h = tf.zeros([B, H]) as tf.Tensor2D, c = tf.zeros([B, H]) as tf.Tensor2D;
  const hs: tf.Tensor2D[] = [];
  for (let t = 0; t < xs.length; t++) {
    const next = lstmCell(linear(xs[t], p(`${name}.wih`), p(`${name}.bih`)) as tf.Tensor2D, linear(h, p(`${name}.whh`), p(`${name}.bhh`)) as tf.Tensor2D, c);
    if (masks) {
      h = tf.add(tf.mul(next.h, masks[t]), tf.mul(h, tf.sub(1, masks[t]))) as tf.Tensor2D;
      c = tf.add(tf.mul(next.c, masks[t]), tf.mul(c, tf.sub(1, masks[t]))) as tf.Tensor2D;
    } else ({ h, c } = next);
    hs.push(h);
  }
  return { hs, h };
}

/**
 * A bidirectional LSTM over x [B, S, I] (keep [B, S]: 1 for real steps), its states projected to
 * the memory [B, S, H], and the decoder's first state from both directions' last states.
 * Weights `${name}.fw`, `${name}.bw`, `${name}.proj`, `${name}.init`.
 */
export function biLstmMemory(p: P, name: string, x: tf.Tensor3D, keep: tf.Tensor2D | undefined, H: number): { mem: tf.Tensor3D; h0: tf.Tensor2D } {
  const steps = tf.unstack(tf.transpose(x, [1, 0, 2])) as tf.Tensor2D[];
  const m = keep ? tf.unstack(tf.transpose(tf.expandDims(keep, 2), [1, 0, 2])) as tf.Tensor2D[] : undefined;
  const fw = runLstm(p, `${name}.fw`, steps, m, H), bw = runLstm(p, `${name}.bw`, [...steps].reverse(), m ? [...m].reverse() : undefined, H);
  const states = tf.concat([tf.stack(fw.hs, 1), tf.stack([...bw.hs].reverse(), 1)], 2);
  const mem = linear(states, p(`${name}.proj.w`), p(`${name}.proj.b`)) as tf.Tensor3D;
  return { mem, h0: tf.tanh(linear(tf.concat([fw.h, bw.h], 1), p(`${name}.init.w`), p(`${name}.init.b`))) as tf.Tensor2D };
}

export function biLstmWeights(w: Weights, name: string, rng: Rng, input: number, H: number): void {
  lstmWeights(w, `${name}.fw`, rng, input, H); lstmWeights(w, `${name}.bw`, rng, input, H);
  linearWeights(w, `${name}.proj`, rng, 2 * H, H);
  linearWeights(w, `${name}.init`, rng, 2 * H, H);
}

/** The attention decoder's weights: `tgt.emb` [V, E], `dec` (input E + H), `att.w`, `att.out`, `head`. */
export function attentionDecoderWeights(w: Weights, rng: Rng, E: number, H: number, V: number): void {
  w.set('tgt.emb', normal(rng, [V, E], 0.1));
  lstmWeights(w, 'dec', rng, E + H, H);
  w.set('att.w', uniform(rng, [H, H], 1 / Math.sqrt(H)));
  linearWeights(w, 'att.out', rng, 2 * H, H);
  linearWeights(w, 'head', rng, H, V);
}

/** Teacher-forced logits [B, T, V] of the decoder over memory mem [B, S, H] (memKeep [B, S], or all kept) from state h0, inputs tgtIn [B, T]. */
export function attentionDecoderLogits(p: P, mem: tf.Tensor3D, memKeep: tf.Tensor2D | undefined, h0: tf.Tensor2D, tgtIn: tf.Tensor2D): tf.Tensor3D {
  const [B, S, H] = mem.shape, T = tgtIn.shape[1];
  const memW = tf.matMul(mem, tf.tile(tf.expandDims(p('att.w'), 0), [B, 1, 1])); // score = h W m
  const bias = memKeep ? tf.reshape(tf.mul(tf.sub(1, memKeep), -1e9), [B, 1, S]) : undefined;
  let h = h0, c = tf.zerosLike(h0) as tf.Tensor2D, feed = tf.zerosLike(h0) as tf.Tensor2D;
  const words = tf.unstack(tf.transpose(tf.gather(p('tgt.emb'), tgtIn), [1, 0, 2])) as tf.Tensor2D[];
  const outs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    ({ h, c } = lstmCell(linear(tf.concat([words[t], feed], 1), p('dec.wih'), p('dec.bih')) as tf.Tensor2D, linear(h, p('dec.whh'), p('dec.bhh')) as tf.Tensor2D, c));
    let scores = tf.matMul(tf.expandDims(h, 1), memW, false, true); // [B, 1, S]
    if (bias) scores = tf.add(scores, bias);
    const ctx = tf.squeeze(tf.matMul(tf.softmax(scores), mem), [1]) as tf.Tensor2D;
    feed = tf.tanh(linear(tf.concat([h, ctx], 1), p('att.out.w'), p('att.out.b'))) as tf.Tensor2D;
    outs.push(feed);
  }
  void H;
  return linear(tf.stack(outs, 1), p('head.w'), p('head.b')) as tf.Tensor3D;
}

/** Mean cross-entropy of logits [B, T, V] against target ids where mask is 1. */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: Int32Array, mask: Float32Array): tf.Scalar {
  const [B, T, V] = logits.shape, flat = tf.reshape(logits, [B * T, V]) as tf.Tensor2D;
  const nll = tf.sub(tf.logSumExp(flat, 1), tf.sum(tf.mul(flat, tf.oneHot(tf.tensor1d(targets, 'int32'), V)), 1));
  const m = tf.tensor1d(mask);
  return tf.div(tf.sum(tf.mul(nll, m)), tf.sum(m)) as tf.Scalar;
}

/** Decoder inputs ([bos] then the words), outputs (the words then [eos]) and the mask of [B, T] target id lists. */
export function teacherForcing(targets: readonly number[][], maxT: number): { T: number; tin: Int32Array; tout: Int32Array; mask: Float32Array } {
  const T = Math.min(maxT, Math.max(...targets.map((t) => t.length + 1))), B = targets.length;
  const tin = new Int32Array(B * T), tout = new Int32Array(B * T), mask = new Float32Array(B * T);
  targets.forEach((t, i) => {
    const ids = [...t.slice(0, T - 1), EOS];
    ids.forEach((id, k) => { tout[i * T + k] = id; mask[i * T + k] = 1; tin[i * T + k] = k === 0 ? BOS : ids[k - 1]; });
  });
  return { T, tin, tout, mask };
}

/**
 * Beam search (beam 1: greedy): `logProbs(prefixes)` gives each prefix's next-word
 * log-probabilities; [pad], [bos] and [unk] are never written. The best hypothesis's ids, without [eos].
 */
export function beamSearch(logProbs: (prefixes: number[][]) => number[][], maxT: number, beam: number): number[] {
  if (!Number.isInteger(beam) || beam < 1 || beam > 16) throw new RangeError(`beam must be a whole number from 1 to 16, got ${beam}`);
  type Hyp = { ids: number[]; score: number; done: boolean };
  let hyps: Hyp[] = [{ ids: [], score: 0, done: false }];
  for (let t = 0; t < maxT && hyps.some((h) => !h.done); t++) {
    const open = hyps.filter((h) => !h.done), lp = logProbs(open.map((h) => h.ids));
    const next: Hyp[] = hyps.filter((h) => h.done);
    open.forEach((h, i) => {
      const order = lp[i].map((v, id) => [v, id] as const).filter(([, id]) => id !== PAD && id !== BOS && id !== UNK).sort((a, b) => b[0] - a[0]).slice(0, beam);
      for (const [v, id] of order) next.push({ ids: id === EOS ? h.ids : [...h.ids, id], score: h.score + v, done: id === EOS || t === maxT - 1 });
    });
    hyps = next.sort((a, b) => b.score - a.score).slice(0, beam);
  }
  return hyps[0].ids;
}
