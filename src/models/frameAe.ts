// The clip frame autoencoder (the VAE family; BENCHMARKS.md's `frame_ae`, 374,475 weights): a
// 64x64x3 frame to a 16x16x4 latent (f = 4) and back, GroupNorm ResBlocks without a time
// embedding, a diagonal Gaussian posterior; loss MSE + 1e-4 KL, as the peer's FrameAE. The latent
// diffusion and the video GAN work in its latent space.
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, conv2dAdd, conv2dOnData, convWeights, groupNorm, normWeights, upsample2 } from '../nn/conv.js';
import type { Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, withDefaults, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const FrameAeConfigSchema = Type.Object({
  latent: Type.Integer({ minimum: 1, description: 'latent channels (16x16 each)' }),
  groups: Type.Integer({ minimum: 1, description: 'GroupNorm groups' }),
  klWeight: Type.Number({ minimum: 0, description: 'weight of the KL term beside the MSE' }),
}, { additionalProperties: false });
export type FrameAeConfig = Static<typeof FrameAeConfigSchema>;

export function defaultFrameAeConfig(): FrameAeConfig {
  return { latent: 4, groups: 8, klWeight: 1e-4 };
}

/** A config a checkpoint recorded, with keys added since at their defaults, checked. */
export function savedFrameAeConfig(saved: Record<string, unknown>): FrameAeConfig {
  return withDefaults(FrameAeConfigSchema, defaultFrameAeConfig(), saved, 'frame-ae');
}

function blockWeights(w: Weights, name: string, rng: Rng, cin: number, cout: number): void {
  normWeights(w, `${name}.n1`, cin);
  convWeights(w, `${name}.c1`, rng, 3, cin, cout);
  normWeights(w, `${name}.n2`, cout);
  convWeights(w, `${name}.c2`, rng, 3, cout, cout);
  if (cin !== cout) convWeights(w, `${name}.skip`, rng, 1, cin, cout);
}

export function initFrameAeWeights(c: FrameAeConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  convWeights(w, 'enc.in', rng, 3, 3, 32);
  blockWeights(w, 'enc.b1', rng, 32, 32);
  convWeights(w, 'enc.down1', rng, 3, 32, 32);
  blockWeights(w, 'enc.b2', rng, 32, 64);
  convWeights(w, 'enc.down2', rng, 3, 64, 64);
  blockWeights(w, 'enc.b3', rng, 64, 64);
  normWeights(w, 'enc.n', 64);
  convWeights(w, 'enc.out', rng, 3, 64, 2 * c.latent);
  convWeights(w, 'dec.in', rng, 3, c.latent, 64);
  blockWeights(w, 'dec.b1', rng, 64, 64);
  convWeights(w, 'dec.up1', rng, 3, 64, 64);
  blockWeights(w, 'dec.b2', rng, 64, 32);
  convWeights(w, 'dec.up2', rng, 3, 32, 32);
  blockWeights(w, 'dec.b3', rng, 32, 32);
  normWeights(w, 'dec.n', 32);
  convWeights(w, 'dec.out', rng, 3, 32, 3);
  return w;
}

export class FrameAe extends ParamStore {
  constructor(readonly config: FrameAeConfig, weights: Weights) {
    super(weights);
  }

  private block(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const p = (n: string) => this.p(`${name}.${n}`), G = this.config.groups;
    const h = conv2d(groupNorm(x, p('n1.g'), p('n1.b'), G, { silu: true }), p('c1.w'), p('c1.b'), 1, 1);
    const skip = this.params.has(`${name}.skip.w`) ? conv2d(x, p('skip.w'), p('skip.b'), 1, 0) : x;
    return conv2dAdd(groupNorm(h, p('n2.g'), p('n2.b'), G, { silu: true }), p('c2.w') as tf.Tensor4D, p('c2.b') as tf.Tensor1D, skip, 1, 1);
  }

  /** frames [B, 64, 64, 3] in [0, 1] -> the posterior's mean and log-variance [B, 16, 16, latent]; `throughInput`: the frames get a gradient (a generator's) */
  encode(x: tf.Tensor4D, throughInput = false): { mu: tf.Tensor4D; logvar: tf.Tensor4D } {
    const p = (n: string) => this.p(n);
    let h = throughInput ? conv2d(x, p('enc.in.w'), p('enc.in.b'), 1, 1) : conv2dOnData(x, p('enc.in.w') as tf.Tensor4D, p('enc.in.b') as tf.Tensor1D, 1, 1);
    h = conv2d(this.block('enc.b1', h), p('enc.down1.w'), p('enc.down1.b'), 2, 1);
    h = conv2d(this.block('enc.b2', h), p('enc.down2.w'), p('enc.down2.b'), 2, 1);
    h = groupNorm(this.block('enc.b3', h), p('enc.n.g'), p('enc.n.b'), this.config.groups, { silu: true });
    const [mu, logvar] = tf.split(conv2d(h, p('enc.out.w'), p('enc.out.b'), 1, 1), 2, 3) as tf.Tensor4D[];
    return { mu, logvar };
  }

  /** latents [B, 16, 16, latent] -> frames [B, 64, 64, 3] (not clipped) */
  decode(z: tf.Tensor4D): tf.Tensor4D {
    const p = (n: string) => this.p(n);
    let h = this.block('dec.b1', conv2d(z, p('dec.in.w'), p('dec.in.b'), 1, 1));
    h = this.block('dec.b2', conv2d(upsample2(h), p('dec.up1.w'), p('dec.up1.b'), 1, 1));
    h = this.block('dec.b3', conv2d(upsample2(h), p('dec.up2.w'), p('dec.up2.b'), 1, 1));
    return conv2d(groupNorm(h, p('dec.n.g'), p('dec.n.b'), this.config.groups, { silu: true }), p('dec.out.w'), p('dec.out.b'), 1, 1);
  }

  /** The training loss of frames x with posterior noise eps [B, 16, 16, latent]: MSE + klWeight * mean KL. */
  loss(x: tf.Tensor4D, eps: tf.Tensor4D): { loss: tf.Scalar; mse: tf.Scalar } {
    const { mu, logvar } = this.encode(x);
    const z = tf.add(mu, tf.mul(eps, tf.exp(tf.mul(logvar, 0.5)))) as tf.Tensor4D;
    const mse = tf.mean(tf.squaredDifference(this.decode(z), x)) as tf.Scalar;
    const kl = tf.mul(-0.5, tf.mean(tf.sub(tf.add(1, logvar), tf.add(tf.square(mu), tf.exp(logvar))))) as tf.Scalar;
    return { loss: tf.add(mse, tf.mul(kl, this.config.klWeight)) as tf.Scalar, mse };
  }
}
