// Image generation from a trained diffusion checkpoint: DDIM (or DDPM) sampling with optional
// class conditioning and classifier-free guidance.
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../data/errors.js';
import { guidedNoise } from '../diffusion/guidance.js';
import { DdimScheduler, DdpmScheduler, type Scheduler } from '../diffusion/schedulers.js';
import { Unet, type UnetConfig } from '../models/unet.js';
import { Vae, type VaeConfig } from '../models/vae.js';
import type { ImageSet } from '../data/mnist.js';
import { binarized, iwaeNll } from '../train/vaeTask.js';
import { disposeMap, loadCheckpoint, resolveCheckpointDir, type CheckpointData } from '../train/checkpoint.js';
import { fromUnetOutput } from '../train/diffusionTask.js';
import { Rng } from '../util/rng.js';

export interface LoadedDiffusion {
  model: Unet;
  image: { height: number; width: number; classes: number };
  checkpoint: CheckpointData;
}

/** Loads a diffusion checkpoint, with its EMA weights when it kept them (unless ema is false). */
export function loadDiffusion(dirArg: string, opts: { ema?: boolean } = {}): LoadedDiffusion {
  const ck = loadCheckpoint(resolveCheckpointDir(dirArg));
  if (ck.meta.family !== 'diffusion') {
    disposeMap(ck.weights); disposeMap(ck.optimizer); disposeMap(ck.ema);
    throw new UserError(`${dirArg} holds a "${ck.meta.family}" model, not a diffusion model`);
  }
  const useEma = opts.ema !== false && ck.ema !== undefined;
  const weights = useEma ? ck.ema! : ck.weights;
  disposeMap(useEma ? ck.weights : ck.ema);
  disposeMap(ck.optimizer);
  const model = new Unet(ck.meta.model as UnetConfig, new Map(Object.entries(weights)));
  return { model, image: ck.meta.image as LoadedDiffusion['image'], checkpoint: ck };
}

export interface SampleOptions {
  n: number;
  /** class of every sample (conditional models); undefined: cycle through the classes */
  classLabel?: number;
  guidance?: number;
  steps?: number;
  scheduler?: 'ddim' | 'ddpm';
  seed?: number;
}

/** Generates n images [n * h * w] in [0, 1] and their labels (-1 for an unconditional model). */
export function sampleImages(l: LoadedDiffusion, o: SampleOptions): { images: Float32Array; labels: number[] } {
  const { model, image } = l;
  const classes = model.config.classes;
  if (!Number.isInteger(o.n) || o.n < 1) throw new UserError(`--n must be a whole number >= 1, got ${o.n}`);
  if (o.classLabel !== undefined) {
    if (classes === 0) throw new UserError('this model is unconditional: it takes no --class');
    if (!Number.isInteger(o.classLabel) || o.classLabel < 0 || o.classLabel >= classes) throw new UserError(`--class must be one of 0..${classes - 1}, got ${o.classLabel}`);
  }
  const guidance = o.guidance ?? 1;
  if (!(guidance >= 0)) throw new UserError(`--guidance must be a number >= 0, got ${o.guidance}`);
  const steps = o.steps ?? 50;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new UserError(`--steps must be a whole number in [1, 1000], got ${o.steps}`);
  const sched: Scheduler = o.scheduler === 'ddpm' ? new DdpmScheduler() : new DdimScheduler();
  if (o.scheduler !== 'ddpm') sched.setTimesteps(steps);
  const rng = new Rng(o.seed ?? 0);
  const labels = Array.from({ length: o.n }, (_, i) => (classes === 0 ? -1 : o.classLabel ?? i % classes));
  const out = new Float32Array(o.n * image.height * image.width);
  const batch = 16;
  for (let s = 0; s < o.n; s += batch) {
    const B = Math.min(batch, o.n - s);
    let x = tf.tensor4d(rng.normalArray(B * 32 * 32), [B, 32, 32, 1]);
    const y = classes > 0 ? tf.tensor1d(labels.slice(s, s + B), 'int32') : undefined;
    for (const t of sched.timesteps) {
      const next = tf.tidy(() => {
        const tt = tf.fill([B], t, 'int32') as tf.Tensor1D;
        const eps = y ? guidedNoise((a, b, c) => model.forward(a, b, c), x, tt, y, classes, guidance) : model.forward(x, tt);
        const r = sched.step(eps, t, x, rng);
        return r.prevSample as tf.Tensor4D;
      });
      x.dispose();
      x = next;
    }
    out.set(fromUnetOutput(x, image.height, image.width), s * image.height * image.width);
    x.dispose();
    y?.dispose();
  }
  return { images: out, labels };
}

export interface LoadedVae {
  model: Vae;
  image: { height: number; width: number; classes: number };
  data: string;
}

export function loadVae(dirArg: string): LoadedVae {
  const ck = loadCheckpoint(resolveCheckpointDir(dirArg));
  disposeMap(ck.optimizer); disposeMap(ck.ema);
  if (ck.meta.family !== 'vae') {
    disposeMap(ck.weights);
    throw new UserError(`${dirArg} holds a "${ck.meta.family}" model, not a VAE`);
  }
  const model = new Vae(ck.meta.model as VaeConfig, new Map(Object.entries(ck.weights)));
  return { model, image: ck.meta.image as LoadedVae['image'], data: String(ck.meta.data ?? 'mnist') };
}

/** n images decoded from z ~ N(0, I): the Bernoulli means, in [0, 1]. */
export function sampleVae(l: LoadedVae, n: number, seed = 0): Float32Array {
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--n must be a whole number >= 1, got ${n}`);
  const rng = new Rng(seed), L = l.model.config.latent;
  return tf.tidy(() => tf.sigmoid(l.model.decode(tf.tensor2d(rng.normalArray(n * L), [n, L]))).dataSync() as Float32Array);
}

/** The importance-weighted NLL bound in nats, averaged over the first `count` held-out images (binarised with a fixed seed). */
export function vaeNll(l: LoadedVae, test: ImageSet, k: number, count: number): number {
  if (!Number.isInteger(k) || k < 1) throw new UserError(`--k must be a whole number >= 1, got ${k}`);
  const n = Math.min(count, test.n), rng = new Rng(2024);
  let sum = 0;
  for (let s = 0; s < n; s += 10) {
    const idx = Array.from({ length: Math.min(10, n - s) }, (_, i) => s + i);
    const x = binarized(test, idx, rng);
    for (const v of iwaeNll(l.model, x, k, rng)) sum += v;
    x.dispose();
  }
  return sum / n;
}
