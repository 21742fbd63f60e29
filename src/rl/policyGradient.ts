// Policy-gradient fine-tuning of a generator toward a reward, on a KL leash to a frozen reference
// (InstructGPT's objective, Ouyang et al. 2022): each sampled sequence gets the reward R minus
// kl * KL, where KL is the sampled estimate sum_t (log pi - log pi_ref) over its tokens; the
// rewards are normalised across the batch (a baseline: the batch mean) and REINFORCE's loss is
// -mean_i A_i * sum_t log pi(token_it). PPO's clipped ratio is the `clip` option (one update per
// batch makes the ratio 1, so it matters when a batch is reused).
import * as tf from '@tensorflow/tfjs-core';

/** log pi of the chosen tokens: logits [N, V], tokens [N] -> [N] (differentiable in the logits). */
export function tokenLogProbs(logits: tf.Tensor2D, tokens: tf.Tensor1D): tf.Tensor1D {
  const lsm = tf.logSoftmax(logits);
  return tf.sum(tf.mul(lsm, tf.oneHot(tokens, logits.shape[1])), 1) as tf.Tensor1D;
}

/** Mean entropy (nats) of the policy's distributions over the rows of logits [N, V] weighted by mask [N]. */
export function meanEntropy(logits: tf.Tensor2D, mask: tf.Tensor1D): tf.Scalar {
  const lsm = tf.logSoftmax(logits);
  const h = tf.neg(tf.sum(tf.mul(tf.exp(lsm), lsm), 1));
  return tf.div(tf.sum(tf.mul(h, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

export interface PgBatch {
  /** log pi of each generated token under the policy, [B, T] (with gradient) */
  logp: tf.Tensor2D;
  /** the same under the frozen reference, [B, T] (no gradient) */
  refLogp: tf.Tensor2D;
  /** log pi under the policy that sampled the batch (PPO's old policy; default: logp itself, no gradient) */
  oldLogp?: tf.Tensor2D;
  /** 1 where a token was generated, 0 for prompt and padding, [B, T] */
  mask: tf.Tensor2D;
  /** the task's reward of each sequence, [B] */
  rewards: Float32Array;
}

export interface PgOptions {
  /** KL coefficient (TRL's default 0.05) */
  kl: number;
  /** normalise the shaped rewards across the batch (mean 0, std 1) */
  normalise?: boolean;
  /** PPO's clip range epsilon (0: plain REINFORCE with a baseline) */
  clip?: number;
}

export interface PgResult {
  loss: tf.Scalar;
  /** per sequence: the KL estimate and the shaped reward (R - kl * KL) */
  kl: Float32Array;
  shaped: Float32Array;
  advantages: Float32Array;
}

/** The per-sequence KL estimates sum_t mask (logp - refLogp), as numbers (no gradient flows through the shaping). */
export function sequenceKl(logp: tf.Tensor2D, refLogp: tf.Tensor2D, mask: tf.Tensor2D): Float32Array {
  return tf.tidy(() => tf.sum(tf.mul(tf.sub(logp, refLogp), mask), 1).dataSync() as Float32Array);
}

/** Advantages from shaped rewards: minus the batch mean (the baseline), over the batch std when normalising. */
export function advantages(shaped: Float32Array, normalise: boolean): Float32Array {
  const n = shaped.length, mean = shaped.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(shaped.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return shaped.map((r) => (normalise ? (r - mean) / (std + 1e-8) : r - mean));
}

/** The policy-gradient loss of one batch; call inside a tidy (its `loss` carries the gradient). */
export function policyGradientLoss(b: PgBatch, o: PgOptions): PgResult {
  const kl = sequenceKl(b.logp, b.refLogp, b.mask);
  const shaped = b.rewards.map((r, i) => r - o.kl * kl[i]);
  const adv = advantages(shaped, o.normalise ?? true);
  const A = tf.tensor2d(adv, [adv.length, 1]);
  let perToken: tf.Tensor;
  if (o.clip && o.clip > 0) {
    // without an old policy, this batch's own log-probs as constants (a copy carries no gradient)
    const old = b.oldLogp ?? tf.tensor2d(b.logp.dataSync() as Float32Array, b.logp.shape);
    const ratio = tf.exp(tf.sub(b.logp, old));
    perToken = tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - o.clip, 1 + o.clip), A));
  } else perToken = tf.mul(b.logp, A);
  // -mean over sequences of the sum over their generated tokens
  const loss = tf.neg(tf.div(tf.sum(tf.mul(perToken, b.mask)), adv.length)) as tf.Scalar;
  return { loss, kl, shaped, advantages: adv };
}
