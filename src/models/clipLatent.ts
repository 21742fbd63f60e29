// The clip engine's one-pass generators, in the frame autoencoder's latent space: a conditional
// video GAN and a conditional video VAE sharing one generator network. The generator maps a noise
// vector and the text (the frozen text encoder's pooled reading, trained with the diffusion model)
// to 16 latent frames: a 4x4 map from (z, text), then space-time blocks (the peer's STResBlock)
// whose per-frame embedding mixes (z, text) with the frame index, upsampled to 16x16. The critic
// (the GAN's discriminator, the VAE's encoder) runs the blocks the other way and pools over space
// and time. The frozen autoencoder's decoder turns the latents into frames.
import * as tf from '@tensorflow/tfjs-core';
import { CLIP_VOCAB } from '../data/clips/vocab.js';
import { conv2d, conv2dOnData, convWeights, groupNorm, linearWeights, normWeights, silu, upsample2 } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { Type, withDefaults, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { checkVocab } from './clipDiffusion.js';
import { ClipModelBase } from './clipBase.js';
import { FrameAeConfigSchema } from './frameAe.js';
import { TextEncoderConfigSchema } from './textEncoder.js';
import { timestepEmbedding } from './unet.js';
import { stBlock, stBlockWeights } from './videoUnet.js';

export const ClipGenConfigSchema = Type.Object({
  zDim: Type.Integer({ minimum: 1, maximum: 4096, description: 'noise (GAN) or latent code (VAE) size' }),
  c1: Type.Integer({ minimum: 8, maximum: 1024, description: 'channels at 16x16' }),
  c2: Type.Integer({ minimum: 8, maximum: 1024, description: 'channels at 4x4 and 8x8' }),
  embDim: Type.Integer({ minimum: 8, maximum: 4096, description: 'per-frame embedding width' }),
  groups: Type.Integer({ minimum: 1 }),
}, { additionalProperties: false });
export type ClipGenConfig = Static<typeof ClipGenConfigSchema>;

export const ClipLatentConfigSchema = Type.Object({
  kind: Type.Union([Type.Literal('gan'), Type.Literal('vae')]),
  gen: ClipGenConfigSchema,
  text: TextEncoderConfigSchema,
  ae: FrameAeConfigSchema,
  frames: Type.Integer({ minimum: 1, maximum: 64 }),
  latentScale: Type.Number({ exclusiveMinimum: 0 }),
  vocab: Type.Array(Type.String()),
  /** the VAE's KL weight */
  beta: Type.Number({ minimum: 0 }),
}, { additionalProperties: false });
export type ClipLatentConfig = Static<typeof ClipLatentConfigSchema>;

export function defaultClipGenConfig(): ClipGenConfig {
  return { zDim: 64, c1: 48, c2: 96, embDim: 128, groups: 8 };
}

export function savedClipLatentConfig(saved: Record<string, unknown>): ClipLatentConfig {
  const c = withDefaults(ClipLatentConfigSchema, { beta: 1e-3, vocab: [...CLIP_VOCAB], frames: 16, gen: defaultClipGenConfig() } as ClipLatentConfig, saved, 'clip generator');
  checkVocab(c.vocab);
  return c;
}

/** The generator's and the critic's weights (`gen.*`, and `disc.*` for the GAN or `enc.*` for the VAE). */
export function initClipLatentWeights(c: Pick<ClipLatentConfig, 'kind' | 'gen' | 'text' | 'ae'>, rng: Rng): Weights {
  const w: Weights = new Map(), g = c.gen, D = c.text.dim, L = c.ae.latent, E = g.embDim;
  linearWeights(w, 'gen.e1', rng, g.zDim + D, E);
  linearWeights(w, 'gen.e2', rng, E, E);
  linearWeights(w, 'gen.ft', rng, 128, E);
  linearWeights(w, 'gen.f2', rng, E, E);
  linearWeights(w, 'gen.map', rng, E, 16 * g.c2);
  stBlockWeights(w, 'gen.b1', rng, g.c2, g.c2, E);
  convWeights(w, 'gen.up1', rng, 3, g.c2, g.c2);
  stBlockWeights(w, 'gen.b2', rng, g.c2, g.c2, E);
  convWeights(w, 'gen.up2', rng, 3, g.c2, g.c1);
  stBlockWeights(w, 'gen.b3', rng, g.c1, g.c1, E);
  normWeights(w, 'gen.out.n', g.c1);
  convWeights(w, 'gen.out.c', rng, 3, g.c1, L);
  const k = c.kind === 'gan' ? 'disc' : 'enc';
  linearWeights(w, `${k}.e`, rng, D, E);
  convWeights(w, `${k}.in`, rng, 3, L, g.c1);
  stBlockWeights(w, `${k}.b1`, rng, g.c1, g.c1, E);
  convWeights(w, `${k}.down1`, rng, 3, g.c1, g.c2);
  stBlockWeights(w, `${k}.b2`, rng, g.c2, g.c2, E);
  convWeights(w, `${k}.down2`, rng, 3, g.c2, g.c2);
  stBlockWeights(w, `${k}.b3`, rng, g.c2, g.c2, E);
  normWeights(w, `${k}.n`, g.c2);
  if (c.kind === 'gan') {
    linearWeights(w, 'disc.out', rng, g.c2, 1);
    linearWeights(w, 'disc.proj', rng, D, g.c2); // projection discriminator (Miyato & Koyama 2018)
  } else linearWeights(w, 'enc.out', rng, 16 * g.c2, 2 * g.zDim);
  return w;
}

export class ClipLatent extends ClipModelBase {
  constructor(readonly config: ClipLatentConfig, weights: Weights) {
    super(config, weights);
  }

  /** The generator's weights (the GAN's G phase, and with the encoder the VAE's). */
  names(prefix: 'gen.' | 'disc.' | 'enc.'): string[] {
    return [...this.params.keys()].filter((k) => k.startsWith(prefix));
  }

  /** z [B, zDim] and the pooled text [B, D] -> scaled latents [B*frames, 16, 16, latent]. */
  generate(z: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor4D {
    const p = (n: string) => this.p(`gen.${n}`), g = this.config.gen, T = this.config.frames, B = z.shape[0];
    const e = linear(silu(linear(tf.concat([z, pooled], 1), p('e1.w'), p('e1.b'))), p('e2.w'), p('e2.b')) as tf.Tensor2D; // [B, E]
    const ft = linear(timestepEmbedding(tf.range(0, T, 1, 'int32') as tf.Tensor1D, 128), p('ft.w'), p('ft.b')); // [T, E]
    const sum = tf.add(tf.expandDims(e, 1), tf.expandDims(ft, 0)); // [B, T, E]
    const eT = tf.reshape(linear(silu(sum), p('f2.w'), p('f2.b')), [B * T, g.embDim]) as tf.Tensor2D;
    let h = tf.reshape(linear(eT, p('map.w'), p('map.b')), [B * T, 4, 4, g.c2]) as tf.Tensor4D;
    h = stBlock((n) => this.p(n), 'gen.b1', h, eT, T, g.groups);
    h = stBlock((n) => this.p(n), 'gen.b2', conv2d(upsample2(h), p('up1.w'), p('up1.b'), 1, 1), eT, T, g.groups);
    h = stBlock((n) => this.p(n), 'gen.b3', conv2d(upsample2(h), p('up2.w'), p('up2.b'), 1, 1), eT, T, g.groups);
    return conv2d(groupNorm(h, p('out.n.g'), p('out.n.b'), g.groups, { silu: true }), p('out.c.w'), p('out.c.b'), 1, 1);
  }

  /** The critic's features of latents [B*frames, 16, 16, latent] read with the text: the GAN's
   *  pooled over space and time [B, c2]; the VAE's over time only [B, 16 * c2], so that q(z) can
   *  hold where the digit is (a spatial mean would leave the decoder only the average position). */
  private critic(k: 'disc' | 'enc', x: tf.Tensor4D, pooled: tf.Tensor2D, data: boolean): tf.Tensor2D {
    const p = (n: string) => this.p(`${k}.${n}`), g = this.config.gen, T = this.config.frames, B = pooled.shape[0];
    const e = linear(pooled, p('e.w'), p('e.b'));
    const eT = tf.reshape(tf.tile(tf.expandDims(e, 1), [1, T, 1]), [B * T, g.embDim]) as tf.Tensor2D;
    let h = data ? conv2dOnData(x, p('in.w') as tf.Tensor4D, p('in.b') as tf.Tensor1D, 1, 1) : conv2d(x, p('in.w'), p('in.b'), 1, 1);
    h = conv2d(stBlock((n) => this.p(n), `${k}.b1`, h, eT, T, g.groups), p('down1.w'), p('down1.b'), 2, 1);
    h = conv2d(stBlock((n) => this.p(n), `${k}.b2`, h, eT, T, g.groups), p('down2.w'), p('down2.b'), 2, 1);
    h = groupNorm(stBlock((n) => this.p(n), `${k}.b3`, h, eT, T, g.groups), p('n.g'), p('n.b'), g.groups, { silu: true });
    if (k === 'enc') return tf.reshape(tf.mean(tf.reshape(h, [B, T, 16 * g.c2]), 1), [B, 16 * g.c2]) as tf.Tensor2D;
    return tf.mean(tf.reshape(h, [B, T * 16, g.c2]), 1) as tf.Tensor2D;
  }

  /** GAN: the discriminator's score [B] of latents read with the text (projection of the pooled text). `data`: x takes no gradient. */
  score(x: tf.Tensor4D, pooled: tf.Tensor2D, data = false): tf.Tensor1D {
    const f = this.critic('disc', x, pooled, data), p = (n: string) => this.p(`disc.${n}`);
    return tf.reshape(tf.add(linear(f, p('out.w'), p('out.b')), tf.sum(tf.mul(f, linear(pooled, p('proj.w'), p('proj.b'))), 1, true)), [-1]) as tf.Tensor1D;
  }

  /** VAE: the posterior q(z | x, text) as mean and log-variance [B, zDim]. */
  posterior(x: tf.Tensor4D, pooled: tf.Tensor2D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    const f = this.critic('enc', x, pooled, true), p = (n: string) => this.p(`enc.${n}`);
    const [mu, logvar] = tf.split(linear(f, p('out.w'), p('out.b')), 2, 1) as tf.Tensor2D[];
    return { mu, logvar: tf.clipByValue(logvar, -10, 10) as tf.Tensor2D };
  }
}
