// Image generation from trained checkpoints: what the CLI (and later the server) call.
// One loader for the three generator families; diffusion samples with DDIM or DDPM and
// classifier-free guidance, the GAN with its batch norms' running statistics, the VAE decodes
// draws from the prior as Bernoulli means.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';
import type { ImageSet } from '../data/mnist.js';
import { classifierFree } from '../diffusion/guidance.js';
import { denoiseLoop, keepKnown, startFromImage, type LoopOptions } from '../diffusion/loop.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../diffusion/schedules.js';
import { DdimScheduler, DdpmScheduler, type Scheduler } from '../diffusion/schedulers.js';
import { Classifier } from '../models/classifier.js';
import { Dcgan } from '../models/dcgan.js';
import { buildImageModel, isImageFamily, samplesFromEma } from '../models/images.js';
import { Unet } from '../models/unet.js';
import { iwaeNll, Vae } from '../models/vae.js';
import { disposeMap, loadCheckpoint, resolveCheckpointDir, type CheckpointMeta } from '../checkpoint/checkpoint.js';
import { binarized, fromUnetOutput, toUnetInput, UNET_SIDE } from '../models/imageIO.js';
import { checkPictureCount } from '../models/memory.js';
import { Rng } from '../util/rng.js';

export type Generator = Unet | Dcgan | Vae;
export interface ImageInfo { height: number; width: number; classes: number }

export interface LoadedImageModel<M = Generator | Classifier> {
  family: 'diffusion' | 'gan' | 'vae' | 'classifier';
  model: M;
  image: ImageInfo;
  /** the --data the model was trained on */
  data: string;
  meta: CheckpointMeta;
  dir: string;
}

/** Loads an image model (diffusion and GAN with their EMA weights when the run kept them); `want` restricts the family. */
export function loadImageModel(dirArg: string, want?: readonly string[]): LoadedImageModel {
  const dir = resolveCheckpointDir(dirArg);
  const ck = loadCheckpoint(dir);
  const family = ck.meta.family;
  disposeMap(ck.optimizer);
  const useEma = samplesFromEma(family) && ck.ema !== undefined;
  disposeMap(useEma ? ck.weights : ck.ema);
  const weights = useEma ? ck.ema! : ck.weights;
  if (!isImageFamily(family) || (want && !want.includes(family))) {
    disposeMap(weights);
    const kinds = want ?? ['diffusion', 'gan', 'vae', 'classifier'];
    throw new UserError(`${dirArg} holds a "${family}" model; this needs ${kinds.length > 1 ? 'one of ' : 'a '}${kinds.join(', ')}`);
  }
  const model = buildImageModel(family, ck.meta.model, new Map(Object.entries(weights)));
  return { family, model, image: ck.meta.image as ImageInfo, data: String(ck.meta.data ?? 'mnist'), meta: ck.meta, dir };
}

/** Loads a diffusion, GAN or VAE checkpoint (a UserError for any other family). */
export function loadGenerator(dirArg: string): LoadedImageModel<Generator> {
  return loadImageModel(dirArg, ['diffusion', 'gan', 'vae']) as LoadedImageModel<Generator>;
}

/**
 * The sampling settings used when a call gives none: the checkpoint's recommended ones (written by
 * export from its evaluation), else the best measured on the digits (DDIM 25 steps, guidance 1.75:
 * 98.9% class accuracy at 1.94x the FD floor, against 85.6% at 50 steps and guidance 1).
 */
export const DEFAULT_SAMPLING = { steps: 25, guidance: 1.75, scheduler: 'ddim', temperature: 1 } as const;

export function samplingDefaults(l: { meta: CheckpointMeta }): { steps: number; guidance: number; scheduler: 'ddim' | 'ddpm'; temperature: number } {
  const s = l.meta.sampling ?? {};
  return { steps: s.steps ?? DEFAULT_SAMPLING.steps, guidance: s.guidance ?? DEFAULT_SAMPLING.guidance, scheduler: s.scheduler ?? DEFAULT_SAMPLING.scheduler, temperature: s.temperature ?? DEFAULT_SAMPLING.temperature };
}

export function classesOf(m: Generator | Classifier): number {
  return m.config.classes ?? 0;
}

/** Checks a requested class against the model: a clear error for an unconditional model or a class out of range. */
export function checkClass(m: Generator, c: number | undefined, flag = '--class'): void {
  if (c === undefined) return;
  const classes = classesOf(m);
  if (classes === 0) throw new UserError(`this model is unconditional: it takes no ${flag}`);
  if (!Number.isInteger(c) || c < 0 || c >= classes) throw new UserError(`${flag} must be one of 0..${classes - 1}, got ${c}`);
}

export interface SampleOptions {
  n: number;
  /** class of every sample (conditional models); undefined: cycle through the classes */
  classLabel?: number;
  /** gan, vae: standard deviation of the latent draws (below 1 trades variety for fidelity) */
  temperature?: number;
  /** diffusion only: sample from the unconditional model that label dropout trained */
  unconditional?: boolean;
  guidance?: number;
  steps?: number;
  scheduler?: 'ddim' | 'ddpm';
  seed?: number;
  /** diffusion: start from this image [h * w] in [0, 1] noised to `strength` (SDEdit image-to-image) */
  seedImage?: Float32Array;
  strength?: number;
}

export interface Samples {
  /** [n * h * w] in [0, 1] */
  images: Float32Array;
  /** the class of each sample, -1 when unconditional */
  labels: number[];
}

/** n images from a generator (batched); conditional models cycle through the classes unless one is given. */
export function sampleImages(l: LoadedImageModel<Generator>, o: SampleOptions): Samples {
  const { model, image } = l;
  const d = samplingDefaults(l);
  o = { ...o, steps: o.steps ?? d.steps, guidance: o.guidance ?? d.guidance, scheduler: o.scheduler ?? d.scheduler, temperature: o.temperature ?? d.temperature };
  if (!Number.isInteger(o.n) || o.n < 1) throw new UserError(`--n must be a whole number >= 1, got ${o.n}`);
  checkClass(model, o.classLabel);
  const classes = o.unconditional ? 0 : classesOf(model);
  const labels = Array.from({ length: o.n }, (_, i) => (classes === 0 ? -1 : o.classLabel ?? i % classes));
  const rng = new Rng(o.seed ?? 0), temp = o.temperature ?? 1;
  if (!(temp > 0)) throw new UserError(`--temperature must be > 0, got ${o.temperature}`);
  const size = image.height * image.width, out = new Float32Array(o.n * size);
  if (!(model instanceof Unet) && o.seedImage) throw new UserError('--seed-image works with diffusion models');
  if (!(model instanceof Unet) && o.unconditional && classesOf(model) > 0) throw new UserError('only a diffusion model trained with label dropout can sample without a class');
  const batch = model instanceof Unet ? 32 : 256;
  for (let s = 0; s < o.n; s += batch) {
    const B = Math.min(batch, o.n - s), ys = labels.slice(s, s + B);
    let imgs: Float32Array;
    if (model instanceof Unet) imgs = diffuse(model, image, ys, rng, { ...o, meta: l.meta, seedImages: o.seedImage && Array.from({ length: B }, () => o.seedImage!) });
    else {
      const y = classes > 0 ? tf.tensor1d(ys, 'int32') : undefined;
      imgs = tf.tidy(() => {
        if (model instanceof Dcgan) {
          const z = tf.tensor2d(rng.normalArray(B * model.config.z, temp), [B, model.config.z]);
          // a self-conditioned GAN draws a cluster per sample from the training images' cluster frequencies
          const c = model.config.clusters > 0 ? model.drawClusters(rng, B) : y;
          return tf.div(tf.add(model.generate(z, c, 'running'), 1), 2).dataSync() as Float32Array;
        }
        const L = model.config.latent;
        return tf.sigmoid(model.decode(tf.tensor2d(rng.normalArray(B * L, temp), [B, L]), y)).dataSync() as Float32Array;
      });
      y?.dispose();
    }
    out.set(imgs, s * size);
  }
  return { images: out, labels };
}

/** The scheduler of a checkpoint: its training schedule (saved with the model; DDPM's linear one before it was saved), DDIM with `steps` or DDPM's 1,000. */
function makeScheduler(meta: CheckpointMeta, o: { steps?: number; scheduler?: string }): Scheduler {
  const steps = o.steps ?? DEFAULT_SAMPLING.steps;
  const schedule = scheduleFrom(meta.schedule ?? DEFAULT_SCHEDULE);
  if (!Number.isInteger(steps) || steps < 1 || steps > schedule.betas.length) throw new UserError(`--steps must be a whole number in [1, ${schedule.betas.length}], got ${o.steps}`);
  const sched: Scheduler = o.scheduler === 'ddpm' ? new DdpmScheduler(schedule) : new DdimScheduler(schedule);
  if (o.scheduler !== 'ddpm') sched.setTimesteps(steps);
  return sched;
}

export function checkStrength(strength: number | undefined, flag: string): number {
  const s = strength ?? 1;
  if (!(s > 0 && s <= 1)) throw new UserError(`${flag} must be in (0, 1], got ${strength}`);
  return s;
}

/**
 * The reverse process for a batch with labels ys (-1: no class), on the scheduler's loop: guidance
 * wraps the UNet, a seed image (SDEdit) sets the start, a mask (RePaint) adds a hook after each step.
 */
export function diffuse(
  model: Unet, image: ImageInfo, ys: number[], rng: Rng,
  o: { guidance?: number; steps?: number; scheduler?: string; seedImages?: Float32Array[]; strength?: number; mask?: Float32Array; resample?: number; meta?: CheckpointMeta; onStep?: LoopOptions['onStep']; signal?: AbortSignal },
): Float32Array {
  const B = ys.length, classes = classesOf(model), { height: h, width: w } = image;
  const guidance = o.guidance ?? DEFAULT_SAMPLING.guidance;
  if (!(guidance >= 0)) throw new UserError(`--guidance must be a number >= 0, got ${o.guidance}`);
  const scheduler = makeScheduler(o.meta ?? ({} as CheckpointMeta), o);
  const strength = checkStrength(o.strength, '--strength');
  const asSet = (imgs: Float32Array[]): ImageSet => {
    const all = new Float32Array(imgs.length * h * w);
    imgs.forEach((im, i) => all.set(im, i * h * w));
    return { images: all, labels: new Int32Array(imgs.length), n: imgs.length, height: h, width: w, classes };
  };
  const x0 = o.seedImages ? toUnetInput(asSet(o.seedImages), ys.map((_, i) => i)) : undefined;
  if (o.mask && !x0) throw new Error('inpainting needs the known image');
  const S = UNET_SIDE, shape = [B, S, S, model.config.channels];
  const noise = (sh: number[] = shape) => tf.tensor(rng.normalArray(sh.reduce((a, b) => a * b, 1)), sh);
  const mask = o.mask ? maskTensor(o.mask, B, h, w) : undefined; // 1 where the model fills in
  const predict = classes > 0 ? classifierFree((a, b, c) => model.forward(a, b, c), ys, classes, guidance) : (x: tf.Tensor, t: tf.Tensor1D) => model.forward(x as tf.Tensor4D, t);
  let start: { x: tf.Tensor; timesteps?: number[] };
  if (x0 && strength < 1) {
    const n = noise();
    start = startFromImage(scheduler, x0, strength, n);
    n.dispose();
  } else start = { x: noise() };
  try {
    const out = denoiseLoop({
      scheduler, predict, x: start.x, timesteps: start.timesteps, rng, onStep: o.onStep, signal: o.signal,
      after: mask && x0 ? keepKnown(scheduler, x0, mask, noise) : undefined,
      resample: mask ? { rounds: Math.max(1, o.resample ?? 1), noise } : undefined,
    }) as tf.Tensor4D;
    const images = fromUnetOutput(out, h, w);
    out.dispose();
    return images;
  } finally {
    x0?.dispose(); mask?.dispose();
  }
}

/** [h * w] mask (1 = fill) -> [B, 32, 32, 1], padding counted as known. */
function maskTensor(m: Float32Array, B: number, h: number, w: number): tf.Tensor4D {
  const S = UNET_SIDE, top = Math.floor((S - h) / 2), left = Math.floor((S - w) / 2), out = new Float32Array(B * S * S);
  for (let b = 0; b < B; b++) for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) out[b * S * S + (top + yy) * S + left + xx] = m[yy * w + xx] >= 0.5 ? 1 : 0;
  return tf.tensor4d(out, [B, S, S, 1]);
}

/** RePaint's rounds per step: past ~20 they buy nothing (Lugmayr et al. use 10), and each costs a full pass. */
const MAX_RESAMPLE = 50;

/**
 * Restores a damaged image [h * w]: inpaints where mask is 1 and, with denoise = S in (0, 1],
 * first noises the image to S of the way up (SDEdit) so that scratches and noise are redrawn.
 */
export function restoreImage(l: LoadedImageModel<Unet>, img: Float32Array, o: { mask?: Float32Array; denoise?: number; classLabel?: number; guidance?: number; steps?: number; resample?: number; seed?: number }): Float32Array {
  if (!o.mask && o.denoise === undefined) throw new UserError('give --mask MASK.png (the region to fill), --denoise S (how much to redraw), or both');
  checkClass(l.model, o.classLabel);
  if (o.resample !== undefined && !(Number.isInteger(o.resample) && o.resample >= 1 && o.resample <= MAX_RESAMPLE)) throw new UserError(`--resample must be a whole number from 1 to ${MAX_RESAMPLE}, got ${o.resample}`);
  const strength = o.denoise === undefined ? 1 : checkStrength(o.denoise, '--denoise');
  const d = samplingDefaults(l);
  return diffuse(l.model, l.image, [o.classLabel ?? -1], new Rng(o.seed ?? 0), {
    guidance: o.guidance ?? d.guidance, steps: o.steps ?? d.steps, meta: l.meta, seedImages: [img], strength, mask: o.mask, resample: o.mask ? o.resample ?? 4 : 1,
  });
}

const DECODE_BATCH = 256;

/** A CVAE needs a label to encode: the class whose ELBO is highest (the CVAE as a generative classifier). */
export function inferVaeClass(model: Vae, x: tf.Tensor4D, rng: Rng): number {
  const C = classesOf(model);
  const nll = iwaeNll(model, tf.tile(x, [C, 1, 1, 1]) as tf.Tensor4D, 16, rng, tf.range(0, C, 1, 'int32') as tf.Tensor1D);
  let best = 0;
  for (let c = 1; c < C; c++) if (nll[c] < nll[best]) best = c;
  return best;
}

function vaeInput(img: Float32Array, h: number, w: number): tf.Tensor4D {
  return tf.tensor4d(img, [1, h, w, 1]);
}

/** n decodings of draws from q(z | image): a range of outputs from one input. */
export function varyImage(l: LoadedImageModel<Vae>, img: Float32Array, o: { n: number; classLabel?: number; seed?: number }): { images: Float32Array; label: number } {
  if (!Number.isInteger(o.n) || o.n < 1) throw new UserError(`--n must be a whole number >= 1, got ${o.n}`);
  checkClass(l.model, o.classLabel);
  checkPictureCount(o.n, '--n');
  const { model, image } = l, rng = new Rng(o.seed ?? 0), L = model.config.latent, n = o.n, size = image.height * image.width;
  let c = -1;
  const { mu, logvar } = tf.tidy(() => {
    const x = vaeInput(img, image.height, image.width);
    c = classesOf(model) > 0 ? o.classLabel ?? inferVaeClass(model, x, rng) : -1;
    return model.encode(x, c >= 0 ? tf.tensor1d([c], 'int32') : undefined);
  });
  const images = new Float32Array(n * size);
  for (let s = 0; s < n; s += DECODE_BATCH) { // in batches: the decoder's activations grow with the count
    const B = Math.min(DECODE_BATCH, n - s);
    images.set(tf.tidy(() => {
      const z = tf.add(mu, tf.mul(tf.tensor2d(rng.normalArray(B * L), [B, L]), tf.exp(tf.mul(logvar, 0.5)))) as tf.Tensor2D;
      return tf.sigmoid(model.decode(z, c >= 0 ? tf.fill([B], c, 'int32') as tf.Tensor1D : undefined)).dataSync() as Float32Array;
    }), s * size);
  }
  mu.dispose(); logvar.dispose();
  return { images, label: c };
}

/** steps images decoded along the straight line between the posterior means of a and b (class one-hots interpolated too for a CVAE). */
export function interpolateImages(l: LoadedImageModel<Vae>, a: Float32Array, b: Float32Array, o: { steps: number; seed?: number }): { images: Float32Array; labels: [number, number] } {
  if (!Number.isInteger(o.steps) || o.steps < 2) throw new UserError(`--steps must be a whole number >= 2, got ${o.steps}`);
  checkPictureCount(o.steps, '--steps');
  const { model, image } = l, rng = new Rng(o.seed ?? 0), C = classesOf(model), n = o.steps, size = image.height * image.width;
  const images = new Float32Array(n * size);
  let labels: [number, number] = [-1, -1];
  tf.tidy(() => {
    const xa = vaeInput(a, image.height, image.width), xb = vaeInput(b, image.height, image.width);
    const ca = C > 0 ? inferVaeClass(model, xa, rng) : -1, cb = C > 0 ? inferVaeClass(model, xb, rng) : -1;
    labels = [ca, cb];
    const za = model.encode(xa, C > 0 ? tf.tensor1d([ca], 'int32') : undefined).mu, zb = model.encode(xb, C > 0 ? tf.tensor1d([cb], 'int32') : undefined).mu;
    for (let s = 0; s < n; s += DECODE_BATCH) { // in batches: the decoder's activations grow with the count
      const B = Math.min(DECODE_BATCH, n - s);
      images.set(tf.tidy(() => {
        const w = tf.tensor2d(Array.from({ length: B }, (_, i) => (s + i) / (n - 1)), [B, 1]);
        const z = tf.add(tf.mul(za, tf.sub(1, w)), tf.mul(zb, w)) as tf.Tensor2D;
        const onehot = C > 0 ? tf.add(tf.mul(tf.oneHot([ca], C).toFloat(), tf.sub(1, w)), tf.mul(tf.oneHot([cb], C).toFloat(), w)) as tf.Tensor2D : undefined;
        return tf.sigmoid(model.decode(z, onehot)).dataSync() as Float32Array;
      }), s * size);
    }
  });
  return { images, labels };
}

/** The importance-weighted NLL bound in nats (of x given its label, for a CVAE), averaged over the first `count` held-out images (binarised with a fixed seed). */
export function vaeNll(l: LoadedImageModel<Vae>, test: ImageSet, k: number, count: number): number {
  if (!Number.isInteger(k) || k < 1) throw new UserError(`--k must be a whole number >= 1, got ${k}`);
  const n = Math.min(count, test.n), rng = new Rng(2024), conditional = classesOf(l.model) > 0;
  let sum = 0;
  for (let s = 0; s < n; s += 10) {
    const idx = Array.from({ length: Math.min(10, n - s) }, (_, i) => s + i);
    const x = binarized(test, idx, rng);
    const y = conditional ? tf.tensor1d(idx.map((i) => test.labels[i]), 'int32') : undefined;
    for (const v of iwaeNll(l.model, x, k, rng, y)) sum += v;
    x.dispose(); y?.dispose();
  }
  return sum / n;
}
