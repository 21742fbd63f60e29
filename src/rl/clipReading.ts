// Policy-gradient fine-tuning of what a clip generator reads in the words (issue 14). The shipped
// generators take the text encoder's five heads read hard (one-hot at each argmax); here those
// heads become a policy: each prompt's five attribute values are an action drawn from the heads'
// softmaxes, the frozen generator makes the clip from that reading as `generate` does from the
// argmax, and the judge's reward scores it. REINFORCE with per-prompt normalised advantages
// (DDPO's statistics) and the exact KL of each head's distribution to the reference heads'.
// Only the encoder and its heads learn: on held-out digit-direction pairs the generators' errors
// are the encoder's misreadings (README), which a denoising-chain policy (DDPO) cannot reach.
import * as tf from '@tensorflow/tfjs-core';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, type AttributeName } from '../data/clips/world.js';
import type { NoiseSchedule } from '../diffusion/schedules.js';
import { ClipLatent } from '../models/clipLatent.js';
import { SpriteDiffusion } from '../models/spriteDiffusion.js';
import { linear } from '../nn/layers.js';
import type { TrainPhase, TrainTask } from '../train/trainer.js';
import type { Rng } from '../util/rng.js';
import { ADV_CLIP, perPromptAdvantages } from './clipDdpo.js';

/** The generators that read the heads hard: the latent GAN (and a heads VAE), and sprite diffusion. */
export type ReadingGenerator = ClipLatent | SpriteDiffusion;

/** Whether a generator reads the encoder's heads one-hot (the reading this policy acts on). */
export function readsHeadsHard(m: ReadingGenerator): boolean {
  return m instanceof SpriteDiffusion ? m.config.cond !== 'pooled' && m.config.reading === 'hard' : m.config.gen.cond === 'heads' && m.config.gen.reading !== 'soft';
}

/** The five heads' logits of texts [B, values] (with gradient in the encoder and heads). */
export function headLogits(m: ReadingGenerator, texts: readonly string[]): Record<AttributeName, tf.Tensor2D> {
  const pooled = m.text.encodeTexts(texts).pooled;
  return Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, linear(pooled, m.p(`head.${k}.w`), m.p(`head.${k}.b`)) as tf.Tensor2D])) as Record<AttributeName, tf.Tensor2D>;
}

/** A reading: each text's value index per attribute, [attribute][B]. */
export type Reading = Record<AttributeName, Int32Array>;

/** The generator's input for a reading: each head's one-hot side by side, times the head scale [B, 23] (headsCondition's hard output). */
export function readingCondition(m: ReadingGenerator, r: Reading): tf.Tensor2D {
  const scale = m instanceof SpriteDiffusion ? m.config.headScale : m.config.gen.headScale ?? 1;
  return tf.tidy(() => tf.mul(tf.concat(ATTRIBUTE_NAMES.map((k) => tf.oneHot(tf.tensor1d(r[k], 'int32'), ATTRIBUTE_VALUES[k].length)), 1), scale) as tf.Tensor2D);
}

export interface ReadingSampling {
  /** sprite diffusion: its noise schedule, DDIM steps and guidance (generate's) */
  schedule?: NoiseSchedule;
  steps?: number;
  guidance?: number;
}

/** Frames [B * 16 * 64 * 64 * 3] in [0, 1] of the clips the generator makes from a reading, noise drawn with rng. */
export function renderReading(m: ReadingGenerator, r: Reading, rng: Rng, s: ReadingSampling): Float32Array {
  const B = r.digit.length, cond = readingCondition(m, r);
  try {
    if (m instanceof ClipLatent) {
      return tf.tidy(() => {
        const eps = tf.tensor2d(rng.normalArray(B * m.config.gen.zDim), [B, m.config.gen.zDim]);
        return tf.clipByValue(m.frames(m.code(eps, cond), cond), 0, 1).dataSync() as Float32Array;
      });
    }
    if (!s.schedule || !s.steps || !s.guidance) throw new RangeError('sprite diffusion needs its schedule, steps and guidance');
    const uncond = m.condition(['']);
    try {
      const z = m.sampleLatents(cond, uncond, { schedule: s.schedule, steps: s.steps, guidance: s.guidance }, rng);
      const frames = tf.tidy(() => tf.clipByValue(m.decode(z), 0, 1).dataSync() as Float32Array);
      z.dispose();
      return frames;
    } finally {
      uncond.dispose();
    }
  } finally {
    cond.dispose();
  }
}

/** The heads' argmax of texts: the reading `generate` uses. */
export function greedyReading(m: ReadingGenerator, texts: readonly string[]): Reading {
  return tf.tidy(() => {
    const l = headLogits(m, texts);
    return Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, tf.argMax(l[k], 1).dataSync() as Int32Array])) as Reading;
  });
}

/** Each head's probabilities of texts, row-major [B * values] (no gradient). */
export function headProbs(m: ReadingGenerator, texts: readonly string[], temperature = 1): Record<AttributeName, Float32Array> {
  return tf.tidy(() => {
    const l = headLogits(m, texts);
    return Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, tf.softmax(tf.div(l[k], temperature)).dataSync() as Float32Array]));
  }) as Record<AttributeName, Float32Array>;
}

/** sum_k KL(p_k || q_k) of one text's head probabilities (row 0 of each). */
export function readingKl(p: Record<AttributeName, Float32Array>, q: Record<AttributeName, Float32Array>): number {
  let kl = 0;
  for (const k of ATTRIBUTE_NAMES) for (let v = 0; v < ATTRIBUTE_VALUES[k].length; v++) kl += p[k][v] * Math.log(Math.max(p[k][v], 1e-12) / Math.max(q[k][v], 1e-12));
  return kl;
}

/** Draws a reading from the heads' softmaxes at `temperature`. */
export function sampleReading(m: ReadingGenerator, texts: readonly string[], temperature: number, rng: Rng): Reading {
  const probs = headProbs(m, texts, temperature), B = texts.length, reading = {} as Reading;
  for (const k of ATTRIBUTE_NAMES) {
    const V = ATTRIBUTE_VALUES[k].length, p = probs[k], out = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      let u = rng.next(), v = 0;
      while (v < V - 1 && u >= p[i * V + v]) { u -= p[i * V + v]; v++; }
      out[i] = v;
    }
    reading[k] = out;
  }
  return reading;
}

/**
 * The loss of one batch (call inside a tidy): -mean_i A_i * sum_k log pi_k(a_ik | text_i) at the
 * sampling temperature, plus kl * mean_i sum_k KL(pi_k(.|text_i) || ref_k(.|text_i)) at temperature 1
 * (exact: the heads' distributions are small). `refProbs` are the reference heads' probabilities.
 */
export function readingLoss(m: ReadingGenerator, texts: readonly string[], reading: Reading, adv: Float32Array, o: { temperature: number; kl: number; refProbs?: Record<AttributeName, Float32Array> }): { loss: tf.Scalar; kl: number; entropy: number } {
  const l = headLogits(m, texts), B = texts.length, A = tf.tensor1d(Array.from(adv, (a) => Math.max(-ADV_CLIP, Math.min(ADV_CLIP, a))));
  let logp: tf.Tensor = tf.zeros([B]), kl: tf.Tensor = tf.zeros([B]), ent: tf.Tensor = tf.zeros([B]);
  for (const k of ATTRIBUTE_NAMES) {
    const V = ATTRIBUTE_VALUES[k].length, lsmT = tf.logSoftmax(tf.div(l[k], o.temperature));
    logp = tf.add(logp, tf.sum(tf.mul(lsmT, tf.oneHot(tf.tensor1d(reading[k], 'int32'), V)), 1));
    const lsm = tf.logSoftmax(l[k]), p = tf.exp(lsm);
    ent = tf.sub(ent, tf.sum(tf.mul(p, lsm), 1));
    if (o.refProbs) kl = tf.add(kl, tf.sum(tf.mul(p, tf.sub(lsm, tf.log(tf.maximum(tf.tensor2d(o.refProbs[k], [B, V]), 1e-12)))), 1));
  }
  let loss = tf.neg(tf.mean(tf.mul(logp, A))) as tf.Scalar;
  const klMean = tf.mean(kl) as tf.Scalar;
  if (o.kl > 0 && o.refProbs) loss = tf.add(loss, tf.mul(klMean, o.kl)) as tf.Scalar;
  return { loss, kl: klMean.dataSync()[0], entropy: tf.mean(ent).dataSync()[0] };
}

export interface ClipReadingOptions extends ReadingSampling {
  policy: ReadingGenerator;
  /** the frozen reference (for the KL term; absent when kl is 0) */
  reference?: ReadingGenerator;
  kl: number;
  /** the softmaxes' temperature while sampling actions (above 1 explores more) */
  temperature: number;
  perPrompt: number;
  /** draws a batch of prompts: encoder texts and the key their rewards are normalised by */
  prompts(rng: Rng, n: number): { texts: string[]; keys: string[] };
  /** rewards of the finished clips (frames [n, 16, 64, 64, 3] in [0, 1]) for their prompts' keys, and the share judged exact */
  reward(frames: Float32Array, keys: readonly string[]): { reward: Float32Array; exact: number };
  /** what config.json records beside the model (family, schedule, sampling...) */
  meta: Record<string, unknown>;
  /** makes the clips of a reading (default: renderReading with the generator) */
  render?: (reading: Reading, rng: Rng) => Float32Array;
}

/** The reading policy as a TrainTask: `prepare` draws prompts, samples readings, renders and judges them (no gradient); `loss` is readingLoss. */
export function clipReadingTask(o: ClipReadingOptions): TrainTask & TrainPhase & { stats(): Record<string, number> } {
  if (!readsHeadsHard(o.policy)) throw new RangeError('reading RL needs a generator that reads the clip-text heads one-hot (reading=hard)');
  if (o.kl > 0 && !o.reference) throw new RangeError('reading RL: a KL coefficient needs the reference model');
  const trainable = [...o.policy.params.keys()].filter((k) => k.startsWith('text.') || k.startsWith('head.'));
  let batch: { texts: string[]; reading: Reading; adv: Float32Array; refProbs?: Record<AttributeName, Float32Array> } | undefined;
  let last = { reward: NaN, exact: NaN, kl: NaN, entropy: NaN };
  return {
    params: o.policy.params,
    trainable,
    decay: new Set(),
    prepare: (rng, B) => {
      const n = Math.max(1, Math.floor(B / o.perPrompt)), p = o.prompts(rng, n);
      const texts = p.texts.flatMap((t) => Array<string>(o.perPrompt).fill(t)), keys = p.keys.flatMap((k) => Array<string>(o.perPrompt).fill(k));
      const reading = sampleReading(o.policy, texts, o.temperature, rng);
      const r = o.reward(o.render ? o.render(reading, rng) : renderReading(o.policy, reading, rng, o), keys);
      const refProbs = o.kl > 0 && o.reference ? headProbs(o.reference, texts) : undefined;
      batch = { texts, reading, adv: perPromptAdvantages(r.reward, keys), refProbs };
      last = { ...last, reward: Array.from(r.reward).reduce((s, v) => s + v, 0) / r.reward.length, exact: r.exact };
    },
    loss: () => {
      if (!batch) throw new Error('reading RL: loss before prepare');
      const res = readingLoss(o.policy, batch.texts, batch.reading, batch.adv, { temperature: o.temperature, kl: o.kl, refProbs: batch.refProbs });
      last = { ...last, kl: res.kl, entropy: res.entropy };
      return res.loss;
    },
    stats: () => ({ ...last }),
    meta: () => ({ ...o.meta, family: o.policy instanceof SpriteDiffusion ? 'clip-diffusion' : o.policy.config.kind === 'gan' ? 'clip-gan' : 'clip-vae', model: { ...o.policy.config } }),
  };
}
