// Classifier-free guidance (Ho & Salimans 2022): eps = eps_uncond + g (eps_cond - eps_uncond),
// the two predictions from one batched forward pass. g = 1 is the conditional model, g = 0 the
// unconditional one.
import * as tf from '@tensorflow/tfjs-core';

/** A noise predictor that takes class labels ([B] int32; `nullLabel` means "no class"). */
export type ConditionalDenoiser = (x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D) => tf.Tensor4D;

export function guidedNoise(model: ConditionalDenoiser, x: tf.Tensor4D, t: tf.Tensor1D, labels: tf.Tensor1D, nullLabel: number, scale: number): tf.Tensor4D {
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError(`guidance must be a number >= 0, got ${scale}`);
  return tf.tidy(() => {
    if (scale === 1) return model(x, t, labels);
    const B = x.shape[0];
    const both = model(tf.concat([x, x]) as tf.Tensor4D, tf.concat([t, t]) as tf.Tensor1D, tf.concat([labels, tf.fill([B], nullLabel, 'int32')]) as tf.Tensor1D);
    const [cond, uncond] = tf.split(both, 2, 0);
    return tf.add(uncond, tf.mul(tf.sub(cond, uncond), scale)) as tf.Tensor4D;
  });
}

/**
 * Classifier-free guidance as a noise predictor over a batch with `labels` (-1: no class): scale g
 * for a batch that asks for classes, the conditional model itself (g = 1) when a sample asks for none.
 */
export function classifierFree(model: ConditionalDenoiser, labels: number[], nullLabel: number, scale: number): (x: tf.Tensor, t: tf.Tensor1D) => tf.Tensor {
  const g = labels.some((c) => c < 0) ? 1 : scale;
  return (x, t) => guidedNoise(model, x as tf.Tensor4D, t, tf.tensor1d(labels.map((c) => (c < 0 ? nullLabel : c)), 'int32'), nullLabel, g);
}

/** Encodings of a conditioning (text) batch: the conditional row(s) first, then the unconditional one(s). */
export interface PairedCondition { tokens: tf.Tensor; keyBias: tf.Tensor; pooled: tf.Tensor }

/**
 * Classifier-free guidance with a text condition: `both` holds the prompt's encoding and the empty
 * prompt's (batch 2); x [F, ...] is one sample (F frames); one forward pass of [x; x] with t repeated.
 */
export function classifierFreeText<C extends PairedCondition>(model: (x: tf.Tensor, t: tf.Tensor1D, cond: C) => tf.Tensor, both: C, scale: number): (x: tf.Tensor, t: tf.Tensor1D) => tf.Tensor {
  if (!Number.isFinite(scale) || scale < 0) throw new RangeError(`guidance must be a number >= 0, got ${scale}`);
  return (x, t) => tf.tidy(() => {
    const t2 = tf.fill([2], t.dataSync()[0], 'int32') as tf.Tensor1D;
    if (scale === 1) {
      const one = { ...both, tokens: tf.slice(both.tokens, 0, 1), keyBias: tf.slice(both.keyBias, 0, 1), pooled: tf.slice(both.pooled, 0, 1) } as C;
      return model(x, tf.slice(t2, 0, 1), one);
    }
    const [cond, uncond] = tf.split(model(tf.concat([x, x]), t2, both), 2, 0);
    return tf.add(uncond, tf.mul(tf.sub(cond, uncond), scale));
  });
}
