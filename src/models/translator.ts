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
import { gelu, layerNorm, linear, normal, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { attentionDecoderLogits, attentionDecoderWeights, beamSearch, biLstmMemory, biLstmWeights, BOS, maskedCrossEntropy, PAD, teacherForcing, UNK } from './seq2seq.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export { BOS, EOS, PAD, SPECIALS, UNK } from './seq2seq.js';

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
  if (c.arch === 'lstm') {
    w.set('src.emb', normal(rng, [S, d], 0.1));
    biLstmWeights(w, 'enc', rng, d, d);
    attentionDecoderWeights(w, rng, d, d, V);
    return w;
  }
  w.set('src.emb', normal(rng, [S, d], 1));
  w.set('tgt.emb', normal(rng, [V, d], 1));
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
    const p = (n: string) => this.p(n);
    const { mem, h0 } = biLstmMemory(p, 'enc', tf.gather(p('src.emb'), srcIds) as tf.Tensor3D, keep, this.config.dim);
    return attentionDecoderLogits(p, mem, keep, h0, tgtIn);
  }

  /** Mean cross-entropy of targets (word lists, [eos] appended) given sources, padding excluded. */
  loss(sources: readonly string[][], targets: readonly string[][]): tf.Scalar {
    const { T, tin, tout, mask } = teacherForcing(targets.map((t) => wordIds(this.tgt, t, this.config.maxTgt)), this.config.maxTgt);
    const { ids, keep } = this.sourceIds(sources);
    return maskedCrossEntropy(this.logits(ids, keep, tf.tensor2d(tin, [targets.length, T], 'int32')), tout, mask);
  }

  /** Translations of sources by beam search (beam 1: greedy), as English word lists without [eos]. */
  translate(sources: readonly string[][], beam = 1): string[][] {
    const next = (source: string[], prefixes: number[][]): number[][] => {
      const lp = tf.tidy(() => {
        const t = prefixes[0].length, { ids, keep } = this.sourceIds(prefixes.map(() => source));
        const tin = tf.tensor2d(Int32Array.from(prefixes.flatMap((h) => [BOS, ...h])), [prefixes.length, t + 1], 'int32');
        return tf.logSoftmax(tf.reshape(tf.slice(this.logits(ids, keep, tin), [0, t, 0], [-1, 1, -1]), [prefixes.length, -1]));
      });
      const rows = lp.arraySync() as number[][];
      lp.dispose();
      return rows;
    };
    return sources.map((source) => beamSearch((prefixes) => next([...source], prefixes), this.config.maxTgt, beam).map((id) => this.config.tgtVocab[id]));
  }
}
