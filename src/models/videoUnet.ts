// The clip engine's space-time denoiser (the peer's VideoUNet, BENCHMARKS.md's `video_unet`):
// 16 frames of 16x16xL latents, frames as the batch (NHWC [B*T, H, W, C]). Each ResBlock is a
// spatial block plus a temporal convolution (k = 3, a [3, 1] convolution over [B, T, H*W, C]);
// temporal self-attention at 8x8, spatial + temporal + text cross-attention at 4x4; the pooled
// text joins the time embedding. Channels c1/c2/c2 (the peer's 64/128/128).
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, conv2dAdd, conv2dImageBias, conv2dOnData, convWeights, groupNorm, linearWeights, normWeights, silu, upsample2 } from '../nn/conv.js';
import { mha, mhaWeights, type Getter } from '../nn/attention.js';
import { layerNorm, linear, uniform, type Weights } from '../nn/layers.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import type { TextEncoding } from './textEncoder.js';
import { timestepEmbedding } from './unet.js';

export const VideoUnetConfigSchema = Type.Object({
  latent: Type.Integer({ minimum: 1, maximum: 64, description: 'latent channels of a frame' }),
  c1: Type.Integer({ minimum: 8, maximum: 1024, description: 'channels at 16x16' }),
  c2: Type.Integer({ minimum: 8, maximum: 1024, description: 'channels at 8x8 and 4x4' }),
  tembDim: Type.Integer({ minimum: 8, maximum: 4096, description: 'width of the time (+ pooled text) embedding' }),
  textDim: Type.Integer({ minimum: 4, maximum: 4096, description: 'width of the text encodings it attends to' }),
  heads: Type.Integer({ minimum: 1, maximum: 64 }),
  groups: Type.Integer({ minimum: 1, description: 'GroupNorm groups' }),
  /** not in the peer's network: the frame's index (sinusoidal, through a linear layer that starts at zero) joins each frame's embedding */
  frameEmbedding: Type.Optional(Type.Boolean({ description: "add each frame's index to its embedding (not in the peer's network)" })),
}, { additionalProperties: false });
export type VideoUnetConfig = Static<typeof VideoUnetConfigSchema>;

/** The peer's reference network (BENCHMARKS.md's `video_unet`). */
export function referenceVideoUnetConfig(): VideoUnetConfig {
  return { latent: 4, c1: 64, c2: 128, tembDim: 256, textDim: 128, heads: 4, groups: 8 };
}

export function stBlockWeights(w: Weights, n: string, rng: Rng, cin: number, cout: number, temb: number): void {
  normWeights(w, `${n}.n1`, cin);
  convWeights(w, `${n}.c1`, rng, 3, cin, cout);
  linearWeights(w, `${n}.t`, rng, temb, cout);
  normWeights(w, `${n}.n2`, cout);
  convWeights(w, `${n}.c2`, rng, 3, cout, cout);
  if (cin !== cout) convWeights(w, `${n}.skip`, rng, 1, cin, cout);
  normWeights(w, `${n}.nt`, cout);
  const bound = 1 / Math.sqrt(3 * cout); // Conv1d(cout, cout, 3)'s default init
  w.set(`${n}.tc.w`, uniform(rng, [3, 1, cout, cout], bound));
  w.set(`${n}.tc.b`, uniform(rng, [cout], bound));
}

function stAttentionWeights(w: Weights, n: string, rng: Rng, c: number, textDim: number, spatial: boolean): void {
  normWeights(w, `${n}.ns`, c);
  normWeights(w, `${n}.nt`, c);
  normWeights(w, `${n}.nc`, c);
  if (spatial) mhaWeights(w, `${n}.sa`, rng, c);
  mhaWeights(w, `${n}.ta`, rng, c);
  mhaWeights(w, `${n}.ca`, rng, c, textDim);
}

export function initVideoUnetWeights(c: VideoUnetConfig, rng: Rng, prefix = 'unet.'): Weights {
  const w: Weights = new Map(), E = c.tembDim, { c1, c2 } = c, P = (n: string) => prefix + n;
  linearWeights(w, P('temb.l1'), rng, 128, E);
  linearWeights(w, P('temb.l2'), rng, E, E);
  linearWeights(w, P('pool'), rng, c.textDim, E);
  convWeights(w, P('inp'), rng, 3, c.latent, c1);
  stBlockWeights(w, P('d1'), rng, c1, c1, E);
  convWeights(w, P('down1'), rng, 3, c1, c1);
  stBlockWeights(w, P('d2'), rng, c1, c2, E);
  stAttentionWeights(w, P('a2'), rng, c2, c.textDim, false);
  convWeights(w, P('down2'), rng, 3, c2, c2);
  stBlockWeights(w, P('mid1'), rng, c2, c2, E);
  stAttentionWeights(w, P('amid'), rng, c2, c.textDim, true);
  stBlockWeights(w, P('mid2'), rng, c2, c2, E);
  convWeights(w, P('up2'), rng, 3, c2, c2);
  stBlockWeights(w, P('u2'), rng, 2 * c2, c2, E);
  stAttentionWeights(w, P('au2'), rng, c2, c.textDim, false);
  convWeights(w, P('up1'), rng, 3, c2, c2);
  stBlockWeights(w, P('u1'), rng, c2 + c1, c1, E);
  normWeights(w, P('out.n'), c1);
  convWeights(w, P('out.c'), rng, 3, c1, c.latent);
  if (c.frameEmbedding) for (const [k, v] of frameEmbeddingWeights(c, prefix)) w.set(k, v);
  return w;
}

/** The frame-index embedding's weights, zero: a network given them computes what it did without. */
export function frameEmbeddingWeights(c: Pick<VideoUnetConfig, 'tembDim'>, prefix = 'unet.'): Weights {
  return new Map([[`${prefix}fpos.w`, tf.zeros([128, c.tembDim])], [`${prefix}fpos.b`, tf.zeros([c.tembDim])]]);
}

/**
 * The peer's STResBlock: a spatial ResBlock on each frame (the per-frame embedding e [B*T, E] as a
 * bias of its first convolution), then a temporal convolution (k = 3) as a [3, 1] convolution over
 * [B, T, H*W, C], with residuals. x [B*T, H, W, C].
 */
export function stBlock(p: Getter, n: string, x: tf.Tensor4D, e: tf.Tensor2D, T: number, G: number): tf.Tensor4D {
  const q = (k: string) => p(`${n}.${k}`);
  const bias = tf.add(linear(e, q('t.w'), q('t.b')), q('c1.b')) as tf.Tensor2D;
  const h1 = conv2dImageBias(groupNorm(x, q('n1.g'), q('n1.b'), G, { silu: true }), q('c1.w') as tf.Tensor4D, bias, 1, 1);
  const skip = x.shape[3] !== h1.shape[3] ? conv2d(x, q('skip.w'), q('skip.b'), 1, 0) : x;
  const h = conv2dAdd(groupNorm(h1, q('n2.g'), q('n2.b'), G, { silu: true }), q('c2.w') as tf.Tensor4D, q('c2.b') as tf.Tensor1D, skip, 1, 1);
  const [BT, H, W, C] = h.shape, B = BT / T;
  const g = tf.reshape(groupNorm(h, q('nt.g'), q('nt.b'), G, { silu: true }), [B, T, H * W, C]) as tf.Tensor4D;
  const out = conv2dAdd(g, q('tc.w') as tf.Tensor4D, q('tc.b') as tf.Tensor1D, tf.reshape(h, [B, T, H * W, C]) as tf.Tensor4D, 1, 'same');
  return tf.reshape(out, [BT, H, W, C]) as tf.Tensor4D;
}

/** Weights the peer's layer list holds but its forward pass never reads (the spatial norm of the temporal-only attention blocks). */
export function unusedVideoUnetWeights(prefix = 'unet.'): string[] {
  return ['a2', 'au2'].flatMap((n) => [`${prefix}${n}.ns.g`, `${prefix}${n}.ns.b`]);
}

export class VideoUnet {
  constructor(readonly config: VideoUnetConfig, private readonly p: Getter, private readonly prefix = 'unet.') {}

  private q(n: string): tf.Tensor {
    return this.p(this.prefix + n);
  }

  private block(n: string, x: tf.Tensor4D, e: tf.Tensor2D, T: number): tf.Tensor4D {
    return stBlock(this.p, this.prefix + n, x, e, T, this.config.groups);
  }

  private attention(n: string, x: tf.Tensor4D, text: TextEncoding, T: number, spatial = false): tf.Tensor4D {
    const q = (k: string) => this.q(`${n}.${k}`), heads = this.config.heads, P = this.prefix + n;
    const [BT, H, W, C] = x.shape, B = BT / T, HW = H * W;
    let h = tf.reshape(x, [BT, HW, C]) as tf.Tensor3D;
    if (spatial) h = tf.add(h, mha(this.p, `${P}.sa`, layerNorm(h, q('ns.g'), q('ns.b')) as tf.Tensor3D, heads)) as tf.Tensor3D;
    h = tf.reshape(tf.transpose(tf.reshape(h, [B, T, HW, C]), [0, 2, 1, 3]), [B * HW, T, C]) as tf.Tensor3D;
    h = tf.add(h, mha(this.p, `${P}.ta`, layerNorm(h, q('nt.g'), q('nt.b')) as tf.Tensor3D, heads)) as tf.Tensor3D;
    h = tf.reshape(tf.transpose(tf.reshape(h, [B, HW, T, C]), [0, 2, 1, 3]), [B, T * HW, C]) as tf.Tensor3D;
    h = tf.add(h, mha(this.p, `${P}.ca`, layerNorm(h, q('nc.g'), q('nc.b')) as tf.Tensor3D, heads, text.tokens, text.keyBias)) as tf.Tensor3D;
    return tf.reshape(h, [BT, H, W, C]) as tf.Tensor4D;
  }

  /** x [B*T, 16, 16, latent] noisy latents (frames of a clip adjacent), t [B] int32, text of B clips -> predicted noise. */
  forward(x: tf.Tensor4D, t: tf.Tensor1D, text: TextEncoding, T: number): tf.Tensor4D {
    const q = (n: string) => this.q(n), B = t.shape[0], G = this.config.groups;
    if (x.shape[0] !== B * T) throw new RangeError(`video unet: ${x.shape[0]} frames for ${B} clips of ${T}`);
    let e = linear(silu(linear(timestepEmbedding(t, 128), q('temb.l1.w'), q('temb.l1.b'))), q('temb.l2.w'), q('temb.l2.b'));
    e = tf.add(e, linear(text.pooled, q('pool.w'), q('pool.b')));
    let eT = tf.reshape(tf.tile(tf.expandDims(e, 1), [1, T, 1]), [B * T, this.config.tembDim]) as tf.Tensor2D;
    if (this.config.frameEmbedding) {
      // without it only the temporal convolutions' zero padding tells a frame where it is in the clip
      const f = linear(timestepEmbedding(tf.range(0, T, 1, 'int32') as tf.Tensor1D, 128), q('fpos.w'), q('fpos.b')); // [T, E]
      eT = tf.add(eT, tf.tile(f, [B, 1])) as tf.Tensor2D;
    }
    const h0 = conv2dOnData(x, q('inp.w') as tf.Tensor4D, q('inp.b') as tf.Tensor1D, 1, 1);
    const h1 = this.block('d1', h0, eT, T);
    const h2 = this.attention('a2', this.block('d2', conv2d(h1, q('down1.w'), q('down1.b'), 2, 1), eT, T), text, T);
    let h = conv2d(h2, q('down2.w'), q('down2.b'), 2, 1);
    h = this.block('mid2', this.attention('amid', this.block('mid1', h, eT, T), text, T, true), eT, T);
    h = this.attention('au2', this.block('u2', tf.concat([conv2d(upsample2(h), q('up2.w'), q('up2.b'), 1, 1), h2], 3) as tf.Tensor4D, eT, T), text, T);
    h = this.block('u1', tf.concat([conv2d(upsample2(h), q('up1.w'), q('up1.b'), 1, 1), h1], 3) as tf.Tensor4D, eT, T);
    return conv2d(groupNorm(h, q('out.n.g'), q('out.n.b'), G, { silu: true }), q('out.c.w'), q('out.c.b'), 1, 1);
  }
}
