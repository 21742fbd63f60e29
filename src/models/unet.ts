// The denoiser of DDPM (Ho et al. 2020) for 32x32x1 images, the `unet` workload of
// BENCHMARKS.md (596,001 weights): channels 32/64/64, one ResBlock per level, GroupNorm(8),
// SiLU, self-attention at 8x8, sinusoidal timestep embedding through a two-layer MLP.
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, conv2dAdd, conv2dImageBias, conv2dOnData, convWeights, groupNorm, linearWeights, normWeights, silu, upsample2 } from '../nn/conv.js';
import { linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const UnetConfigSchema = Type.Object({
  channels: Type.Integer({ minimum: 1, description: 'image channels' }),
  groups: Type.Integer({ minimum: 1, description: 'GroupNorm groups' }),
  tembDim: Type.Integer({ minimum: 1, maximum: 4096, description: 'width of the timestep embedding' }),
  classes: Type.Integer({ minimum: 0, description: 'classes for class conditioning (0: unconditional); label `classes` means "no class" (for guidance)' }),
}, { additionalProperties: false });
export type UnetConfig = Static<typeof UnetConfigSchema>;

export function defaultUnetConfig(): UnetConfig {
  return { channels: 1, groups: 8, tembDim: 128, classes: 0 };
}

function resBlockWeights(w: Weights, name: string, rng: Rng, cin: number, cout: number, temb: number): void {
  normWeights(w, `${name}.n1`, cin);
  convWeights(w, `${name}.c1`, rng, 3, cin, cout);
  linearWeights(w, `${name}.t`, rng, temb, cout);
  normWeights(w, `${name}.n2`, cout);
  convWeights(w, `${name}.c2`, rng, 3, cout, cout);
  if (cin !== cout) convWeights(w, `${name}.skip`, rng, 1, cin, cout);
}

export function initUnetWeights(c: UnetConfig, rng: Rng): Weights {
  const w: Weights = new Map(), T = c.tembDim;
  linearWeights(w, 'temb.l1', rng, T, T);
  linearWeights(w, 'temb.l2', rng, T, T);
  if (c.classes > 0) w.set('class.emb', tf.tensor(rng.normalArray((c.classes + 1) * T), [c.classes + 1, T]));
  convWeights(w, 'inp', rng, 3, c.channels, 32);
  resBlockWeights(w, 'd1', rng, 32, 32, T);
  convWeights(w, 'down1', rng, 3, 32, 32);
  resBlockWeights(w, 'd2', rng, 32, 64, T);
  convWeights(w, 'down2', rng, 3, 64, 64);
  resBlockWeights(w, 'mid1', rng, 64, 64, T);
  normWeights(w, 'attn.n', 64);
  convWeights(w, 'attn.qkv', rng, 1, 64, 192);
  convWeights(w, 'attn.proj', rng, 1, 64, 64);
  resBlockWeights(w, 'mid2', rng, 64, 64, T);
  convWeights(w, 'up2', rng, 3, 64, 64);
  resBlockWeights(w, 'u2', rng, 128, 64, T);
  convWeights(w, 'up1', rng, 3, 64, 64);
  resBlockWeights(w, 'u1', rng, 96, 32, T);
  normWeights(w, 'out.n', 32);
  convWeights(w, 'out.c', rng, 3, 32, c.channels);
  return w;
}

/** Sinusoidal embedding of integer timesteps t [B] -> [B, dim] (sin half, then cos half). */
export function timestepEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  const half = dim / 2;
  const freqs = tf.exp(tf.mul(tf.range(0, half), -Math.log(10000) / half));
  const args = tf.mul(tf.expandDims(tf.cast(t, 'float32'), 1), tf.expandDims(freqs, 0));
  return tf.concat([tf.sin(args), tf.cos(args)], 1) as tf.Tensor2D;
}

export class Unet extends ParamStore {
  constructor(readonly config: UnetConfig, weights: Weights) {
    super(weights);
  }

  private resBlock(name: string, x: tf.Tensor4D, temb: tf.Tensor2D): tf.Tensor4D {
    const p = (n: string) => this.p(`${name}.${n}`), G = this.config.groups;
    // the time embedding joins c1's bias: one bias per image, inside the convolution's kernel
    const bias = tf.add(linear(temb, p('t.w'), p('t.b')), p('c1.b')) as tf.Tensor2D;
    let h = conv2dImageBias(groupNorm(x, p('n1.g'), p('n1.b'), G, { silu: true }), p('c1.w') as tf.Tensor4D, bias, 1, 1);
    const skip = this.params.has(`${name}.skip.w`) ? conv2d(x, p('skip.w'), p('skip.b'), 1, 0) : x;
    // the residual sum inside c2's pass
    return conv2dAdd(groupNorm(h, p('n2.g'), p('n2.b'), G, { silu: true }), p('c2.w') as tf.Tensor4D, p('c2.b') as tf.Tensor1D, skip, 1, 1);
  }

  /** Single-head self-attention over the H*W positions, with a residual connection. */
  private attention(x: tf.Tensor4D): tf.Tensor4D {
    const [B, H, W, C] = x.shape;
    const p = (n: string) => this.p(`attn.${n}`);
    const qkv = conv2d(groupNorm(x, p('n.g'), p('n.b'), this.config.groups), p('qkv.w'), p('qkv.b'), 1, 0);
    const [q, k, v] = tf.split(tf.reshape(qkv, [B, H * W, 3 * C]), 3, 2); // (B, HW, C) each
    const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(C))); // (B, HW, HW)
    const y = tf.reshape(tf.matMul(att, v), [B, H, W, C]) as tf.Tensor4D;
    return conv2dAdd(y, p('proj.w') as tf.Tensor4D, p('proj.b') as tf.Tensor1D, x, 1, 0);
  }

  /**
   * x [B, 32, 32, C] noisy images, t [B] int32 timesteps, and for a class-conditional model
   * labels [B] int32 (the value `classes` for "no class") -> predicted noise, same shape as x.
   */
  forward(x: tf.Tensor4D, t: tf.Tensor1D, labels?: tf.Tensor1D, extra?: tf.Tensor2D): tf.Tensor4D {
    const p = (n: string) => this.p(n);
    let temb = timestepEmbedding(t, this.config.tembDim);
    temb = linear(silu(linear(temb, p('temb.l1.w'), p('temb.l1.b'))), p('temb.l2.w'), p('temb.l2.b')) as tf.Tensor2D;
    if (this.config.classes > 0) {
      if (!labels) throw new Error('unet: a class-conditional model needs labels');
      temb = tf.add(temb, tf.gather(p('class.emb'), labels)) as tf.Tensor2D;
    }
    if (extra) temb = tf.add(temb, extra) as tf.Tensor2D; // another condition's embedding [B, tembDim] (sprite diffusion's words)
    const h0 = conv2dOnData(x, p('inp.w') as tf.Tensor4D, p('inp.b') as tf.Tensor1D, 1, 1); // x takes no gradient
    const h1 = this.resBlock('d1', h0, temb);
    const h2 = this.resBlock('d2', conv2d(h1, p('down1.w'), p('down1.b'), 2, 1), temb);
    let h = conv2d(h2, p('down2.w'), p('down2.b'), 2, 1);
    h = this.resBlock('mid2', this.attention(this.resBlock('mid1', h, temb)), temb);
    h = this.resBlock('u2', tf.concat([conv2d(upsample2(h), p('up2.w'), p('up2.b'), 1, 1), h2], 3) as tf.Tensor4D, temb);
    h = this.resBlock('u1', tf.concat([conv2d(upsample2(h), p('up1.w'), p('up1.b'), 1, 1), h1], 3) as tf.Tensor4D, temb);
    return conv2d(groupNorm(h, p('out.n.g'), p('out.n.b'), this.config.groups, { silu: true }), p('out.c.w'), p('out.c.b'), 1, 1);
  }
}
