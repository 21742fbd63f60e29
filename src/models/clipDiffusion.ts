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
}, { additionalProperties: false });
export type ClipDiffusionConfig = Static<typeof ClipDiffusionConfigSchema>;

/** What `genlab train clip-diffusion` trains by default: the peer's layer list, narrower (c1/c2 48/96, text 96 wide). */
export function defaultClipDiffusionConfig(): Omit<ClipDiffusionConfig, 'ae' | 'latentScale'> {
  return {
    text: { vocabSize: 128, dim: 96, layers: 2, heads: 4, maxLen: 24 },
    unet: { latent: 4, c1: 48, c2: 96, tembDim: 192, textDim: 96, heads: 4, groups: 8 },
    frames: 16, vocab: [...CLIP_VOCAB],
  };
}

export function savedClipDiffusionConfig(saved: Record<string, unknown>): ClipDiffusionConfig {
  const c = withDefaults(ClipDiffusionConfigSchema, { ...defaultClipDiffusionConfig(), ae: saved.ae as ClipDiffusionConfig['ae'], latentScale: 1 }, saved, 'clip-diffusion');
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

  /** Noise predicted in x [B*frames, 16, 16, latent] at timesteps t [B]. */
  predict(x: tf.Tensor4D, t: tf.Tensor1D, text: TextEncoding): tf.Tensor4D {
    return this.unet.forward(x, t, text, this.config.frames);
  }
}
