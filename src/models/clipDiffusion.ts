// Latent video diffusion (the clip engine's default generator): the text encoder reads the words,
// the space-time denoiser predicts the noise of 16 latent frames, and the frame autoencoder's
// decoder turns the latents into 64x64 frames. One ParamStore holds all three (`text.*`,
// `unet.*`, `ae.*`); the autoencoder is frozen, trained before by `genlab train frame-ae`.
import * as tf from '@tensorflow/tfjs-core';
import { CLIP_VOCAB } from '../data/clips/vocab.js';
import type { Weights } from '../nn/layers.js';
import { Type, withDefaults, type Static } from '../util/config.js';
import { ClipModelBase } from './clipBase.js';
import { FrameAeConfigSchema } from './frameAe.js';
import { TextEncoderConfigSchema, type TextEncoding } from './textEncoder.js';
import { unusedVideoUnetWeights, VideoUnet, VideoUnetConfigSchema } from './videoUnet.js';

export const ClipDiffusionConfigSchema = Type.Object({
  text: TextEncoderConfigSchema,
  unet: VideoUnetConfigSchema,
  ae: FrameAeConfigSchema,
  frames: Type.Integer({ minimum: 1, maximum: 64 }),
  /** latents are multiplied by this before diffusion (LDM's scale factor: 1 / their std) */
  latentScale: Type.Number({ exclusiveMinimum: 0 }),
  vocab: Type.Array(Type.String(), { description: 'the token list the text encoder was trained with' }),
  /** what the denoiser outputs: the noise (DDPM's eps) or v = sqrt(a) eps - sqrt(1 - a) x0 (Salimans & Ho 2022) */
  prediction: Type.Union([Type.Literal('eps'), Type.Literal('v')]),
}, { additionalProperties: false });
export type ClipDiffusionConfig = Static<typeof ClipDiffusionConfigSchema>;

/** What `genlab train clip-diffusion` trains by default: the peer's layer list, narrower (c1/c2 48/96, text 96 wide). */
export function defaultClipDiffusionConfig(): Omit<ClipDiffusionConfig, 'ae' | 'latentScale'> {
  return {
    text: { vocabSize: 128, dim: 96, layers: 2, heads: 4, maxLen: 24 },
    unet: { latent: 4, c1: 48, c2: 96, tembDim: 192, textDim: 96, heads: 4, groups: 8 },
    frames: 16, vocab: [...CLIP_VOCAB],
    // v, not eps: the layout is decided at t > 750, where eps's loss barely sees x0 (README: the clip engine)
    prediction: 'v',
  };
}

export function savedClipDiffusionConfig(saved: Record<string, unknown>): ClipDiffusionConfig {
  // checkpoints from before `prediction` existed predict eps
  const c = withDefaults(ClipDiffusionConfigSchema, { ...defaultClipDiffusionConfig(), prediction: 'eps', ae: saved.ae as ClipDiffusionConfig['ae'], latentScale: 1 }, saved, 'clip-diffusion');
  checkVocab(c.vocab);
  return c;
}

/** A checkpoint's vocabulary must be this build's (ids are positions in the list). */
export function checkVocab(vocab: readonly string[]): void {
  if (vocab.length > CLIP_VOCAB.length || vocab.some((w, i) => w !== CLIP_VOCAB[i])) throw new RangeError('this checkpoint was trained with another vocabulary than this genlab version has');
}

export class ClipDiffusion extends ClipModelBase {
  readonly unet: VideoUnet;

  constructor(readonly config: ClipDiffusionConfig, weights: Weights) {
    super(config, weights);
    if (config.unet.textDim !== config.text.dim) throw new RangeError(`clip-diffusion: unet.textDim ${config.unet.textDim} is not the text encoder's width ${config.text.dim}`);
    if (config.unet.latent !== config.ae.latent) throw new RangeError(`clip-diffusion: unet.latent ${config.unet.latent} is not the autoencoder's ${config.ae.latent}`);
    this.unet = new VideoUnet(config.unet, (n) => this.p(n));
  }

  /** Names the denoiser's training updates (the autoencoder stays frozen; the peer's unused norms get no gradient). */
  get trainable(): string[] {
    const unused = new Set(unusedVideoUnetWeights());
    return [...this.params.keys()].filter((k) => !k.startsWith('ae.') && !unused.has(k));
  }

  /** The denoiser's output (eps or v, as `config.prediction` says) for x [B*frames, 16, 16, latent] at timesteps t [B]. */
  predict(x: tf.Tensor4D, t: tf.Tensor1D, text: TextEncoding): tf.Tensor4D {
    return this.unet.forward(x, t, text, this.config.frames);
  }

  /** The noise in x at timesteps t, what samplers step with: the output itself, or eps = sqrt(a) v + sqrt(1 - a) x. */
  predictNoise(x: tf.Tensor4D, t: tf.Tensor1D, text: TextEncoding, alphasCumprod: ArrayLike<number>): tf.Tensor4D {
    const out = this.predict(x, t, text);
    if (this.config.prediction === 'eps') return out;
    return tf.tidy(() => epsFromV(out, x, perFrame(t, this.config.frames, alphasCumprod)));
  }
}

/** v-prediction's target (Salimans & Ho 2022): v = sqrt(a) eps - sqrt(1 - a) x0, a = alphasCumprod[t] (broadcast). */
export function vTarget(x0: tf.Tensor4D, eps: tf.Tensor4D, a: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.mul(eps, tf.sqrt(a)), tf.mul(x0, tf.sqrt(tf.sub(1, a)))) as tf.Tensor4D);
}

/** The noise in x_t = sqrt(a) x0 + sqrt(1 - a) eps given its v: eps = sqrt(a) v + sqrt(1 - a) x_t. */
export function epsFromV(v: tf.Tensor4D, xt: tf.Tensor4D, a: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(v, tf.sqrt(a)), tf.mul(xt, tf.sqrt(tf.sub(1, a)))) as tf.Tensor4D);
}

/** alphasCumprod at each clip's timestep, repeated for its frames: [B*frames, 1, 1, 1]. */
export function perFrame(t: tf.Tensor1D, frames: number, alphasCumprod: ArrayLike<number>): tf.Tensor4D {
  const ts = t.dataSync();
  return tf.tensor4d(Float32Array.from({ length: ts.length * frames }, (_, i) => alphasCumprod[ts[Math.floor(i / frames)]]), [ts.length * frames, 1, 1, 1]);
}
