// Sprite diffusion (clip-diffusion with arch=sprite): diffusion in the sprite latent
// (spriteLatent.ts: one 28x28 ink image and its 8-number path, decoded by the paste) instead of
// the frame autoencoder's. The denoiser is the digits' UNet on the ink and an MLP on the path,
// sharing one timestep and one reading of the words: in this world the ink and the path are
// independent given the text, so one network on both would learn nothing a pair does not.
import * as tf from '@tensorflow/tfjs-core';
import { CLIP_VOCAB } from '../data/clips/vocab.js';
import { DIGITS } from '../data/clips/world.js';
import { linearWeights, silu } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, withDefaults, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { denoiseLoop, type LoopOptions } from '../diffusion/loop.js';
import { DdimScheduler } from '../diffusion/schedulers.js';
import type { NoiseSchedule } from '../diffusion/schedules.js';
import { checkVocab } from './clipDiffusion.js';
import { headsCondition, HEAD_LOGITS } from './clipLatent.js';
import { decodeSpriteLatents, INK, PATH, SPRITE_LATENT } from './spriteLatent.js';
import { TextEncoder, TextEncoderConfigSchema } from './textEncoder.js';
import { initUnetWeights, timestepEmbedding, Unet, UnetConfigSchema } from './unet.js';

/** the digit head's width, the first group of headsCondition's output */
const DIGIT_VALUES = DIGITS.length;

export const SpriteDiffusionConfigSchema = Type.Object({
  arch: Type.Literal('sprite'),
  text: TextEncoderConfigSchema,
  /** the ink's denoiser: the digits' UNet (classes 0; the words join its time embedding) */
  unet: UnetConfigSchema,
  /** the path's denoiser: an MLP this wide */
  pathHidden: Type.Integer({ minimum: 8, maximum: 4096 }),
  /** what the denoiser reads of the text: the pooled encoding, or the frozen clip-text heads' softmaxes times headScale;
   *  'factored': the heads too, the ink reading only the digit's and the path only the other four (pcond.*), as the world has them */
  cond: Type.Union([Type.Literal('pooled'), Type.Literal('heads'), Type.Literal('factored')]),
  headScale: Type.Number({ exclusiveMinimum: 0, maximum: 100 }),
  /** heads (absent: hard): each head's softmax as it is, or (hard) one-hot at its argmax, so that a caption the heads read less surely (a held-out pair's) gives the same input as a sure one; the empty text keeps its softmax (guidance's null) */
  reading: Type.Optional(Type.Union([Type.Literal('soft'), Type.Literal('hard')])),
  vocab: Type.Array(Type.String()),
  prediction: Type.Union([Type.Literal('eps'), Type.Literal('v')]),
}, { additionalProperties: false });
export type SpriteDiffusionConfig = Static<typeof SpriteDiffusionConfigSchema>;

export function defaultSpriteDiffusionConfig(text: SpriteDiffusionConfig['text']): SpriteDiffusionConfig {
  return { arch: 'sprite', text, unet: { channels: 1, groups: 8, tembDim: 128, classes: 0 }, pathHidden: 256, cond: 'factored', headScale: 4, reading: 'hard', vocab: [...CLIP_VOCAB], prediction: 'eps' };
}

export function savedSpriteDiffusionConfig(saved: Record<string, unknown>): SpriteDiffusionConfig {
  const c = withDefaults(SpriteDiffusionConfigSchema, defaultSpriteDiffusionConfig(saved.text as SpriteDiffusionConfig['text']), saved, 'sprite diffusion');
  checkVocab(c.vocab);
  return c;
}

/** The denoiser's own weights (`ink.*`, `path.*`, `cond.*`); the text encoder's and heads' come from a clip-text run. */
export function initSpriteDiffusionWeights(c: SpriteDiffusionConfig, rng: Rng): Weights {
  const w: Weights = new Map(), T = c.unet.tembDim, H = c.pathHidden, D = c.cond === 'pooled' ? c.text.dim : HEAD_LOGITS;
  for (const [k, v] of initUnetWeights(c.unet, rng)) w.set(`ink.${k}`, v);
  linearWeights(w, 'cond.l1', rng, D, T);
  linearWeights(w, 'cond.l2', rng, T, T);
  if (c.cond === 'factored') {
    linearWeights(w, 'pcond.l1', rng, D, T);
    linearWeights(w, 'pcond.l2', rng, T, T);
  }
  linearWeights(w, 'path.l1', rng, PATH + 2 * T, H);
  linearWeights(w, 'path.l2', rng, H, H);
  linearWeights(w, 'path.l3', rng, H, H);
  linearWeights(w, 'path.out', rng, H, PATH);
  return w;
}

export class SpriteDiffusion extends ParamStore {
  readonly text: TextEncoder;
  readonly ink: Unet;

  constructor(readonly config: SpriteDiffusionConfig, weights: Weights) {
    const ink: Weights = new Map(), rest: Weights = new Map();
    for (const [k, t] of weights) (k.startsWith('ink.') ? ink : rest).set(k, t);
    super(rest);
    checkVocab(config.vocab);
    if (config.unet.classes !== 0 || config.unet.channels !== 1) throw new RangeError('sprite diffusion: the ink UNet has one channel and no classes (the words condition it)');
    this.ink = new Unet(config.unet, new Map([...ink].map(([k, t]) => [k.slice(4), t])));
    for (const [k, v] of this.ink.params) this.params.set(`ink.${k}`, v);
    this.text = new TextEncoder(config.text, (n) => this.p(n));
  }

  /** The denoiser's weights (the text encoder and its heads stay frozen). */
  get trainable(): string[] {
    return [...this.params.keys()].filter((k) => !k.startsWith('text.') && !k.startsWith('head.'));
  }

  /** What the denoiser reads of texts ('' is guidance's empty prompt): [B, 23] or [B, text.dim]. */
  condition(texts: readonly string[]): tf.Tensor2D {
    return tf.tidy(() => {
      const pooled = this.text.encodeTexts(texts).pooled;
      if (this.config.cond === 'pooled') return pooled;
      return headsCondition(pooled, (n) => this.p(n), this.config.headScale, this.config.reading === 'hard' ? texts : undefined);
    });
  }

  /** The denoiser's output (eps or v) for sprite latents x [B, 792] at timesteps t [B], read with cond [B, D]. */
  predict(x: tf.Tensor2D, t: tf.Tensor1D, cond: tf.Tensor2D): tf.Tensor2D {
    const p = (n: string) => this.p(n), B = x.shape[0], T = this.config.unet.tembDim;
    const mlp = (k: string, c: tf.Tensor2D) => linear(silu(linear(c, p(`${k}.l1.w`), p(`${k}.l1.b`))), p(`${k}.l2.w`), p(`${k}.l2.b`)) as tf.Tensor2D;
    // factored: the digit's softmax for the ink, the other attributes' for the path (a held-out digit-direction pair is then two familiar inputs)
    const factored = this.config.cond === 'factored', digitMask = factored ? tf.tensor2d(Float32Array.from({ length: HEAD_LOGITS }, (_, i) => (i < DIGIT_VALUES ? 1 : 0)), [1, HEAD_LOGITS]) : undefined;
    const e = mlp('cond', digitMask ? tf.mul(cond, digitMask) : cond), ep = digitMask ? mlp('pcond', tf.mul(cond, tf.sub(1, digitMask))) : e;
    const ink = this.ink.forward(tf.reshape(tf.slice(x, [0, 0], [B, INK * INK]), [B, INK, INK, 1]) as tf.Tensor4D, t, undefined, e);
    let h: tf.Tensor2D = tf.concat([tf.slice(x, [0, INK * INK], [B, PATH]), timestepEmbedding(t, T), ep], 1);
    h = silu(linear(h, p('path.l1.w'), p('path.l1.b'))) as tf.Tensor2D;
    h = silu(linear(h, p('path.l2.w'), p('path.l2.b'))) as tf.Tensor2D;
    h = silu(linear(h, p('path.l3.w'), p('path.l3.b'))) as tf.Tensor2D;
    return tf.concat([tf.reshape(ink, [B, INK * INK]), linear(h, p('path.out.w'), p('path.out.b'))], 1) as tf.Tensor2D;
  }

  /** The noise in x at timesteps t (what samplers step with). */
  predictNoise(x: tf.Tensor2D, t: tf.Tensor1D, cond: tf.Tensor2D, alphasCumprod: ArrayLike<number>): tf.Tensor2D {
    const out = this.predict(x, t, cond);
    if (this.config.prediction === 'eps') return out;
    return tf.tidy(() => {
      const a = tf.tensor2d(Float32Array.from(t.dataSync(), (ti) => alphasCumprod[ti]), [x.shape[0], 1]);
      return tf.add(tf.mul(out, tf.sqrt(a)), tf.mul(x, tf.sqrt(tf.sub(1, a)))) as tf.Tensor2D;
    });
  }

  /**
   * Guided DDIM over sprite latents [B, 792], x0 clipped to [-1, 1] (every latent value lies there):
   * cond [B, D] read with guidance against the empty text's uncond [1, D]. What `generate` and the
   * reading RL both sample with.
   */
  sampleLatents(cond: tf.Tensor2D, uncond: tf.Tensor2D, s: { schedule: NoiseSchedule; steps: number; guidance: number }, rng: Rng,
    o: Pick<LoopOptions, 'signal' | 'onStep'> = {}): tf.Tensor2D {
    const B = cond.shape[0], ab = s.schedule.alphasCumprod, scheduler = new DdimScheduler(s.schedule, true);
    scheduler.setTimesteps(s.steps);
    const both = tf.tidy(() => tf.concat([cond, tf.tile(uncond, [B, 1])]) as tf.Tensor2D);
    try {
      const predict = (x: tf.Tensor, t: tf.Tensor1D) => tf.tidy(() => {
        if (s.guidance === 1) return this.predictNoise(x as tf.Tensor2D, t, cond, ab);
        const [c, u] = tf.split(this.predictNoise(tf.concat([x, x]) as tf.Tensor2D, tf.concat([t, t]), both, ab), 2, 0);
        return tf.add(u, tf.mul(tf.sub(c, u), s.guidance));
      });
      return denoiseLoop({ scheduler, x: tf.tensor2d(rng.normalArray(B * SPRITE_LATENT), [B, SPRITE_LATENT]), predict, rng, ...o }) as tf.Tensor2D;
    } finally {
      both.dispose();
    }
  }

  decode(z: tf.Tensor2D): tf.Tensor4D {
    return decodeSpriteLatents(z);
  }
}
