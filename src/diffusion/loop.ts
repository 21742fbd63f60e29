// The sampling loop of every diffusion model, in diffusers' shape: the scheduler holds the
// timesteps, and the loop calls the noise predictor and `scheduler.step` once per timestep. What
// varies between uses is a small piece plugged in: guidance wraps the predictor, image-to-image
// chooses the start, inpainting is a hook after each step. It knows nothing of image sizes: the
// clip engine runs it over video latents.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { Scheduler } from './schedulers.js';

/** Predicts the noise in x at timesteps t ([B]); called inside tf.tidy. */
export type NoisePredictor = (x: tf.Tensor, t: tf.Tensor1D) => tf.Tensor;

/** Runs after each step, inside tf.tidy: returns the sample to continue from (inpainting's known region). */
export type StepHook = (prev: tf.Tensor, at: { i: number; t: number; tPrev: number }) => tf.Tensor;

export class SamplingCancelled extends Error {
  override name = 'AbortError';
}

export interface LoopOptions {
  scheduler: Scheduler;
  predict: NoisePredictor;
  /** the start sample (pure noise, or a noised image); the loop takes it over and disposes it */
  x: tf.Tensor;
  /** default: the scheduler's timesteps */
  timesteps?: number[];
  /** the noise of stochastic steps and hooks */
  rng?: Rng;
  after?: StepHook;
  /** RePaint: redo each step `rounds` times, backing up with q(x_t | x_tPrev) in between (noise from `noise`) */
  resample?: { rounds: number; noise: (shape: number[]) => tf.Tensor };
  /** progress: step k of n done, with the current estimate of the clean sample (the caller must not keep it) */
  onStep?: (k: number, n: number, predX0: tf.Tensor) => void;
  /** checked before every step: an aborted signal stops the loop with SamplingCancelled, leaking nothing */
  signal?: AbortSignal;
}

/** The reverse process from `x` over the timesteps; returns the final sample (the caller owns it). */
export function denoiseLoop(o: LoopOptions): tf.Tensor {
  const ts = o.timesteps ?? o.scheduler.timesteps, rounds = Math.max(1, o.resample?.rounds ?? 1);
  let x = o.x;
  try {
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i], tPrev = i + 1 < ts.length ? ts[i + 1] : -1;
      for (let r = 0; r < rounds; r++) {
        if (o.signal?.aborted) throw new SamplingCancelled('sampling was cancelled');
        const B = x.shape[0];
        const { prev, x0 } = tf.tidy(() => {
          const eps = o.predict(x, tf.fill([B], t, 'int32') as tf.Tensor1D);
          const out = o.scheduler.step(eps, t, x, o.rng);
          let p = o.after ? o.after(out.prevSample, { i, t, tPrev }) : out.prevSample;
          if (r + 1 < rounds) p = o.scheduler.renoise(p, tPrev, t, o.resample!.noise(p.shape));
          return { prev: p, x0: out.predOriginalSample };
        });
        x.dispose();
        x = prev;
        if (r + 1 === rounds) o.onStep?.(i + 1, ts.length, x0);
        x0.dispose();
      }
    }
    return x;
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/** SDEdit (Meng et al. 2022): start `strength` of the way up from a noised image instead of pure noise; returns the start and the timesteps left. */
export function startFromImage(scheduler: Scheduler, x0: tf.Tensor, strength: number, noise: tf.Tensor): { x: tf.Tensor; timesteps: number[] } {
  const all = scheduler.timesteps;
  const n = Math.min(all.length, Math.max(1, Math.round(all.length * strength)));
  const timesteps = all.slice(all.length - n);
  return { x: scheduler.addNoise(x0, noise, new Array<number>(x0.shape[0]).fill(timesteps[0])), timesteps };
}

/**
 * Inpainting (RePaint, Lugmayr et al. 2022, over DDIM's steps): after every step the known pixels
 * (mask 0) are replaced by the known image noised to that step, so only the masked ones are drawn.
 */
export function keepKnown(scheduler: Scheduler, known: tf.Tensor, mask: tf.Tensor, noise: (shape: number[]) => tf.Tensor): StepHook {
  return (prev, { tPrev }) => {
    const k = tPrev >= 0 ? scheduler.addNoise(known, noise(known.shape), new Array<number>(known.shape[0]).fill(tPrev)) : known;
    return tf.add(tf.mul(prev, mask), tf.mul(k, tf.sub(1, mask)));
  };
}
