// A convolutional VAE (Kingma & Welling 2014) for 28x28x1 images with a Bernoulli likelihood,
// the `vae` workload of BENCHMARKS.md (1,673,729 weights, latent 16). Class-conditional when
// classes > 0 (a CVAE, Sohn et al. 2015): onehot(y) joins the encoder's features and the latent.
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, convTranspose2d, convTWeights, convWeights, linearWeights } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const VaeConfigSchema = Type.Object({
  latent: Type.Integer({ minimum: 1, maximum: 4096, description: 'latent size' }),
  classes: Type.Integer({ minimum: 0, description: '0: unconditional; else the number of classes' }),
}, { additionalProperties: false });
export type VaeConfig = Static<typeof VaeConfigSchema>;

export function defaultVaeConfig(): VaeConfig {
  return { latent: 16, classes: 0 };
}

export function initVaeWeights(c: VaeConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  convWeights(w, 'enc.c1', rng, 3, 1, 32);
  convWeights(w, 'enc.c2', rng, 3, 32, 64);
  linearWeights(w, 'enc.fc1', rng, 64 * 7 * 7 + c.classes, 256);
  linearWeights(w, 'enc.fc2', rng, 256, 2 * c.latent);
  linearWeights(w, 'dec.fc1', rng, c.latent + c.classes, 256);
  linearWeights(w, 'dec.fc2', rng, 256, 64 * 7 * 7);
  convTWeights(w, 'dec.up1', rng, 4, 64, 32);
  convTWeights(w, 'dec.up2', rng, 4, 32, 1);
  return w;
}

export class Vae extends ParamStore {
  constructor(readonly config: VaeConfig, weights: Weights) {
    super(weights);
  }

  /** y: labels [B], or class weights [B, classes] (one-hot rows, or blends of them). */
  private withLabels(h: tf.Tensor2D, y?: tf.Tensor1D | tf.Tensor2D): tf.Tensor2D {
    const { classes } = this.config;
    if (classes > 0 && (!y || y.shape[0] !== h.shape[0])) throw new Error(`this VAE is conditional: it needs ${h.shape[0]} labels`);
    if (classes === 0 && y) throw new Error('this VAE is unconditional: it takes no labels');
    if (!y) return h;
    return tf.concat([h, y.rank === 2 ? y : tf.oneHot(y as tf.Tensor1D, classes).toFloat()], 1) as tf.Tensor2D;
  }

  /** x [B, 28, 28, 1] in [0, 1] (and labels [B] when conditional) -> posterior mean and log-variance [B, latent] */
  encode(x: tf.Tensor4D, y?: tf.Tensor1D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } {
    const p = (n: string) => this.p(n);
    let h: tf.Tensor = tf.relu(conv2d(x, p('enc.c1.w'), p('enc.c1.b'), 2, 1));
    h = tf.relu(conv2d(h as tf.Tensor4D, p('enc.c2.w'), p('enc.c2.b'), 2, 1));
    h = tf.relu(linear(this.withLabels(tf.reshape(h, [x.shape[0], -1]), y), p('enc.fc1.w'), p('enc.fc1.b')));
    const [mu, logvar] = tf.split(linear(h, p('enc.fc2.w'), p('enc.fc2.b')), 2, 1) as tf.Tensor2D[];
    return { mu, logvar };
  }

  /** z [B, latent] (and labels [B] when conditional) -> Bernoulli logits [B, 28, 28, 1] */
  decode(z: tf.Tensor2D, y?: tf.Tensor1D | tf.Tensor2D): tf.Tensor4D {
    const p = (n: string) => this.p(n);
    let h: tf.Tensor = tf.relu(linear(this.withLabels(z, y), p('dec.fc1.w'), p('dec.fc1.b')));
    h = tf.relu(linear(h, p('dec.fc2.w'), p('dec.fc2.b')));
    h = tf.relu(convTranspose2d(tf.reshape(h, [z.shape[0], 7, 7, 64]), p('dec.up1.w'), p('dec.up1.b'), 2, 1));
    return convTranspose2d(h as tf.Tensor4D, p('dec.up2.w'), p('dec.up2.b'), 2, 1);
  }

  /** The negative ELBO per image: Bernoulli reconstruction + KL (Appendix B of the VAE paper); `eps` ~ N(0, I). */
  loss(x: tf.Tensor4D, eps: tf.Tensor2D, y?: tf.Tensor1D): tf.Scalar {
    const B = x.shape[0];
    const { mu, logvar } = this.encode(x, y);
    const z = tf.add(mu, tf.mul(eps, tf.exp(tf.mul(logvar, 0.5)))) as tf.Tensor2D;
    const logits = this.decode(z, y);
    const rec = tf.sum(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
    const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logvar), tf.square(mu)), tf.exp(logvar))));
    return tf.div(tf.add(rec, kl), B) as tf.Scalar;
  }
}

/**
 * The importance-weighted bound on -log p(x) in nats (Burda et al. 2016, eq. 8) with K samples
 * from q(z|x): -log (1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)), for each image of x [B, h, w, 1].
 * For a CVAE, given labels y it bounds -log p(x|y) instead.
 */
export function iwaeNll(model: Vae, x: tf.Tensor4D, K: number, rng: Rng, y?: tf.Tensor1D): Float64Array {
  const B = x.shape[0], L = model.config.latent;
  const nll = tf.tidy(() => {
    const { mu, logvar } = model.encode(x, y);
    const eps = tf.tensor3d(rng.normalArray(B * K * L), [B, K, L]);
    const std = tf.exp(tf.mul(logvar, 0.5));
    const z = tf.add(tf.expandDims(mu, 1), tf.mul(eps, tf.expandDims(std, 1))); // (B, K, L)
    const logits = tf.reshape(model.decode(tf.reshape(z, [B * K, L]) as tf.Tensor2D, y && (tf.reshape(tf.tile(tf.expandDims(y, 1), [1, K]), [-1]) as tf.Tensor1D)), [B, K, -1]);
    const xs = tf.expandDims(tf.reshape(x, [B, -1]), 1);
    // log p(x|z) = -BCE with logits, summed over pixels
    const logPx = tf.neg(tf.sum(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, xs)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))), 2));
    const log2pi = Math.log(2 * Math.PI);
    const logPz = tf.mul(-0.5, tf.sum(tf.add(tf.square(z), log2pi), 2));
    const logQz = tf.mul(-0.5, tf.sum(tf.add(tf.add(tf.square(eps), tf.expandDims(logvar, 1)), log2pi), 2));
    const w = tf.sub(tf.add(logPx, logPz), logQz); // (B, K)
    return tf.neg(tf.sub(tf.logSumExp(w, 1), Math.log(K)));
  });
  const out = Float64Array.from(nll.dataSync());
  nll.dispose();
  return out;
}
