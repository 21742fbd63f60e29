// The clip engine's one-pass generators: a conditional video GAN and a conditional video VAE
// sharing one generator network, of two kinds. 'field': a noise vector and the text (the frozen
// text encoder's pooled reading) to 16 latent frames: a 4x4 map from (z, text), then space-time
// blocks (the peer's STResBlock) whose per-frame embedding mixes (z, text) with the frame index,
// upsampled to 16x16; the frozen autoencoder's decoder turns them into frames; its critic (the
// GAN's discriminator, the VAE's encoder) runs the blocks the other way on latents. 'sprite'
// (layered, as MoCoGAN splits content from motion): one 28x28 ink image, a tint, a size and a
// straight path from (z, text), composed into the 16 frames by a differentiable box-filter paste,
// so the object keeps its shape and moves rigidly by construction; its critic reads pixels: a
// glimpse around the object and its path.
import * as tf from '@tensorflow/tfjs-core';
import { CLIP_VOCAB } from '../data/clips/vocab.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES } from '../data/clips/world.js';
import { conv2d, conv2dOnData, convWeights, groupNorm, linearWeights, normWeights, silu, upsample2 } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { Type, withDefaults, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { checkVocab } from './clipDiffusion.js';
import { ClipModelBase } from './clipBase.js';
import { FrameAeConfigSchema } from './frameAe.js';
import { decodeSpriteLatents, INK, pasteSprite, PATH } from './spriteLatent.js';
import { TextEncoderConfigSchema } from './textEncoder.js';
import { timestepEmbedding } from './unet.js';
import { stBlock, stBlockWeights } from './videoUnet.js';

export const ClipGenConfigSchema = Type.Object({
  zDim: Type.Integer({ minimum: 1, maximum: 4096, description: 'noise (GAN) or latent code (VAE) size' }),
  c1: Type.Integer({ minimum: 8, maximum: 1024, description: 'channels at 16x16' }),
  c2: Type.Integer({ minimum: 8, maximum: 1024, description: 'channels at 4x4 and 8x8' }),
  embDim: Type.Integer({ minimum: 8, maximum: 4096, description: 'per-frame embedding width' }),
  groups: Type.Integer({ minimum: 1 }),
  /** the generator's kind (absent: 'field', what the first checkpoints hold); 'latent': the GAN in sprite diffusion's latent (latentGanWeights) */
  arch: Type.Optional(Type.Union([Type.Literal('field'), Type.Literal('sprite'), Type.Literal('latent')])),
  /** VAE: 'text', a prior p(z | text) learnt from the pooled text (the CVAE's prior network, Sohn et al. 2015); absent, N(0, I) */
  prior: Type.Optional(Type.Literal('text')),
  /** what the generator reads of the text: absent, the pooled encoding [text.dim]; 'heads', the frozen clip-text heads' softmax per attribute [23] */
  cond: Type.Optional(Type.Literal('heads')),
  /** cond=heads: the softmaxes times this (new runs: 4, so that the text's part of the input is near the pooled encoding's norm of about 12; absent: 1, the first runs) */
  headScale: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
  /** cond=heads: the softmaxes as they are, or one-hot at each argmax (headsCondition; absent: hard, measured better on held-out pairs for every heads checkpoint there is) */
  reading: Type.Optional(Type.Union([Type.Literal('soft'), Type.Literal('hard')])),
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

/** The width of what the generator reads of the text (ClipLatent.condition). */
export function condDim(c: Pick<ClipLatentConfig, 'gen' | 'text'>): number {
  return c.gen.cond === 'heads' ? AUX_LOGITS : c.text.dim;
}

/** The generator's and the critic's weights (`gen.*`, and `disc.*` for the GAN or `enc.*` for the VAE). */
export function initClipLatentWeights(c: Pick<ClipLatentConfig, 'kind' | 'gen' | 'text' | 'ae'>, rng: Rng): Weights {
  const w: Weights = new Map(), g = c.gen, D = condDim(c), E = g.embDim;
  if (g.arch === 'latent') {
    if (c.kind !== 'gan' || g.cond !== 'heads') throw new RangeError('arch=latent is a GAN reading the clip-text heads (cond=heads)');
    latentGanWeights(w, g, rng);
    return w;
  }
  linearWeights(w, 'gen.e1', rng, g.zDim + D, E);
  linearWeights(w, 'gen.e2', rng, E, E);
  if (g.arch === 'sprite') {
    linearWeights(w, 'gen.s.map', rng, E, 7 * 7 * g.c2);
    convWeights(w, 'gen.s.up1', rng, 3, g.c2, g.c1);
    normWeights(w, 'gen.s.n1', g.c1);
    convWeights(w, 'gen.s.up2', rng, 3, g.c1, g.c1);
    normWeights(w, 'gen.s.n2', g.c1);
    convWeights(w, 'gen.s.out', rng, 3, g.c1, 1);
    linearWeights(w, 'gen.path', rng, E, SPRITE_HEAD);
  } else fieldWeights(w, c, rng);
  if (c.kind === 'vae' && g.prior === 'text') linearWeights(w, 'gen.prior', rng, D, 2 * g.zDim);
  if (g.arch === 'sprite') glimpseCriticWeights(w, c, rng);
  else criticWeights(w, c, rng);
  return w;
}

const GLIMPSE = 32, FEAT = 256, PATH_FEAT = 128;

/**
 * The latent GAN (arch=latent): G draws sprite diffusion's latent (spriteLatent.ts), the ink by a
 * DCGAN-shaped CNN (7x7xc2, 14x14xc1, 28x28) from (z, the digit head's reading) and the path by an
 * MLP from (z, the other four heads' reading), factored as sprite diffusion's denoiser reads them;
 * D judges the ink with a two-layer strided CNN and the path with an MLP, each a projection discriminator on its part of the
 * heads with an auxiliary classifier of its attributes (AC-GAN). The paste decodes the latent.
 */
function latentGanWeights(w: Weights, g: ClipGenConfig, rng: Rng): void {
  const E = g.embDim;
  linearWeights(w, 'gen.ie1', rng, g.zDim + HEAD_LOGITS, E);
  linearWeights(w, 'gen.ie2', rng, E, E);
  linearWeights(w, 'gen.s.map', rng, E, 7 * 7 * g.c2);
  convWeights(w, 'gen.s.up1', rng, 3, g.c2, g.c1);
  normWeights(w, 'gen.s.n1', g.c1);
  convWeights(w, 'gen.s.out', rng, 3, g.c1, 1);
  linearWeights(w, 'gen.pe1', rng, g.zDim + HEAD_LOGITS, E);
  linearWeights(w, 'gen.pe2', rng, E, E);
  linearWeights(w, 'gen.pout', rng, E, PATH);
  convWeights(w, 'disc.i.c1', rng, 3, 1, g.c1);
  convWeights(w, 'disc.i.c2', rng, 3, g.c1, g.c2);
  linearWeights(w, 'disc.i.f', rng, 7 * 7 * g.c2, FEAT);
  linearWeights(w, 'disc.i.out', rng, FEAT, 1);
  linearWeights(w, 'disc.i.proj', rng, HEAD_LOGITS, FEAT);
  linearWeights(w, 'disc.i.aux', rng, FEAT, AUX_GROUPS[0]);
  linearWeights(w, 'disc.p.l1', rng, PATH, PATH_FEAT);
  linearWeights(w, 'disc.p.l2', rng, PATH_FEAT, PATH_FEAT);
  linearWeights(w, 'disc.p.out', rng, PATH_FEAT, 1);
  linearWeights(w, 'disc.p.proj', rng, HEAD_LOGITS, PATH_FEAT);
  linearWeights(w, 'disc.p.aux', rng, PATH_FEAT, HEAD_LOGITS - AUX_GROUPS[0]);
}

/** [1, 23]: 1 on the digit head's part of headsCondition's output (the ink's), 0 on the rest (the path's). */
function digitPart(): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from({ length: HEAD_LOGITS }, (_, i) => (i < AUX_GROUPS[0] ? 1 : 0)), [1, HEAD_LOGITS]);
}

/** The sprite generator's pixel critic (the GAN's discriminator, the VAE's encoder): a CNN on the object's glimpse, an MLP on its path. */
function glimpseCriticWeights(w: Weights, c: Pick<ClipLatentConfig, 'kind' | 'gen' | 'text'>, rng: Rng): void {
  const g = c.gen, T = 16, k = c.kind === 'gan' ? 'disc' : 'enc';
  convWeights(w, `${k}.g1`, rng, 3, 3, g.c1);
  convWeights(w, `${k}.g2`, rng, 3, g.c1, g.c2);
  convWeights(w, `${k}.g3`, rng, 3, g.c2, g.c2);
  convWeights(w, `${k}.g4`, rng, 3, g.c2, g.c2);
  linearWeights(w, `${k}.gf`, rng, 16 * g.c2, FEAT);
  linearWeights(w, `${k}.pf`, rng, 3 * T + 2, PATH_FEAT);
  linearWeights(w, `${k}.h`, rng, FEAT + PATH_FEAT, FEAT);
  if (k === 'enc') {
    linearWeights(w, 'enc.out', rng, FEAT + condDim(c), 2 * g.zDim); // q(z | clip, text)
    return;
  }
  linearWeights(w, 'disc.out', rng, FEAT, 1);
  linearWeights(w, 'disc.proj', rng, condDim(c), FEAT); // projection discriminator (Miyato & Koyama 2018)
  auxWeights(w, rng);
}

/** The sprite GAN's auxiliary classifier (AC-GAN, Odena et al. 2017): one logit per attribute value, from the critic's features. */
export function auxWeights(w: Weights, rng: Rng): void {
  linearWeights(w, 'disc.aux', rng, FEAT, AUX_LOGITS);
}
/** the logits' groups, in ATTRIBUTE_NAMES' order: digit, colour, direction, speed, size */
export const AUX_GROUPS = ATTRIBUTE_NAMES.map((k) => ATTRIBUTE_VALUES[k].length);
const AUX_LOGITS = AUX_GROUPS.reduce((a, b) => a + b, 0);
/** the width of headsCondition's output */
export const HEAD_LOGITS = AUX_LOGITS;

/** Each frame's ink mass [N] and centre of mass (cx, cy) [N] in pixels, of frames [N, 64, 64, 3]. */
export function massCentres(x: tf.Tensor4D): { mass: tf.Tensor1D; cx: tf.Tensor1D; cy: tf.Tensor1D } {
  const grey = tf.mean(x, 3), mass = tf.add(tf.sum(grey, [1, 2]), 1e-3) as tf.Tensor1D, at = tf.add(tf.range(0, CANVAS), 0.5);
  const cy = tf.div(tf.sum(tf.mul(tf.sum(grey, 2), at), 1), mass) as tf.Tensor1D, cx = tf.div(tf.sum(tf.mul(tf.sum(grey, 1), at), 1), mass) as tf.Tensor1D;
  return { mass, cx, cy };
}

/** Selection matrices [N, 32, 64] that pick 32 rows (or columns) from `start` (each clamped into the canvas). */
function windows(centres: ArrayLike<number>): tf.Tensor3D {
  const N = centres.length, m = new Float32Array(N * GLIMPSE * CANVAS);
  for (let n = 0; n < N; n++) {
    const o = Math.max(0, Math.min(CANVAS - GLIMPSE, Math.round(centres[n] - GLIMPSE / 2)));
    for (let a = 0; a < GLIMPSE; a++) m[(n * GLIMPSE + a) * CANVAS + o + a] = 1;
  }
  return tf.tensor3d(m, [N, GLIMPSE, CANVAS]);
}

/** Per clip: tint (3), size (1), velocity (2), the path's midpoint (2). */
const SPRITE_HEAD = 8;
/** The sprite's side in pixels spans [MIN_SIDE, MIN_SIDE + SIDE_RANGE]; speed at most MAX_SPEED pixels a frame on each axis. */
const MIN_SIDE = 16, SIDE_RANGE = 20, MAX_SPEED = 3, CANVAS = 64;

function fieldWeights(w: Weights, c: Pick<ClipLatentConfig, 'gen' | 'ae'>, rng: Rng): void {
  const g = c.gen, L = c.ae.latent, E = g.embDim;
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
}

function criticWeights(w: Weights, c: Pick<ClipLatentConfig, 'kind' | 'gen' | 'text' | 'ae'>, rng: Rng): void {
  const g = c.gen, D = condDim(c), L = c.ae.latent, E = g.embDim;
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
}

/**
 * The frozen clip-text heads' softmaxes of pooled encodings [B, dim], side by side and scaled: [B, 23] (AUX_GROUPS).
 * With `hardFor` (the texts read), each head's one-hot at its argmax instead, but for the empty
 * text, which keeps its softmaxes (guidance's null input): a held-out pair's less sure reading then
 * gives the same input as a sure one (README: sprite diffusion).
 */
export function headsCondition(pooled: tf.Tensor2D, p: (name: string) => tf.Tensor, scale: number, hardFor?: readonly string[]): tf.Tensor2D {
  const probs = ATTRIBUTE_NAMES.map((k) => tf.softmax(linear(pooled, p(`head.${k}.w`), p(`head.${k}.b`))) as tf.Tensor2D);
  const soft = tf.mul(tf.concat(probs, 1), scale) as tf.Tensor2D;
  if (!hardFor) return soft;
  const hard = tf.mul(tf.concat(probs.map((g) => tf.oneHot(tf.argMax(g, 1), g.shape[1])), 1), scale);
  const empty = tf.tensor2d(hardFor.map((t) => (t.trim() === '' ? 1 : 0)), [hardFor.length, 1]);
  return tf.add(tf.mul(hard, tf.sub(1, empty)), tf.mul(soft, empty)) as tf.Tensor2D;
}

export class ClipLatent extends ClipModelBase {
  constructor(readonly config: ClipLatentConfig, weights: Weights) {
    super(config, weights);
  }

  /**
   * What the generator and its critic read of texts [B]: the pooled encoding [B, text.dim], or
   * with cond=heads the frozen clip-text heads' softmaxes side by side, scaled [B, 23]: the encoder's own
   * reading, one factor per attribute, so that a digit-direction pair training never showed is
   * two familiar inputs rather than one unfamiliar pooled vector. Unscaled (norm about 2.2 against
   * the pooled encoding's 12), a sprite VAE learnt to ignore them: 7% exact (README).
   */
  condition(texts: readonly string[]): tf.Tensor2D {
    return tf.tidy(() => {
      const pooled = this.encodeText(texts).pooled;
      return this.config.gen.cond === 'heads' ? headsCondition(pooled, (n) => this.p(n), this.config.gen.headScale ?? 1, this.config.gen.reading !== 'soft' ? texts : undefined) : pooled;
    });
  }

  /** The generator's weights (the GAN's G phase, and with the encoder the VAE's). */
  names(prefix: 'gen.' | 'disc.' | 'enc.'): string[] {
    return [...this.params.keys()].filter((k) => k.startsWith(prefix));
  }

  /** z [B, zDim] and the pooled text [B, D] -> frames [B*frames, 64, 64, 3] in [0, 1]. */
  frames(z: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor4D {
    const arch = this.config.gen.arch;
    if (arch === 'latent') return tf.tidy(() => decodeSpriteLatents(this.latent(z, pooled)));
    return arch === 'sprite' ? this.spriteFrames(z, pooled) : this.decode(this.generate(z, pooled));
  }

  /** The latent GAN's generator: z [B, zDim] and the heads' reading [B, 23] -> sprite latents [B, 792] (ink in [-1, 1], then the path). */
  latent(z: tf.Tensor2D, cond: tf.Tensor2D): tf.Tensor2D {
    const p = (n: string) => this.p(`gen.${n}`), g = this.config.gen, B = z.shape[0], m = digitPart();
    const embed = (k: string, c: tf.Tensor) => silu(linear(silu(linear(tf.concat([z, c], 1), p(`${k}e1.w`), p(`${k}e1.b`))), p(`${k}e2.w`), p(`${k}e2.b`))) as tf.Tensor2D;
    let h = tf.reshape(linear(embed('i', tf.mul(cond, m)), p('s.map.w'), p('s.map.b')), [B, 7, 7, g.c2]) as tf.Tensor4D;
    h = groupNorm(conv2d(upsample2(h), p('s.up1.w'), p('s.up1.b'), 1, 1), p('s.n1.g'), p('s.n1.b'), g.groups, { silu: true });
    const ink = tf.reshape(tf.tanh(conv2d(upsample2(h), p('s.out.w'), p('s.out.b'), 1, 1)), [B, INK * INK]);
    const path = linear(embed('p', tf.mul(cond, tf.sub(1, m))), p('pout.w'), p('pout.b'));
    return tf.concat([ink, path], 1) as tf.Tensor2D;
  }

  /** The latent GAN's critic's features of sprite latents x [B, 792]: the ink's [B, 256] and the path's [B, 128]. */
  latentFeatures(x: tf.Tensor2D): { ink: tf.Tensor2D; path: tf.Tensor2D } {
    const p = (n: string) => this.p(`disc.${n}`), B = x.shape[0];
    let h = tf.reshape(tf.slice(x, [0, 0], [B, INK * INK]), [B, INK, INK, 1]) as tf.Tensor4D;
    h = tf.leakyRelu(conv2d(h, p('i.c1.w'), p('i.c1.b'), 2, 1), 0.2);
    h = tf.leakyRelu(conv2d(h, p('i.c2.w'), p('i.c2.b'), 2, 1), 0.2);
    const ink = tf.leakyRelu(linear(tf.reshape(h, [B, -1]), p('i.f.w'), p('i.f.b')), 0.2) as tf.Tensor2D;
    const fp = tf.leakyRelu(linear(tf.slice(x, [0, INK * INK], [B, PATH]), p('p.l1.w'), p('p.l1.b')), 0.2) as tf.Tensor2D;
    return { ink, path: tf.leakyRelu(linear(fp, p('p.l2.w'), p('p.l2.b')), 0.2) as tf.Tensor2D };
  }

  /** The latent GAN's scores [B] of features from latentFeatures read with the heads [B, 23] (each part with its own heads), and the auxiliary logits [B, 23] (AUX_GROUPS). */
  latentScores(f: { ink: tf.Tensor2D; path: tf.Tensor2D }, cond: tf.Tensor2D): { ink: tf.Tensor1D; path: tf.Tensor1D; aux: tf.Tensor2D } {
    const p = (n: string) => this.p(`disc.${n}`), m = digitPart();
    const score = (h: tf.Tensor2D, k: string, c: tf.Tensor) => tf.reshape(tf.add(linear(h, p(`${k}.out.w`), p(`${k}.out.b`)), tf.sum(tf.mul(h, linear(c, p(`${k}.proj.w`), p(`${k}.proj.b`))), 1, true)), [-1]) as tf.Tensor1D;
    const aux = tf.concat([linear(f.ink, p('i.aux.w'), p('i.aux.b')), linear(f.path, p('p.aux.w'), p('p.aux.b'))], 1) as tf.Tensor2D;
    return { ink: score(f.ink, 'i', tf.mul(cond, m)), path: score(f.path, 'p', tf.mul(cond, tf.sub(1, m))), aux };
  }

  /** latentScores of latents x [B, 792]. */
  latentCritic(x: tf.Tensor2D, cond: tf.Tensor2D): { ink: tf.Tensor1D; path: tf.Tensor1D; aux: tf.Tensor2D } {
    return this.latentScores(this.latentFeatures(x), cond);
  }

  /** The sprite generator's parts: ink [B, 28, 28] in [0, 1], tint [B, 3], side [B] and top-left positions [B, frames, 2] in pixels. */
  sprite(z: tf.Tensor2D, pooled: tf.Tensor2D): { ink: tf.Tensor3D; tint: tf.Tensor2D; side: tf.Tensor1D; pos: tf.Tensor3D } {
    const p = (n: string) => this.p(`gen.${n}`), g = this.config.gen, T = this.config.frames, B = z.shape[0];
    const e = silu(this.embed(z, pooled));
    let h = tf.reshape(linear(e, p('s.map.w'), p('s.map.b')), [B, 7, 7, g.c2]) as tf.Tensor4D;
    h = groupNorm(conv2d(upsample2(h), p('s.up1.w'), p('s.up1.b'), 1, 1), p('s.n1.g'), p('s.n1.b'), g.groups, { silu: true });
    h = groupNorm(conv2d(upsample2(h), p('s.up2.w'), p('s.up2.b'), 1, 1), p('s.n2.g'), p('s.n2.b'), g.groups, { silu: true });
    const ink = tf.reshape(tf.sigmoid(conv2d(h, p('s.out.w'), p('s.out.b'), 1, 1)), [B, INK, INK]) as tf.Tensor3D;
    const head = linear(e, p('path.w'), p('path.b'));
    const tint = tf.sigmoid(tf.slice(head, [0, 0], [B, 3])) as tf.Tensor2D;
    const side = tf.reshape(tf.add(MIN_SIDE, tf.mul(SIDE_RANGE, tf.sigmoid(tf.slice(head, [0, 3], [B, 1])))), [B]) as tf.Tensor1D;
    const v = tf.mul(MAX_SPEED, tf.tanh(tf.slice(head, [0, 4], [B, 2])));
    const mid = tf.mul(tf.sigmoid(tf.slice(head, [0, 6], [B, 2])), tf.sub(CANVAS, tf.expandDims(side, 1)));
    const t = tf.reshape(tf.sub(tf.range(0, T), (T - 1) / 2), [1, T, 1]);
    const pos = tf.add(tf.expandDims(mid, 1), tf.mul(t, tf.expandDims(v, 1))) as tf.Tensor3D;
    return { ink, tint, side, pos };
  }

  private spriteFrames(z: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor4D {
    const { ink, tint, side, pos } = this.sprite(z, pooled);
    return pasteSprite(ink, tint, side, pos);
  }

  private embed(z: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor2D {
    const p = (n: string) => this.p(`gen.${n}`);
    return linear(silu(linear(tf.concat([z, pooled], 1), p('e1.w'), p('e1.b'))), p('e2.w'), p('e2.b')) as tf.Tensor2D; // [B, E]
  }

  /** z [B, zDim] and the pooled text [B, D] -> scaled latents [B*frames, 16, 16, latent] (sprite: its frames' encodings, differentiable). */
  generate(z: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor4D {
    if (this.config.gen.arch === 'sprite' || this.config.gen.arch === 'latent') return tf.mul(this.ae.encode(this.frames(z, pooled), true).mu, this.config.latentScale) as tf.Tensor4D;
    const p = (n: string) => this.p(`gen.${n}`), g = this.config.gen, T = this.config.frames, B = z.shape[0];
    const e = this.embed(z, pooled);
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

  /**
   * The sprite GAN's critic on frames [B*frames, 64, 64, 3]: each frame's centre of mass, a 32x32
   * glimpse around it (the captioner's lesson: a CNN over the whole 64x64 frame does not learn to
   * read a 20-pixel digit anywhere in it), the glimpses averaged over the clip for a CNN, and the
   * path (centres relative to their mean, masses relative to theirs) for an MLP. [B, 256].
   * The sprite VAE's encoder is the same network (`enc.*`).
   */
  pixelFeatures(x: tf.Tensor4D, k: 'disc' | 'enc' = 'disc'): tf.Tensor2D {
    const p = (n: string) => this.p(`${k}.${n}`), T = this.config.frames, N = x.shape[0], B = N / T;
    const { mass, cx, cy } = massCentres(x);
    const rows = tf.matMul(windows(cy.dataSync()), tf.reshape(x, [N, CANVAS, CANVAS * 3])); // [N, 32, 64*3]
    const byCol = tf.reshape(tf.transpose(tf.reshape(rows, [N, GLIMPSE, CANVAS, 3]), [0, 2, 1, 3]), [N, CANVAS, GLIMPSE * 3]);
    const crop = tf.transpose(tf.reshape(tf.matMul(windows(cx.dataSync()), byCol), [N, GLIMPSE, GLIMPSE, 3]), [0, 2, 1, 3]); // [N, 32, 32, 3]
    let h = tf.mean(tf.reshape(crop, [B, T, GLIMPSE, GLIMPSE, 3]), 1) as tf.Tensor4D;
    h = tf.leakyRelu(conv2d(h, p('g1.w'), p('g1.b'), 1, 1), 0.2);
    for (const k of ['g2', 'g3', 'g4']) h = tf.leakyRelu(conv2d(h, p(`${k}.w`), p(`${k}.b`), 2, 1), 0.2);
    const img = tf.leakyRelu(linear(tf.reshape(h, [B, -1]), p('gf.w'), p('gf.b')), 0.2);
    const c = tf.div(tf.reshape(tf.stack([cx, cy], 1), [B, T, 2]), CANVAS), cm = tf.mean(c, 1, true);
    const m = tf.reshape(mass, [B, T]), mm = tf.mean(m, 1, true);
    const path = tf.concat([tf.reshape(tf.mul(tf.sub(c, cm), 8), [B, 2 * T]), tf.sub(tf.div(m, mm), 1), tf.reshape(cm, [B, 2])], 1);
    const pf = tf.leakyRelu(linear(path, p('pf.w'), p('pf.b')), 0.2);
    return tf.leakyRelu(linear(tf.concat([img, pf], 1), p('h.w'), p('h.b')), 0.2) as tf.Tensor2D;
  }

  /** The sprite GAN's auxiliary logits [B, 23] (AUX_GROUPS) of features from pixelFeatures: what the critic reads the clip to show. */
  auxLogits(f: tf.Tensor2D): tf.Tensor2D {
    return linear(f, this.p('disc.aux.w'), this.p('disc.aux.b')) as tf.Tensor2D;
  }

  /** The sprite GAN's score [B] of features from pixelFeatures read with the text. */
  pixelScore(f: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor1D {
    const p = (n: string) => this.p(`disc.${n}`);
    return tf.reshape(tf.add(linear(f, p('out.w'), p('out.b')), tf.sum(tf.mul(f, linear(pooled, p('proj.w'), p('proj.b'))), 1, true)), [-1]) as tf.Tensor1D;
  }

  /** GAN: the discriminator's score [B] of latents read with the text (projection of the pooled text). `data`: x takes no gradient. */
  score(x: tf.Tensor4D, pooled: tf.Tensor2D, data = false): tf.Tensor1D {
    const f = this.critic('disc', x, pooled, data), p = (n: string) => this.p(`disc.${n}`);
    return tf.reshape(tf.add(linear(f, p('out.w'), p('out.b')), tf.sum(tf.mul(f, linear(pooled, p('proj.w'), p('proj.b'))), 1, true)), [-1]) as tf.Tensor1D;
  }

  /** VAE: the prior p(z | text) as mean and log-variance [B, zDim] (N(0, I) without a prior network). */
  prior(pooled: tf.Tensor2D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    const B = pooled.shape[0], Z = this.config.gen.zDim;
    if (this.config.kind !== 'vae' || this.config.gen.prior !== 'text') return { mu: tf.zeros([B, Z]), logvar: tf.zeros([B, Z]) };
    const [mu, logvar] = tf.split(linear(pooled, this.p('gen.prior.w'), this.p('gen.prior.b')), 2, 1) as tf.Tensor2D[];
    return { mu, logvar: tf.clipByValue(logvar, -10, 10) as tf.Tensor2D };
  }

  /** The code to generate from: the GAN's noise eps [B, zDim] as it is, the VAE's a draw from its prior given the text. */
  code(eps: tf.Tensor2D, pooled: tf.Tensor2D): tf.Tensor2D {
    if (this.config.kind !== 'vae' || this.config.gen.prior !== 'text') return eps;
    const { mu, logvar } = this.prior(pooled);
    return tf.add(mu, tf.mul(eps, tf.exp(tf.mul(logvar, 0.5)))) as tf.Tensor2D;
  }

  /** VAE: the posterior q(z | x, text) as mean and log-variance [B, zDim]; x is latents [B*frames, 16, 16, latent] (field) or frames [B*frames, 64, 64, 3] (sprite). */
  posterior(x: tf.Tensor4D, pooled: tf.Tensor2D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    const sprite = this.config.gen.arch === 'sprite', p = (n: string) => this.p(`enc.${n}`);
    const f = sprite ? tf.concat([this.pixelFeatures(x, 'enc'), pooled], 1) : this.critic('enc', x, pooled, true);
    const [mu, logvar] = tf.split(linear(f, p('out.w'), p('out.b')), 2, 1) as tf.Tensor2D[];
    return { mu, logvar: tf.clipByValue(logvar, -10, 10) as tf.Tensor2D };
  }
}
