// The clip engine's text encoder (the peer's TextEncoder): word tokens to contextual encodings,
// a small bidirectional transformer (pre-norm layers of multi-head self-attention and a GELU MLP).
// One encoder serves all three clip generators; it is trained jointly with the diffusion
// denoiser and then frozen (src/train/clipDiffusionTask.ts says why).
import * as tf from '@tensorflow/tfjs-core';
import { encodeWords, PAD } from '../data/clips/vocab.js';
import { linearWeights, normWeights } from '../nn/conv.js';
import { mha, mhaWeights, type Getter } from '../nn/attention.js';
import { gelu, layerNorm, linear, normal, type Weights } from '../nn/layers.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const TextEncoderConfigSchema = Type.Object({
  vocabSize: Type.Integer({ minimum: 4, maximum: 65536, description: 'token embeddings (the clip vocabulary fills the first ones)' }),
  dim: Type.Integer({ minimum: 4, maximum: 4096, description: 'width of the encodings' }),
  layers: Type.Integer({ minimum: 1, maximum: 64 }),
  heads: Type.Integer({ minimum: 1, maximum: 64 }),
  maxLen: Type.Integer({ minimum: 2, maximum: 512, description: 'tokens per text, [cls] included' }),
}, { additionalProperties: false });
export type TextEncoderConfig = Static<typeof TextEncoderConfigSchema>;

/** The peer's: vocabulary 128, 128 wide, 2 layers, 4 heads, 24 tokens. */
export function defaultTextEncoderConfig(): TextEncoderConfig {
  return { vocabSize: 128, dim: 128, layers: 2, heads: 4, maxLen: 24 };
}

export function initTextEncoderWeights(c: TextEncoderConfig, rng: Rng, prefix = 'text.'): Weights {
  const w: Weights = new Map(), d = c.dim;
  w.set(`${prefix}tok`, normal(rng, [c.vocabSize, d], 1));
  w.set(`${prefix}pos`, normal(rng, [c.maxLen, d], 1));
  for (let l = 0; l < c.layers; l++) {
    const n = `${prefix}l${l}`;
    normWeights(w, `${n}.n1`, d);
    mhaWeights(w, `${n}.att`, rng, d);
    normWeights(w, `${n}.n2`, d);
    linearWeights(w, `${n}.fc`, rng, d, 4 * d);
    linearWeights(w, `${n}.out`, rng, 4 * d, d);
  }
  normWeights(w, `${prefix}ln`, d);
  return w;
}

export type TextEncoding = {
  /** [B, L, dim] */
  tokens: tf.Tensor3D;
  /** additive attention bias of the keys, [B, 1, 1, L]: 0 for words, -1e9 for padding */
  keyBias: tf.Tensor4D;
  /** the mean encoding of the non-padding tokens, [B, dim] */
  pooled: tf.Tensor2D;
};

export class TextEncoder {
  constructor(readonly config: TextEncoderConfig, private readonly p: Getter, private readonly prefix = 'text.') {}

  /** Encoder texts (the parser's known words; '' is the empty prompt) as ids [B, maxLen], then encoded. */
  encodeTexts(texts: readonly string[]): TextEncoding {
    const L = this.config.maxLen, ids = new Int32Array(texts.length * L);
    texts.forEach((t, i) => ids.set(encodeWords(t, L), i * L));
    return this.encode(tf.tensor2d(ids, [texts.length, L], 'int32'));
  }

  /** ids [B, maxLen] int32 from encodeWords (position 0 is [cls], never padding). */
  encode(ids: tf.Tensor2D): TextEncoding {
    const c = this.config, [B, L] = ids.shape, q = (n: string) => this.p(this.prefix + n);
    if (L > c.maxLen) throw new RangeError(`text encoder: ${L} tokens, at most ${c.maxLen}`);
    const keep = tf.cast(tf.notEqual(ids, PAD), 'float32') as tf.Tensor2D; // [B, L]
    const keyBias = tf.reshape(tf.mul(tf.sub(1, keep), -1e9), [B, 1, 1, L]) as tf.Tensor4D;
    let x = tf.add(tf.gather(q('tok'), ids), tf.slice(q('pos'), [0, 0], [L, c.dim])) as tf.Tensor3D;
    for (let l = 0; l < c.layers; l++) {
      const n = `l${l}`;
      x = tf.add(x, mha(this.p, `${this.prefix}${n}.att`, layerNorm(x, q(`${n}.n1.g`), q(`${n}.n1.b`)) as tf.Tensor3D, c.heads, undefined, keyBias)) as tf.Tensor3D;
      const hmid = gelu(linear(layerNorm(x, q(`${n}.n2.g`), q(`${n}.n2.b`)), q(`${n}.fc.w`), q(`${n}.fc.b`)));
      x = tf.add(x, linear(hmid, q(`${n}.out.w`), q(`${n}.out.b`))) as tf.Tensor3D;
    }
    const tokens = layerNorm(x, q('ln.g'), q('ln.b')) as tf.Tensor3D;
    const m = tf.expandDims(keep, 2);
    const pooled = tf.div(tf.sum(tf.mul(tokens, m), 1), tf.sum(m, 1)) as tf.Tensor2D;
    return { tokens, keyBias, pooled };
  }
}
