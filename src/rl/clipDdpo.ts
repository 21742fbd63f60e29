// DDPO (Black et al. 2023) for the clip diffusion model: the denoising chain as a policy. Each
// stochastic DDIM step (eta > 0) draws x_{t-1} ~ N(mean_theta(x_t, t, text), sigma_t^2), an action;
// the reward (injected: the clip judge lives above this layer) scores the finished clip against
// the prompt's attributes, normalised per prompt. The loss is PPO's clipped surrogate on the ratio
// of each step's probability under the current and the sampling weights, plus DPOK's KL toward a
// frozen reference, which for two Gaussians of one sigma is |mean - mean_ref|^2 / (2 sigma^2).
// Log-probabilities are means over a clip's latent elements, as DDPO's implementation has them.
import * as tf from '@tensorflow/tfjs-core';
import { DdimScheduler } from '../diffusion/schedulers.js';
import type { NoiseSchedule } from '../diffusion/schedules.js';
import type { ClipDiffusion } from '../models/clipDiffusion.js';
import { SpriteDiffusion } from '../models/spriteDiffusion.js';
import { SPRITE_LATENT } from '../models/spriteLatent.js';
import type { TextEncoding } from '../models/textEncoder.js';
import type { TrainTask } from '../train/trainer.js';
import type { Rng } from '../util/rng.js';

/** The policies DDPO fine-tunes: latent video diffusion, and sprite diffusion (one sprite latent a clip). */
export type ClipDenoiser = ClipDiffusion | SpriteDiffusion;
/** What the denoiser reads of B texts and then of B empty texts (classifier-free guidance's pair). */
type Paired = TextEncoding | tf.Tensor2D;

/** The latents' shape of B clips. */
export function latentShape(m: ClipDenoiser, B: number): number[] {
  return m instanceof SpriteDiffusion ? [B, SPRITE_LATENT] : [B * m.config.frames, 16, 16, m.config.unet.latent];
}

/** Whether the model's sampler clips its x0 estimates to [-1, 1] (generateClip's DDIM does for sprite latents). */
export function clipsX0(m: ClipDenoiser): boolean {
  return m instanceof SpriteDiffusion;
}

/** DDPO's bound on the normalised advantages. */
export const ADV_CLIP = 5;

/** The mean and sigma of one DDIM step from x_t (noise eps, alpha-bars a at t and ap at the next timestep). */
export function ddimStepMean(eps: tf.Tensor, x: tf.Tensor, a: number, ap: number, eta: number, clipX0 = false): { mean: tf.Tensor; sigma: number } {
  const sigma = eta * Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap));
  const mean = tf.tidy(() => {
    let x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
    // as the sampler does for latents bounded in [-1, 1] (sprite diffusion): x0 clipped, and the
    // noise direction the one the clipped x0 implies (DdimScheduler's, diffusers')
    if (clipX0) {
      x0 = tf.clipByValue(x0, -1, 1);
      eps = tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(a))), Math.sqrt(1 - a));
    }
    return tf.add(tf.mul(x0, Math.sqrt(ap)), tf.mul(eps, Math.sqrt(Math.max(0, 1 - ap - sigma * sigma))));
  });
  return { mean, sigma };
}

/** log N(prev; mean, sigma^2) of each of B clips, the mean over its elements, without the constant: [B]. */
export function stepLogProb(prev: tf.Tensor, mean: tf.Tensor, sigma: number, B: number): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.reshape(tf.div(tf.squaredDifference(prev, mean), -2 * sigma * sigma), [B, -1]), 1) as tf.Tensor1D);
}

/** Advantages normalised within each prompt's samples (DDPO's per-prompt statistics); a prompt sampled once uses the batch's. */
export function perPromptAdvantages(rewards: ArrayLike<number>, keys: readonly string[]): Float32Array {
  if (rewards.length !== keys.length) throw new RangeError(`${rewards.length} rewards for ${keys.length} prompts`);
  const stats = (idx: number[]) => {
    const m = idx.reduce((s, i) => s + rewards[i], 0) / idx.length;
    return { m, sd: Math.sqrt(idx.reduce((s, i) => s + (rewards[i] - m) ** 2, 0) / idx.length) };
  };
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => groups.set(k, [...(groups.get(k) ?? []), i]));
  const all = stats(Array.from(keys, (_, i) => i)), out = new Float32Array(keys.length);
  for (const idx of groups.values()) {
    const { m, sd } = idx.length > 1 ? stats(idx) : all;
    for (const i of idx) out[i] = (rewards[i] - m) / (sd + 1e-6);
  }
  return out;
}

export interface DdpoSampling {
  schedule: NoiseSchedule;
  /** DDIM steps of a trajectory */
  steps: number;
  /** DDIM's eta: the policy's noise (1: DDPM's; 0 leaves no action to score) */
  eta: number;
  guidance: number;
}

/** One prompt batch's trajectories: the latents before and after every stochastic step, and their log-probabilities then. */
export interface Trajectories {
  texts: string[];
  /** [step] the timestep and the next one */
  t: number[];
  tPrev: number[];
  x: Float32Array[];
  prev: Float32Array[];
  logp: Float32Array[];
  /** the finished latents (latentShape) */
  final: tf.Tensor;
}

/** Guided noise of B clips x (latentShape) at timestep t; `cond` holds the B texts then B empty ones. */
export function guidedClipNoise(model: ClipDenoiser, x: tf.Tensor, t: number, cond: Paired, guidance: number, ab: ArrayLike<number>): tf.Tensor {
  return tf.tidy(() => {
    const xx = tf.concat([x, x]);
    const out = model instanceof SpriteDiffusion
      ? model.predictNoise(xx as tf.Tensor2D, tf.fill([xx.shape[0]], t, 'int32') as tf.Tensor1D, cond as tf.Tensor2D, ab)
      : model.predictNoise(xx as tf.Tensor4D, tf.fill([(cond as TextEncoding).pooled.shape[0]], t, 'int32') as tf.Tensor1D, cond as TextEncoding, ab);
    const [c, u] = tf.split(out, 2, 0);
    return tf.add(u, tf.mul(tf.sub(c, u), guidance));
  });
}

function pairedTexts(model: ClipDenoiser, texts: readonly string[]): Paired {
  const all = [...texts, ...texts.map(() => '')];
  return model instanceof SpriteDiffusion ? model.condition(all) : model.encodeText(all);
}

function disposePaired(p: Paired): void {
  if (p instanceof tf.Tensor) p.dispose();
  else for (const k of [p.tokens, p.keyBias, p.pooled]) k.dispose();
}

/** The finished latents' frames [B * 16, 64, 64, 3]. */
export function decodeLatents(model: ClipDenoiser, z: tf.Tensor): tf.Tensor4D {
  return model instanceof SpriteDiffusion ? model.decode(z as tf.Tensor2D) : model.decode(z as tf.Tensor4D);
}

/** Samples trajectories for `texts` (encoder texts) with the model's current weights; no gradient. */
export function sampleTrajectories(model: ClipDenoiser, texts: readonly string[], o: DdpoSampling, rng: Rng): Trajectories {
  const sc = new DdimScheduler(o.schedule, false, o.eta), ab = o.schedule.alphasCumprod, B = texts.length, shape = latentShape(model, B);
  sc.setTimesteps(o.steps);
  const ts = sc.timesteps, out: Trajectories = { texts: [...texts], t: [], tPrev: [], x: [], prev: [], logp: [], final: undefined as unknown as tf.Tensor };
  const enc = tf.tidy(() => pairedTexts(model, texts));
  let x = tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
  try {
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i], tp = i + 1 < ts.length ? ts[i + 1] : -1;
      const next = tf.tidy(() => {
        const eps = guidedClipNoise(model, x, t, enc, o.guidance, ab);
        const { mean, sigma } = ddimStepMean(eps, x, ab[t], tp >= 0 ? ab[tp] : 1, tp >= 0 ? o.eta : 0, clipsX0(model));
        if (sigma === 0) return mean; // the last step is deterministic: no action
        const prev = tf.add(mean, tf.mul(tf.tensor(rng.normalArray(mean.size), mean.shape), sigma));
        out.t.push(t); out.tPrev.push(tp);
        out.x.push(x.dataSync() as Float32Array); out.prev.push(prev.dataSync() as Float32Array);
        out.logp.push(stepLogProb(prev, mean, sigma, B).dataSync() as Float32Array);
        return prev;
      });
      x.dispose();
      x = next;
    }
  } catch (e) {
    x.dispose();
    throw e;
  } finally {
    disposePaired(enc);
  }
  out.final = x;
  return out;
}

export interface DdpoLossOptions {
  /** PPO's clip range */
  clip: number;
  /** KL coefficient toward the reference (0: none) */
  kl: number;
  reference?: ClipDenoiser;
}

/** The step's mean under a model, for the trajectories' clips at step k. */
function stepMean(m: ClipDenoiser, tr: Trajectories, k: number, o: Omit<DdpoSampling, 'steps'>): { mean: tf.Tensor; sigma: number } {
  const B = tr.texts.length, ab = o.schedule.alphasCumprod, x = tf.tensor(tr.x[k], latentShape(m, B));
  return ddimStepMean(guidedClipNoise(m, x, tr.t[k], pairedTexts(m, tr.texts), o.guidance, ab), x, ab[tr.t[k]], ab[tr.tPrev[k]], o.eta, clipsX0(m));
}

/** The reference model's step means of every step (no gradient), for the KL term. */
export function referenceMeans(ref: ClipDenoiser, tr: Trajectories, o: Omit<DdpoSampling, 'steps'>): Float32Array[] {
  return tr.t.map((_, k) => tf.tidy(() => stepMean(ref, tr, k, o).mean.dataSync() as Float32Array));
}

/**
 * The DDPO loss of step k of the trajectories (call inside a tidy; the loss carries the gradient)
 * and what it measured: the mean ratio, the KL term and the share of clips whose ratio was clipped.
 */
export function ddpoStepLoss(model: ClipDenoiser, tr: Trajectories, k: number, adv: Float32Array, o: { clip: number; kl: number; refMean?: Float32Array } & Omit<DdpoSampling, 'steps'>): { loss: tf.Scalar; ratio: number; kl: number; clipped: number } {
  const B = tr.texts.length, prev = tf.tensor(tr.prev[k], latentShape(model, B));
  const { mean, sigma } = stepMean(model, tr, k, o);
  // the log-ratio clamped before exp: an overflow times a zero advantage would be NaN
  const ratio = tf.exp(tf.clipByValue(tf.sub(stepLogProb(prev, mean, sigma, B), tf.tensor1d(tr.logp[k])), -20, 20));
  const A = tf.clipByValue(tf.tensor1d(adv), -ADV_CLIP, ADV_CLIP); // DDPO's advantage clip
  let loss = tf.neg(tf.mean(tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - o.clip, 1 + o.clip), A)))) as tf.Scalar;
  let kl = 0;
  if (o.kl > 0 && o.refMean) {
    const klT = tf.mean(tf.div(tf.squaredDifference(mean, tf.tensor(o.refMean, mean.shape)), 2 * sigma * sigma)) as tf.Scalar;
    kl = klT.dataSync()[0];
    loss = tf.add(loss, tf.mul(klT, o.kl)) as tf.Scalar;
  }
  const r = Array.from(ratio.dataSync());
  return { loss, ratio: r.reduce((s, v) => s + v, 0) / B, kl, clipped: r.filter((v) => Math.abs(v - 1) > o.clip).length / B };
}

export interface ClipDdpoOptions extends DdpoSampling, DdpoLossOptions {
  policy: ClipDenoiser;
  /** draws a batch of prompts: encoder texts and the key their rewards are normalised by */
  prompts(rng: Rng, n: number): { texts: string[]; keys: string[] };
  /** rewards of the finished clips (frames [n, frames, 64, 64, 3] in [0, 1]) for their prompts' keys */
  reward(frames: Float32Array, keys: readonly string[]): Float32Array;
  /** samples per prompt in a batch (per-prompt normalisation needs 2 or more) */
  perPrompt: number;
  /** one update a batch, the gradients of its timesteps averaged (DDPO's); else one update a timestep */
  accumulate?: boolean;
  /** what config.json records beside the model (the policy's checkpoint meta: schedule, sampling...) */
  meta: Record<string, unknown>;
}

/**
 * DDPO as a TrainTask: `prepare` samples a new batch of trajectories (outside the gradient tape)
 * once each step of the last one has been trained on, in a random order. With `accumulate` a
 * training step averages the gradients of all the batch's timesteps (the trainer's accumulation),
 * as DDPO does; without, each training step descends one timestep, so the later steps of a batch
 * are off-policy and PPO's clip matters.
 */
export function clipDdpoTask(o: ClipDdpoOptions): TrainTask & { stats(): Record<string, number>; batch(): { trajectories: Trajectories; advantages: Float32Array; trained: number[] } | undefined; dispose(): void } {
  let tr: Trajectories | undefined, adv: Float32Array = new Float32Array(0), order: number[] = [], trained: number[] = [], refMeans: Float32Array[] = [], reward = NaN;
  let last = { ratio: NaN, kl: NaN, clipped: NaN };
  const trainable = o.policy.trainable.filter((k) => !k.startsWith('text.') && !k.startsWith('head.')); // the encoder stays the one all families read
  return {
    params: o.policy.params,
    trainable,
    decay: new Set(trainable.filter((k) => k.endsWith('.w'))),
    // the batch's actions (every DDIM step with noise), read by the trainer after prepare
    get accumulate() { return o.accumulate ? (tr?.t.length ?? o.steps - 1) : 1; },
    prepare: (rng, B) => {
      if (tr && order.length) return;
      tr?.final.dispose();
      const n = Math.max(1, Math.floor(B / o.perPrompt)), p = o.prompts(rng, n);
      const texts = p.texts.flatMap((t) => Array<string>(o.perPrompt).fill(t)), keys = p.keys.flatMap((k) => Array<string>(o.perPrompt).fill(k));
      tr = sampleTrajectories(o.policy, texts, o, rng);
      const frames = tf.tidy(() => decodeLatents(o.policy, tr!.final).dataSync() as Float32Array);
      const r = o.reward(frames, keys);
      reward = Array.from(r).reduce((s, v) => s + v, 0) / r.length;
      adv = perPromptAdvantages(r, keys);
      refMeans = o.kl > 0 && o.reference ? referenceMeans(o.reference, tr, o) : [];
      order = Array.from({ length: tr.t.length }, (_, i) => i);
      trained = [];
      for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    },
    loss: () => {
      if (!tr || !order.length) throw new Error('clip DDPO: loss before prepare');
      const k = order.pop()!;
      trained.push(k);
      const res = ddpoStepLoss(o.policy, tr, k, adv, { ...o, refMean: refMeans[k] });
      last = { ratio: res.ratio, kl: res.kl, clipped: res.clipped };
      return res.loss;
    },
    stats: () => ({ reward, ...last }),
    /** the current batch: its trajectories, advantages and the steps trained on so far */
    batch: () => (tr ? { trajectories: tr, advantages: adv, trained: [...trained] } : undefined),
    /** frees the last batch's tensors */
    dispose: () => { tr?.final.dispose(); tr = undefined; order = []; },
    meta: () => ({ ...o.meta, family: 'clip-diffusion', model: { ...o.policy.config } }),
  };
}
