// RL fine-tuning of a character-level GPT or LSTM as a TrainTask, so that the one trainer gives it
// the optimizer, checkpoints, resume, the progress bar and the metrics log. Each step samples a
// batch of continuations of the prompt from the policy (temperature 1: the policy's own
// distribution, which REINFORCE's estimate needs), scores them, and descends policyGradientLoss.
import * as tf from '@tensorflow/tfjs-core';
import type { CharTokenizer } from '../data/text.js';
import { drawToken } from '../models/sampling.js';
import type { TextModel } from '../models/types.js';
import type { TrainTask } from '../train/trainer.js';
import type { Rng } from '../util/rng.js';
import { meanEntropy, policyGradientLoss, tokenLogProbs } from './policyGradient.js';
import type { Reward } from './rewards.js';

export interface TextRlOptions {
  policy: TextModel;
  /** the frozen model the KL is measured against (the policy's starting point) */
  reference: TextModel;
  tokenizer: CharTokenizer;
  prompt: string;
  /** characters generated per sample */
  tokens: number;
  reward: Reward;
  /** KL coefficient */
  kl: number;
  normalise?: boolean;
  extraMeta?: Record<string, unknown>;
}

export interface TextSamples {
  /** prompt + continuation ids, [B, P + tokens] */
  ids: Int32Array;
  texts: string[];
  width: number;
}

/** B continuations of `promptIds` sampled from the model's own distribution (no gradient). */
export function sampleContinuations(model: TextModel, tokenizer: CharTokenizer, promptIds: Int32Array, tokens: number, B: number, rng: Rng): TextSamples {
  const P = promptIds.length, W = P + tokens, ids = new Int32Array(B * W), V = model.vocabSize;
  for (let b = 0; b < B; b++) ids.set(promptIds, b * W);
  for (let t = P; t < W; t++) {
    // the whole prefix again each step: model-agnostic (GPT and LSTM), and cheap at these lengths
    const last = tf.tidy(() => {
      const x = tf.tensor2d(Int32Array.from({ length: B * t }, (_, i) => ids[Math.floor(i / t) * W + (i % t)]), [B, t], 'int32');
      const l = model.logits(x);
      return tf.reshape(tf.slice(l, [0, t - 1, 0], [B, 1, V]), [B, V]).dataSync() as Float32Array;
    });
    for (let b = 0; b < B; b++) ids[b * W + t] = drawToken(last.subarray(b * V, (b + 1) * V), rng);
  }
  const texts = Array.from({ length: B }, (_, b) => tokenizer.decode(ids.subarray(b * W + P, (b + 1) * W)));
  return { ids, texts, width: W };
}

/** log pi of each generated token [B, tokens] and the logits that gave them (differentiable). */
function generatedLogProbs(model: TextModel, s: TextSamples, P: number, B: number): { logp: tf.Tensor2D; logits: tf.Tensor2D } {
  const W = s.width, T = W - P, V = model.vocabSize;
  const x = tf.tensor2d(Int32Array.from({ length: B * (W - 1) }, (_, i) => s.ids[Math.floor(i / (W - 1)) * W + (i % (W - 1))]), [B, W - 1], 'int32');
  // the logits at position j predict token j + 1: the generated tokens are predicted from P - 1 on
  const logits = tf.reshape(tf.slice(model.logits(x), [0, P - 1, 0], [B, T, V]), [B * T, V]) as tf.Tensor2D;
  const next = tf.tensor1d(Int32Array.from({ length: B * T }, (_, i) => s.ids[Math.floor(i / T) * W + P + (i % T)]), 'int32');
  return { logp: tf.reshape(tokenLogProbs(logits, next), [B, T]) as tf.Tensor2D, logits };
}

export interface TextRlStats {
  reward: number;
  kl: number;
  entropy: number;
}

export function textRlTask(o: TextRlOptions): TrainTask & { stats(): Record<string, number>; lastSamples(): string[] } {
  const promptIds = o.prompt.length ? o.tokenizer.encode(o.prompt) : Int32Array.of(0), P = promptIds.length;
  let last: TextRlStats = { reward: NaN, kl: NaN, entropy: NaN }, texts: string[] = [];
  return {
    params: o.policy.params,
    trainable: [...o.policy.params.keys()],
    decay: new Set(o.policy.decayNames()),
    loss: (rng, B) => {
      const s = sampleContinuations(o.policy, o.tokenizer, promptIds, o.tokens, B, rng);
      texts = s.texts;
      const rewards = o.reward.score(s.texts);
      const refLogp = tf.tidy(() => generatedLogProbs(o.reference, s, P, B).logp);
      const { logp, logits } = generatedLogProbs(o.policy, s, P, B);
      const mask = tf.onesLike(logp) as tf.Tensor2D;
      const r = policyGradientLoss({ logp, refLogp, mask, rewards }, { kl: o.kl, normalise: o.normalise ?? true });
      const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
      last = { reward: mean(rewards), kl: mean(r.kl), entropy: meanEntropy(logits, tf.ones([logits.shape[0]])).dataSync()[0] };
      return r.loss;
    },
    stats: () => ({ reward: last.reward, kl: last.kl, entropy: last.entropy }),
    lastSamples: () => texts,
    meta: () => ({ family: o.policy.family, model: { ...o.policy.config }, tokenizer: o.tokenizer.toJSON(), ...o.extraMeta }),
  };
}

export interface TextRlEvaluation {
  samples: number;
  /** mean reward of the samples */
  reward: number;
  /** mean of sum_t (log pi - log pi_ref) over each sample's tokens: the KL(pi || ref) estimate, nats per sample */
  kl: number;
  /** distinct word bigrams over all word bigrams of the samples (Li et al. 2016): low means repetitive, degenerate text */
  distinct2: number;
  texts: string[];
}

/** Distinct-2 of texts: unique word bigrams / word bigrams (1 when there are none). */
export function distinct2(texts: readonly string[]): number {
  const all: string[] = [];
  for (const t of texts) {
    const w = t.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    for (let i = 1; i < w.length; i++) all.push(`${w[i - 1]} ${w[i]}`);
  }
  return all.length ? new Set(all).size / all.length : 1;
}

/** Samples `n` continuations of the policy (seeded) and measures reward, KL to the reference and distinct-2. */
export function evaluateTextRl(o: Omit<TextRlOptions, 'kl' | 'normalise' | 'extraMeta'>, n: number, rng: Rng): TextRlEvaluation {
  const promptIds = o.prompt.length ? o.tokenizer.encode(o.prompt) : Int32Array.of(0), P = promptIds.length;
  const texts: string[] = [];
  let rewardSum = 0, klSum = 0;
  for (let done = 0; done < n; done += 16) {
    const B = Math.min(16, n - done), s = sampleContinuations(o.policy, o.tokenizer, promptIds, o.tokens, B, rng);
    texts.push(...s.texts);
    rewardSum += o.reward.score(s.texts).reduce((a, b) => a + b, 0);
    klSum += tf.tidy(() => tf.sum(tf.sub(generatedLogProbs(o.policy, s, P, B).logp, generatedLogProbs(o.reference, s, P, B).logp)).dataSync()[0]);
  }
  return { samples: n, reward: rewardSum / n, kl: klSum / n, distinct2: distinct2(texts), texts };
}
