// Translators of clip prompts into English (issue 15), two architectures on one interface:
// - 'lstm': a bidirectional LSTM encoder and an LSTM decoder with Luong's attention (general
//   score) and input feeding (Luong, Pham & Manning 2015);
// - 'transformer': a pre-norm encoder-decoder (Vaswani et al. 2017), the clip text encoder's
//   layers for the encoder, causal self-attention and cross-attention in the decoder.
// Both map word ids [B, S] and a shifted target [B, T] to logits [B, T, V] (teacher forcing);
// decoding (greedy or beam) calls that on the growing prefix: targets are at most a dozen words.
import * as tf from '@tensorflow/tfjs-core';
import { linearWeights, normWeights } from '../nn/conv.js';
import { mha, mhaWeights } from '../nn/attention.js';
import { gelu, layerNorm, linear, normal, uniform, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { lstmCell } from '../tensor/ops.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const PAD = 0, BOS = 1, EOS = 2, UNK = 3;
export const SPECIALS = ['[pad]', '[bos]', '[eos]', '[unk]'];

export const TranslatorConfigSchema = Type.Object({
  arch: Type.Union([Type.Literal('lstm'), Type.Literal('transformer')]),
  dim: Type.Integer({ minimum: 4, maximum: 1024, description: 'embedding and hidden width' }),
  layers: Type.Integer({ minimum: 1, maximum: 8, description: 'transformer: layers of the encoder and of the decoder (the LSTM has one of each)' }),
  heads: Type.Integer({ minimum: 2, maximum: 16, description: 'transformer attention heads' }),
  maxSrc: Type.Integer({ minimum: 2, maximum: 256, description: 'source words at most' }),
  maxTgt: Type.Integer({ minimum: 2, maximum: 64, description: 'target words at most, [eos] included' }),
  srcVocab: Type.Array(Type.String(), { minItems: 5, description: 'source words (the specials first)' }),
  tgtVocab: Type.Array(Type.String(), { minItems: 5, description: 'English words (the specials first)' }),
}, { additionalProperties: false });
export type TranslatorConfig = Static<typeof TranslatorConfigSchema>;

export function initTranslatorWeights(c: TranslatorConfig, rng: Rng): Weights {
  const w: Weights = new Map(), d = c.dim, S = c.srcVocab.length, V = c.tgtVocab.length;
  w.set('src.emb', normal(rng, [S, d], c.arch === 'lstm' ? 0.1 : 1));
  w.set('tgt.emb', normal(rng, [V, d], c.arch === 'lstm' ? 0.1 : 1));
  if (c.arch === 'lstm') {
    const H = d, b = 1 / Math.sqrt(H);
    const cell = (n: string, input: number) => {
      w.set(`${n}.wih`, uniform(rng, [input, 4 * H], b)); w.set(`${n}.whh`, uniform(rng, [H, 4 * H], b));
      w.set(`${n}.bih`, uniform(rng, [4 * H], b)); w.set(`${n}.bhh`, uniform(rng, [4 * H], b));
    };
    cell('enc.fw', d); cell('enc.bw', d);
    linearWeights(w, 'enc.proj', rng, 2 * H, H); // encoder states to the decoder's width
    linearWeights(w, 'enc.init', rng, 2 * H, H); // the decoder's first state from the encoder's ends
    cell('dec', d + H); // input feeding: the previous attentional output joins the word
    w.set('att.w', uniform(rng, [H, H], b));
    linearWeights(w, 'att.out', rng, 2 * H, H);
    linearWeights(w, 'head', rng, H, V);
    return w;
  }
  w.set('src.pos', normal(rng, [c.maxSrc, d], 0.02));
  w.set('tgt.pos', normal(rng, [c.maxTgt, d], 0.02));
  for (let l = 0; l < c.layers; l++) {
    for (const side of ['enc', 'dec']) {
      const n = `${side}.l${l}`;
      normWeights(w, `${n}.n1`, d); mhaWeights(w, `${n}.att`, rng, d);
      if (side === 'dec') { normWeights(w, `${n}.nx`, d); mhaWeights(w, `${n}.xatt`, rng, d); }
      normWeights(w, `${n}.n2`, d); linearWeights(w, `${n}.fc`, rng, d, 4 * d); linearWeights(w, `${n}.out`, rng, 4 * d, d);
    }
  }
  normWeights(w, 'enc.ln', d); normWeights(w, 'dec.ln', d);
  linearWeights(w, 'head', rng, d, V);
  return w;
}

/** Word ids of `words` ([unk] for unknown ones), cut to `max`. */
export function wordIds(vocab: Map<string, number>, words: readonly string[], max: number): number[] {
  return words.slice(0, max).map((w) => vocab.get(w) ?? UNK);
}

export class Translator extends ParamStore {
  readonly src: Map<string, number>;
  readonly tgt: Map<string, number>;

  constructor(readonly config: TranslatorConfig, weights: Weights) {
    super(weights);
    if (config.arch === 'transformer' && config.dim % config.heads) throw new RangeError(`translator: dim ${config.dim} is not a multiple of heads ${config.heads}`);
    this.src = new Map(config.srcVocab.map((w, i) => [w, i]));
    this.tgt = new Map(config.tgtVocab.map((w, i) => [w, i]));
  }

  /** Source word lists as ids [B, S] (padded with [pad] to the longest) and the key bias of the padding [B, 1, 1, S]. */
  sourceIds(sources: readonly string[][]): { ids: tf.Tensor2D; keep: tf.Tensor2D } {
    const S = Math.max(1, ...sources.map((s) => Math.min(s.length, this.config.maxSrc)));
    const ids = new Int32Array(sources.length * S);
    sources.forEach((s, i) => ids.set(wordIds(this.src, s, S), i * S));
    const t = tf.tensor2d(ids, [sources.length, S], 'int32');
    return { ids: t, keep: tf.cast(tf.notEqual(t, PAD), 'float32') as tf.Tensor2D };
  }

  /** Teacher-forced logits [B, T, V] of the target inputs tgtIn [B, T] ([bos] first) given sources [B, S]. */
  logits(srcIds: tf.Tensor2D, keep: tf.Tensor2D, tgtIn: tf.Tensor2D): tf.Tensor3D {
    return this.config.arch === 'lstm' ? this.lstmLogits(srcIds, keep, tgtIn) : this.transformerLogits(srcIds, keep, tgtIn);
  }

  private transformerLogits(srcIds: tf.Tensor2D, keep: tf.Tensor2D, tgtIn: tf.Tensor2D): tf.Tensor3D {
    const c = this.config, p = (n: string) => this.p(n), [B, S] = srcIds.shape, T = tgtIn.shape[1];
    const block = (x: tf.Tensor3D, n: string, bias: tf.Tensor, ctx?: { mem: tf.Tensor3D; bias: tf.Tensor }) => {
      x = tf.add(x, mha(p, `${n}.att`, layerNorm(x, p(`${n}.n1.g`), p(`${n}.n1.b`)) as tf.Tensor3D, c.heads, undefined, bias)) as tf.Tensor3D;
      if (ctx) x = tf.add(x, mha(p, `${n}.xatt`, layerNorm(x, p(`${n}.nx.g`), p(`${n}.nx.b`)) as tf.Tensor3D, c.heads, ctx.mem, ctx.bias)) as tf.Tensor3D;
      const h = gelu(linear(layerNorm(x, p(`${n}.n2.g`), p(`${n}.n2.b`)), p(`${n}.fc.w`), p(`${n}.fc.b`)));
      return tf.add(x, linear(h, p(`${n}.out.w`), p(`${n}.out.b`))) as tf.Tensor3D;
    };
    const srcBias = tf.reshape(tf.mul(tf.sub(1, keep), -1e9), [B, 1, 1, S]);
    let mem = tf.add(tf.gather(p('src.emb'), srcIds), tf.slice(p('src.pos'), [0, 0], [S, c.dim])) as tf.Tensor3D;
    for (let l = 0; l < c.layers; l++) mem = block(mem, `enc.l${l}`, srcBias);
    mem = layerNorm(mem, p('enc.ln.g'), p('enc.ln.b')) as tf.Tensor3D;
    // causal: position t sees targets up to t
    const causal = tf.reshape(tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9), [1, 1, T, T]);
    let y = tf.add(tf.gather(p('tgt.emb'), tgtIn), tf.slice(p('tgt.pos'), [0, 0], [T, c.dim])) as tf.Tensor3D;
    for (let l = 0; l < c.layers; l++) y = block(y, `dec.l${l}`, causal, { mem, bias: srcBias });
    return linear(layerNorm(y, p('dec.ln.g'), p('dec.ln.b')), p('head.w'), p('head.b')) as tf.Tensor3D;
  }

  private lstmLogits(srcIds: tf.Tensor2D, keep: tf.Tensor2D, tgtIn: tf.Tensor2D): tf.Tensor3D {
    const H = this.config.dim, p = (n: string) => this.p(n), [B, S] = srcIds.shape, T = tgtIn.shape[1];
    const run = (n: string, xs: tf.Tensor2D[], masks: tf.Tensor2D[]) => {
      let h = tf.zeros([B, H]) as tf.Tensor2D, c = tf.zeros([B, H]) as tf.Tensor2D;
      const hs: tf.Tensor2D[] = [];
      for (let t = 0; t < xs.length; t++) {
        const xw = linear(xs[t], p(`${n}.wih`), p(`${n}.bih`)) as tf.Tensor2D, hw = linear(h, p(`${n}.whh`), p(`${n}.bhh`)) as tf.Tensor2D;
        const next = lstmCell(xw, hw, c);
        // padding leaves the state as it was (the backward pass starts at each source's last word)
        h = tf.add(tf.mul(next.h, masks[t]), tf.mul(h, tf.sub(1, masks[t]))) as tf.Tensor2D;
        c = tf.add(tf.mul(next.c, masks[t]), tf.mul(c, tf.sub(1, masks[t]))) as tf.Tensor2D;
        hs.push(h);
      }
      return { hs, h };
    };
    const emb = tf.unstack(tf.transpose(tf.gather(p('src.emb'), srcIds), [1, 0, 2])) as tf.Tensor2D[];
    const m = tf.unstack(tf.transpose(tf.expandDims(keep, 2), [1, 0, 2])) as tf.Tensor2D[];
    const fw = run('enc.fw', emb, m), bw = run('enc.bw', [...emb].reverse(), [...m].reverse());
    const states = tf.concat([tf.stack(fw.hs, 1), tf.stack([...bw.hs].reverse(), 1)], 2); // [B, S, 2H]
    const mem = linear(states, p('enc.proj.w'), p('enc.proj.b')) as tf.Tensor3D; // [B, S, H]
    const memW = tf.matMul(mem, tf.tile(tf.expandDims(p('att.w'), 0), [B, 1, 1])); // [B, S, H]: score = h W m
    const srcBias = tf.reshape(tf.mul(tf.sub(1, keep), -1e9), [B, 1, S]);
    let h = tf.tanh(linear(tf.concat([fw.h, bw.h], 1), p('enc.init.w'), p('enc.init.b'))) as tf.Tensor2D;
    let c = tf.zerosLike(h) as tf.Tensor2D, feed = tf.zerosLike(h) as tf.Tensor2D;
    const words = tf.unstack(tf.transpose(tf.gather(p('tgt.emb'), tgtIn), [1, 0, 2])) as tf.Tensor2D[];
    const outs: tf.Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const xw = linear(tf.concat([words[t], feed], 1), p('dec.wih'), p('dec.bih')) as tf.Tensor2D, hw = linear(h, p('dec.whh'), p('dec.bhh')) as tf.Tensor2D;
      ({ h, c } = lstmCell(xw, hw, c));
      const scores = tf.add(tf.matMul(tf.expandDims(h, 1), memW, false, true), srcBias); // [B, 1, S]
      const ctx = tf.squeeze(tf.matMul(tf.softmax(scores), mem), [1]) as tf.Tensor2D;
      feed = tf.tanh(linear(tf.concat([h, ctx], 1), p('att.out.w'), p('att.out.b'))) as tf.Tensor2D;
      outs.push(feed);
    }
    return linear(tf.stack(outs, 1), p('head.w'), p('head.b')) as tf.Tensor3D;
  }

  /** Mean cross-entropy of targets (word lists, [eos] appended) given sources, padding excluded. */
  loss(sources: readonly string[][], targets: readonly string[][]): tf.Scalar {
    const T = Math.min(this.config.maxTgt, Math.max(...targets.map((t) => t.length + 1))), B = targets.length;
    const tin = new Int32Array(B * T), tout = new Int32Array(B * T), mask = new Float32Array(B * T);
    targets.forEach((t, i) => {
      const ids = [...wordIds(this.tgt, t, T - 1), EOS];
      ids.forEach((id, k) => { tout[i * T + k] = id; mask[i * T + k] = 1; tin[i * T + k] = k === 0 ? BOS : ids[k - 1]; });
    });
    const { ids, keep } = this.sourceIds(sources);
    const logits = tf.reshape(this.logits(ids, keep, tf.tensor2d(tin, [B, T], 'int32')), [B * T, -1]) as tf.Tensor2D;
    const nll = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, tf.oneHot(tf.tensor1d(tout, 'int32'), logits.shape[1])), 1));
    const m = tf.tensor1d(mask);
    return tf.div(tf.sum(tf.mul(nll, m)), tf.sum(m)) as tf.Scalar;
  }

  /** Translations of sources by beam search (beam 1: greedy), as English word lists without [eos]. */
  translate(sources: readonly string[][], beam = 1): string[][] {
    if (!Number.isInteger(beam) || beam < 1 || beam > 16) throw new RangeError(`beam must be a whole number from 1 to 16, got ${beam}`);
    return sources.map((s) => this.beamSearch(s, beam));
  }

  private beamSearch(source: readonly string[], beam: number): string[] {
    type Hyp = { ids: number[]; score: number; done: boolean };
    let hyps: Hyp[] = [{ ids: [], score: 0, done: false }];
    for (let t = 0; t < this.config.maxTgt && hyps.some((h) => !h.done); t++) {
      const open = hyps.filter((h) => !h.done);
      const logp = tf.tidy(() => {
        const { ids, keep } = this.sourceIds(open.map(() => [...source]));
        const tin = tf.tensor2d(Int32Array.from(open.flatMap((h) => [BOS, ...h.ids])), [open.length, t + 1], 'int32');
        const lg = this.logits(ids, keep, tin);
        return tf.logSoftmax(tf.reshape(tf.slice(lg, [0, t, 0], [-1, 1, -1]), [open.length, -1])).arraySync() as number[][];
      });
      const next: Hyp[] = hyps.filter((h) => h.done);
      open.forEach((h, i) => {
        // the best `beam` words of each hypothesis; [pad], [bos] and [unk] are never written
        const order = logp[i].map((v, id) => [v, id] as const).filter(([, id]) => id !== PAD && id !== BOS && id !== UNK).sort((a, b) => b[0] - a[0]).slice(0, beam);
        for (const [v, id] of order) next.push({ ids: id === EOS ? h.ids : [...h.ids, id], score: h.score + v, done: id === EOS || t === this.config.maxTgt - 1 });
      });
      hyps = next.sort((a, b) => b.score - a.score).slice(0, beam);
    }
    return hyps[0].ids.map((id) => this.config.tgtVocab[id]);
  }
}
