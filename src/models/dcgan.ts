// DCGAN (Radford et al. 2016) for 28x28x1 images, the `dcgan` workload of BENCHMARKS.md
// (917,122 weights): G maps z [B, 100] to tanh images, D maps images to one logit.
import * as tf from '@tensorflow/tfjs-core';
import { batchNorm, conv2d, convTranspose2d, convTWeights, convWeights, linearWeights, normWeights } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import type { Rng } from '../util/rng.js';

export interface DcganConfig {
  [key: string]: number;
  /** latent size */
  z: number;
}

export function defaultDcganConfig(): DcganConfig {
  return { z: 100 };
}

export function initDcganWeights(c: DcganConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  linearWeights(w, 'g.fc', rng, c.z, 7 * 7 * 128);
  normWeights(w, 'g.bn0', 7 * 7 * 128);
  convTWeights(w, 'g.up1', rng, 4, 128, 64);
  normWeights(w, 'g.bn1', 64);
  convTWeights(w, 'g.up2', rng, 4, 64, 1);
  convWeights(w, 'd.c1', rng, 4, 1, 64);
  convWeights(w, 'd.c2', rng, 4, 64, 128);
  normWeights(w, 'd.bn2', 128);
  linearWeights(w, 'd.fc', rng, 7 * 7 * 128, 1);
  return w;
}

export class Dcgan extends ParamStore {
  constructor(readonly config: DcganConfig, weights: Weights) {
    super(weights);
  }

  /** z [B, z] -> images [B, 28, 28, 1] in (-1, 1) */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    const p = (n: string) => this.p(n);
    const B = z.shape[0];
    let h: tf.Tensor = tf.relu(batchNorm(linear(z, p('g.fc.w'), p('g.fc.b')), p('g.bn0.g'), p('g.bn0.b')));
    h = tf.reshape(h, [B, 7, 7, 128]);
    h = tf.relu(batchNorm(convTranspose2d(h as tf.Tensor4D, p('g.up1.w'), p('g.up1.b'), 2, 1), p('g.bn1.g'), p('g.bn1.b')));
    return tf.tanh(convTranspose2d(h as tf.Tensor4D, p('g.up2.w'), p('g.up2.b'), 2, 1)) as tf.Tensor4D;
  }

  /** images [B, 28, 28, 1] -> logits [B, 1] */
  discriminate(x: tf.Tensor4D): tf.Tensor2D {
    const p = (n: string) => this.p(n);
    let h: tf.Tensor = tf.leakyRelu(conv2d(x, p('d.c1.w'), p('d.c1.b'), 2, 1), 0.2);
    h = tf.leakyRelu(batchNorm(conv2d(h as tf.Tensor4D, p('d.c2.w'), p('d.c2.b'), 2, 1), p('d.bn2.g'), p('d.bn2.b')), 0.2);
    return linear(tf.reshape(h, [x.shape[0], -1]), p('d.fc.w'), p('d.fc.b')) as tf.Tensor2D;
  }
}

/** Mean binary cross-entropy with logits against a constant target (0 or 1), stable form. */
export function bceWithLogits(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  // max(x, 0) - x t + log(1 + exp(-|x|))
  const t = tf.scalar(target);
  return tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, t)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))) as tf.Scalar;
}
