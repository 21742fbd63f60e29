// Training the latent video diffusion as a TrainTask (DDPM's loss on 16 latent frames, the text
// encoder and the denoiser together). The text encoder is trained jointly with the denoiser, as
// LDM's is: the denoising loss teaches it exactly the distinctions the pictures need, with no
// second objective or negatives to tune; the GAN and VAE then read the same frozen encoder.
// Clips come from a cache of latents (encoding 16 frames costs about a sixth of a training step),
// renewed by `renewPerStep` fresh clips a step so that the data never repeats for long.
import * as tf from '@tensorflow/tfjs-core';
import { captionOmitting } from '../data/clips/captions.js';
import { ClipSampler } from '../data/clips/dataset.js';
import { renderScene } from '../data/clips/render.js';
import { ATTRIBUTE_NAMES, FRAMES, SIDE, type AttributeName, type ObjectAttributes } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import { scheduleFrom, type ScheduleSpec } from '../diffusion/schedules.js';
import { vTarget, type ClipDiffusion } from '../models/clipDiffusion.js';
import type { FrameAe } from '../models/frameAe.js';
import { Type, type Static } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { minSnrWeights } from './diffusionTask.js';
import { meanLoss } from './meanLoss.js';
import type { TrainTask } from './trainer.js';

export const ClipDiffusionTaskSchema = Type.Object({
  cacheClips: Type.Integer({ minimum: 1, maximum: 100000, description: 'clips whose latents are kept for training' }),
  renewPerStep: Type.Integer({ minimum: 0, maximum: 64, description: 'cached clips replaced by fresh ones each step' }),
  pUncond: Type.Number({ minimum: 0, maximum: 1, description: 'share of empty texts (for classifier-free guidance)' }),
  pOmit: Type.Number({ minimum: 0, maximum: 1, description: 'share of texts that leave attributes unsaid, their canonical words appended as for defaults' }),
  minSnrGamma: Type.Number({ minimum: 0, description: 'Min-SNR-gamma loss weighting (0: off)' }),
  freezeText: Type.Boolean({ description: 'the text encoder stays as it is (set by --text-encoder: a clip-text checkpoint\'s encoder)' }),
}, { additionalProperties: false });
export type ClipDiffusionTaskConfig = Static<typeof ClipDiffusionTaskSchema>;

export function defaultClipDiffusionTask(): ClipDiffusionTaskConfig {
  // no Min-SNR: for v it weighs the clip's error by min(SNR, 5) at t > 750, where the words decide the
  // layout, and the denoiser then learnt to ignore them (README: bench:clip-text)
  return { cacheClips: 4000, renewPerStep: 1, pUncond: 0.1, pOmit: 0.25, minSnrGamma: 0, freezeText: false };
}

const LATENT = (latent: number) => FRAMES * 16 * 16 * latent;

/** Posterior means of the frames of clips [n, 16, 64, 64, 3], unscaled, [n * 16 * 16 * 16 * latent]. */
export function encodeClips(ae: FrameAe, frames: Float32Array, n: number): Float32Array {
  const L = ae.config.latent, out = new Float32Array(n * LATENT(L)), per = FRAMES * SIDE * SIDE * 3;
  for (let i = 0; i < n; i++) {
    tf.tidy(() => {
      const mu = ae.encode(tf.tensor4d(frames.subarray(i * per, (i + 1) * per), [FRAMES, SIDE, SIDE, 3])).mu;
      out.set(mu.dataSync(), i * LATENT(L));
    });
  }
  return out;
}

/** A cache of training clips: their unscaled latents and attributes. */
export interface LatentCache {
  latents: Float32Array;
  attributes: ObjectAttributes[];
}

export function buildLatentCache(ae: FrameAe, train: ImageSet, n: number, seed: number, onProgress?: (done: number, n: number) => void): LatentCache {
  const sampler = new ClipSampler(train, 'train', new Rng(seed)), L = ae.config.latent;
  const latents = new Float32Array(n * LATENT(L)), attributes: ObjectAttributes[] = [];
  for (let i = 0; i < n; i += 32) {
    const k = Math.min(32, n - i), { examples, frames } = sampler.batch(k);
    latents.set(encodeClips(ae, frames, k), i * LATENT(L));
    attributes.push(...examples.map((e) => e.attributes[0]));
    onProgress?.(i + k, n);
  }
  return { latents, attributes };
}

/** A function that replaces `perStep` cached clips (in turn) by fresh training clips each call. */
export function cacheRenewer(cache: LatentCache, ae: FrameAe, train: ImageSet, perStep: number, salt: number): () => void {
  const N = cache.attributes.length, per = LATENT(ae.config.latent), renewer = new ClipSampler(train, 'train', new Rng(salt ^ N));
  let at = 0;
  return () => {
    for (let r = 0; r < perStep; r++) {
      const { examples, frames } = renewer.batch(1);
      cache.latents.set(encodeClips(ae, frames, 1), at * per);
      cache.attributes[at] = examples[0].attributes[0];
      at = (at + 1) % N;
    }
  };
}

/** The std of latent values (LDM's scale factor is its inverse). */
export function latentStd(latents: Float32Array): number {
  let s = 0, s2 = 0;
  for (const v of latents) { s += v; s2 += v * v; }
  const m = s / latents.length;
  return Math.sqrt(Math.max(1e-12, s2 / latents.length - m * m));
}

/** The text a training clip is described by: a training caption, some attributes unsaid now and then, or '' (unconditional). */
export function trainingText(a: ObjectAttributes, rng: Rng, pUncond: number, pOmit: number): string {
  return trainingCaption(a, rng, pUncond, pOmit).text;
}

/** trainingText, and the attributes it leaves unsaid (every one for the empty text). */
export function trainingCaption(a: ObjectAttributes, rng: Rng, pUncond: number, pOmit: number): { text: string; omitted: AttributeName[] } {
  if (rng.next() < pUncond) return { text: '', omitted: [...ATTRIBUTE_NAMES] };
  const omit = rng.next() < pOmit ? ATTRIBUTE_NAMES.filter(() => rng.next() < 0.4) : [];
  return { text: captionOmitting(a, omit, rng), omitted: omit };
}

export function clipDiffusionTask(opts: {
  model: ClipDiffusion;
  cache: LatentCache;
  train: ImageSet;
  test: ImageSet;
  task: ClipDiffusionTaskConfig;
  schedule: ScheduleSpec;
  /** validation clips (default 16, batches of 8) */
  valClips?: number;
  extraMeta?: Record<string, unknown>;
}): TrainTask {
  const { model, cache, task } = opts, L = model.config.unet.latent, per = LATENT(L), scale = model.config.latentScale;
  const { alphasCumprod } = scheduleFrom(opts.schedule);
  const T = alphasCumprod.length, N = cache.attributes.length;
  const renew = cacheRenewer(cache, model.ae, opts.train, task.renewPerStep, 0xc11b);
  /** the loss of clips x0 (scaled latents [B * per]) described by texts */
  const lossOf = (x0: Float32Array, texts: string[], rng: Rng, gamma: number) => {
    const B = texts.length;
    const t = Int32Array.from({ length: B }, () => rng.int(T));
    const perFrame = (f: (ti: number) => number) => tf.tensor4d(Float32Array.from({ length: B * FRAMES }, (_, i) => f(t[Math.floor(i / FRAMES)])), [B * FRAMES, 1, 1, 1]);
    const eps = tf.tensor4d(rng.normalArray(B * per), [B * FRAMES, 16, 16, L]);
    const x = tf.tensor4d(x0, [B * FRAMES, 16, 16, L]);
    const xt = tf.add(tf.mul(x, perFrame((ti) => Math.sqrt(alphasCumprod[ti]))), tf.mul(eps, perFrame((ti) => Math.sqrt(1 - alphasCumprod[ti])))) as tf.Tensor4D;
    const pred = model.predict(xt, tf.tensor1d(t, 'int32'), model.encodeText(texts)), v = model.config.prediction === 'v';
    const target = v ? vTarget(x, eps, perFrame((ti) => alphasCumprod[ti])) : eps;
    const perClip = tf.mean(tf.reshape(tf.squaredDifference(pred, target), [B, -1]), 1);
    return tf.mean(gamma > 0 ? tf.mul(perClip, tf.tensor1d(minSnrWeights(alphasCumprod, t, gamma, model.config.prediction))) : perClip) as tf.Scalar;
  };
  let val: { x0: Float32Array; texts: string[] } | undefined;
  const valClips = opts.valClips ?? 16, VB = Math.min(8, valClips);
  const trainable = model.trainable.filter((k) => !(task.freezeText && k.startsWith('text.')));
  return {
    params: model.params,
    trainable,
    decay: new Set(trainable.filter((k) => k.endsWith('.w'))),
    loss: (rng, B) => {
      renew();
      const idx = Array.from({ length: B }, () => rng.int(N)), x0 = new Float32Array(B * per);
      idx.forEach((c, i) => {
        const src = cache.latents.subarray(c * per, (c + 1) * per);
        for (let j = 0; j < per; j++) x0[i * per + j] = src[j] * scale;
      });
      return lossOf(x0, idx.map((c) => trainingText(cache.attributes[c], rng, task.pUncond, task.pOmit)), rng, task.minSnrGamma);
    },
    // held-out digit images, any digit-direction pair, the evaluation templates; fixed noise and timesteps
    validate: (batches) => {
      if (!val) {
        const s = new ClipSampler(opts.test, 'eval', new Rng(4242)), { examples, frames } = s.batch(valClips);
        const x0 = encodeClips(model.ae, frames, valClips).map((v) => v * scale);
        val = { x0, texts: examples.map((e) => e.caption) };
      }
      const n = Math.max(1, Math.min(batches, Math.ceil(valClips / VB)));
      return meanLoss(n, 9876, (b, rng) => {
        const lo = (b * VB) % valClips, hi = Math.min(valClips, lo + VB);
        return lossOf(val!.x0.subarray(lo * per, hi * per), val!.texts.slice(lo, hi), rng, 0);
      });
    },
    meta: () => ({ family: 'clip-diffusion', model: { ...model.config }, schedule: opts.schedule, task: { ...task }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta }),
  };
}
