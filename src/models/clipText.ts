// The clip engine's text encoder trained on its own: caption words to the attributes the world keeps
// beside each clip, read off the pooled encoding by one linear head per attribute. Frozen, it is the
// one encoder the three generators read. Trained jointly with the denoiser, the encoder's pooled
// reading told digits apart 27% of the time and directions 43% (nearest class mean, README), and the
// denoiser learnt exactly the attributes the pooled reading held (colour, size, speed).
import * as tf from '@tensorflow/tfjs-core';
import { CLIP_VOCAB } from '../data/clips/vocab.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, type AttributeName, type ObjectAttributes } from '../data/clips/world.js';
import { linearWeights } from '../nn/conv.js';
import { crossEntropy, linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, withDefaults, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { checkVocab, defaultClipDiffusionConfig } from './clipDiffusion.js';
import { initTextEncoderWeights, TextEncoder, TextEncoderConfigSchema } from './textEncoder.js';

export const ClipTextConfigSchema = Type.Object({
  text: TextEncoderConfigSchema,
  vocab: Type.Array(Type.String()),
}, { additionalProperties: false });
export type ClipTextConfig = Static<typeof ClipTextConfigSchema>;

/** The clip diffusion model's encoder shape (96 wide, 2 layers, 4 heads), so that its denoiser can read it. */
export function defaultClipTextConfig(): ClipTextConfig {
  return { text: { ...defaultClipDiffusionConfig().text }, vocab: [...CLIP_VOCAB] };
}

export function savedClipTextConfig(saved: Record<string, unknown>): ClipTextConfig {
  const c = withDefaults(ClipTextConfigSchema, defaultClipTextConfig(), saved, 'clip text encoder');
  checkVocab(c.vocab);
  return c;
}

/** The encoder's weights (`text.*`, as every clip generator names them) and the heads (`head.<attribute>.*`). */
export function initClipTextWeights(c: ClipTextConfig, rng: Rng): Weights {
  const w = initTextEncoderWeights(c.text, rng);
  for (const k of ATTRIBUTE_NAMES) linearWeights(w, `head.${k}`, rng, c.text.dim, ATTRIBUTE_VALUES[k].length);
  return w;
}

/** The index of each attribute's value, per text: [attribute][B]. */
function targets(attrs: readonly ObjectAttributes[]): Record<AttributeName, number[]> {
  return Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, attrs.map((a) => (ATTRIBUTE_VALUES[k] as readonly unknown[]).indexOf(a[k]))])) as Record<AttributeName, number[]>;
}

export class ClipText extends ParamStore {
  readonly text: TextEncoder;

  constructor(readonly config: ClipTextConfig, weights: Weights) {
    super(weights);
    checkVocab(config.vocab);
    this.text = new TextEncoder(config.text, (n) => this.p(n));
  }

  /** Each head's logits [B, values] of the texts. */
  logits(texts: readonly string[]): Record<AttributeName, tf.Tensor2D> {
    const pooled = this.text.encodeTexts(texts).pooled;
    return Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, linear(pooled, this.p(`head.${k}.w`), this.p(`head.${k}.b`)) as tf.Tensor2D])) as Record<AttributeName, tf.Tensor2D>;
  }

  /** The mean over the attributes of the heads' cross-entropy, in nats. */
  loss(texts: readonly string[], attrs: readonly ObjectAttributes[]): tf.Scalar {
    const l = this.logits(texts), y = targets(attrs);
    return tf.div(tf.addN(ATTRIBUTE_NAMES.map((k) => crossEntropy(l[k], tf.tensor1d(y[k], 'int32')))), ATTRIBUTE_NAMES.length) as tf.Scalar;
  }

  /** The share of texts whose attribute each head reads right, and of texts with all five right. */
  accuracy(texts: readonly string[], attrs: readonly ObjectAttributes[]): Record<AttributeName | 'exact', number> {
    const y = targets(attrs), right = new Array<number>(texts.length).fill(0), out = {} as Record<AttributeName | 'exact', number>;
    const l = tf.tidy(() => Object.fromEntries(Object.entries(this.logits(texts)).map(([k, t]) => [k, tf.argMax(t, 1).dataSync()])));
    for (const k of ATTRIBUTE_NAMES) {
      let ok = 0;
      y[k].forEach((v, i) => { if (l[k][i] === v) { ok++; right[i]++; } });
      out[k] = ok / texts.length;
    }
    out.exact = right.filter((r) => r === ATTRIBUTE_NAMES.length).length / texts.length;
    return out;
  }
}
