// DDPM and DDIM as two schedulers over one denoiser, with the step API of huggingface/diffusers:
// a scheduler holds no weights; setTimesteps(n), addNoise(x0, noise, t), and
// step(modelOutput, t, sample) -> { prevSample, predOriginalSample }. The model predicts noise.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { linearBetas, type NoiseSchedule } from './schedules.js';

export interface StepOutput {
  prevSample: tf.Tensor;
  predOriginalSample: tf.Tensor;
}

export interface Scheduler {
  readonly schedule: NoiseSchedule;
  /** the timesteps of the reverse process, high to low */
  timesteps: number[];
  setTimesteps(n: number): void;
  /** q(x_t | x_0): sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, one t per batch item */
  addNoise(x0: tf.Tensor, noise: tf.Tensor, t: ArrayLike<number>): tf.Tensor;
  /** q(x_t | x_s) for s < t (s = -1: the clean sample): back up the chain from s to t (RePaint's resampling) */
  renoise(xs: tf.Tensor, s: number, t: number, noise: tf.Tensor): tf.Tensor;
  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, rng?: Rng): StepOutput;
}

abstract class Base implements Scheduler {
  timesteps: number[];
  constructor(readonly schedule: NoiseSchedule = linearBetas(), readonly clipSample = true) {
    this.timesteps = Array.from({ length: this.T }, (_, i) => this.T - 1 - i);
  }

  get T(): number {
    return this.schedule.betas.length;
  }

  /** diffusers' "leading" spacing: n steps of floor(T / n), from high to low. */
  setTimesteps(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > this.T) throw new RangeError(`steps must be a whole number in [1, ${this.T}], got ${n}`);
    const ratio = Math.floor(this.T / n);
    this.timesteps = Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio);
  }

  protected prevT(t: number): number {
    const i = this.timesteps.indexOf(t);
    if (i < 0) throw new RangeError(`timestep ${t} is not in this scheduler's timesteps`);
    return i + 1 < this.timesteps.length ? this.timesteps[i + 1] : -1;
  }

  protected abar(t: number): number {
    return t >= 0 ? this.schedule.alphasCumprod[t] : 1;
  }

  addNoise(x0: tf.Tensor, noise: tf.Tensor, t: ArrayLike<number>): tf.Tensor {
    return tf.tidy(() => {
      const shape = [t.length, ...new Array<number>(x0.rank - 1).fill(1)];
      const a = Float32Array.from(t, (ti) => Math.sqrt(this.abar(ti)));
      const b = Float32Array.from(t, (ti) => Math.sqrt(1 - this.abar(ti)));
      return tf.add(tf.mul(x0, tf.tensor(a, shape)), tf.mul(noise, tf.tensor(b, shape)));
    });
  }

  renoise(xs: tf.Tensor, s: number, t: number, noise: tf.Tensor): tf.Tensor {
    const a = this.abar(t) / this.abar(s);
    return tf.tidy(() => tf.add(tf.mul(xs, Math.sqrt(a)), tf.mul(noise, Math.sqrt(1 - a))));
  }

  /** x0 from x_t and the predicted noise (Ho et al. eq. 15), clipped to [-1, 1] when clipSample. */
  protected predX0(eps: tf.Tensor, t: number, x: tf.Tensor): tf.Tensor {
    const a = this.abar(t);
    const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
    return this.clipSample ? tf.clipByValue(x0, -1, 1) : x0;
  }

  abstract step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, rng?: Rng): StepOutput;
}

function noiseLike(x: tf.Tensor, rng?: Rng): tf.Tensor {
  if (!rng) throw new Error('this step adds noise: pass an Rng');
  return tf.tensor(rng.normalArray(x.size), x.shape, 'float32');
}

/** Ancestral sampling of DDPM (Ho et al. 2020, eqs. 6-7), with the posterior variance beta-tilde. */
export class DdpmScheduler extends Base {
  step(eps: tf.Tensor, t: number, x: tf.Tensor, rng?: Rng): StepOutput {
    const tp = this.prevT(t);
    const a = this.abar(t), ap = this.abar(tp);
    const beta = 1 - a / ap, alpha = a / ap;
    return tf.tidy(() => {
      const x0 = this.predX0(eps, t, x);
      // posterior mean: coefficients of x0 and x_t (eq. 7)
      const mean = tf.add(tf.mul(x0, (Math.sqrt(ap) * beta) / (1 - a)), tf.mul(x, (Math.sqrt(alpha) * (1 - ap)) / (1 - a)));
      const prev = tp >= 0 ? tf.add(mean, tf.mul(noiseLike(x, rng), Math.sqrt(((1 - ap) / (1 - a)) * beta))) : mean;
      return { prevSample: prev, predOriginalSample: x0 };
    });
  }
}

/** DDIM (Song et al. 2021, eq. 12): deterministic for eta = 0, DDPM-like noise for eta = 1. */
export class DdimScheduler extends Base {
  constructor(schedule?: NoiseSchedule, clipSample = true, readonly eta = 0) {
    super(schedule, clipSample);
  }

  step(eps: tf.Tensor, t: number, x: tf.Tensor, rng?: Rng): StepOutput {
    const tp = this.prevT(t);
    const a = this.abar(t), ap = this.abar(tp);
    const sigma = this.eta * Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap));
    return tf.tidy(() => {
      const x0 = this.predX0(eps, t, x);
      // the noise direction uses the noise implied by the (clipped) x0, as diffusers does
      const epsHat = this.clipSample ? tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(a))), Math.sqrt(1 - a)) : eps;
      let prev = tf.add(tf.mul(x0, Math.sqrt(ap)), tf.mul(epsHat, Math.sqrt(Math.max(0, 1 - ap - sigma * sigma))));
      if (sigma > 0 && tp >= 0) prev = tf.add(prev, tf.mul(noiseLike(x, rng), sigma));
      return { prevSample: prev, predOriginalSample: x0 };
    });
  }
}
