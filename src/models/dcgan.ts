// DCGAN (Radford et al. 2016) for 28x28x1 images, the `dcgan` workload of BENCHMARKS.md
// (917,122 weights): G maps z [B, 100] to tanh images, D maps images to one logit.
// Class-conditional when classes > 0 (Mirza & Osindero 2014): G takes [z, onehot(y)], D takes the
// image with one constant plane per class as extra input channels.
// Self-conditioned when clusters > 0 (after Liu et al. 2020): the same network conditioned on
// clusters of the training images instead of labels; sampling draws a cluster from their
// frequencies (`g.prior`), so the model stays unconditional and cannot drop a cluster.
import * as tf from '@tensorflow/tfjs-core';
import { batchNorm, conv2d, convTranspose2d, convTWeights, convWeights, linearWeights, normWeights } from '../nn/conv.js';
import { linear, ownVariable, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';

export const DcganConfigSchema = Type.Object({
  z: Type.Integer({ minimum: 1, maximum: 4096, description: 'latent size' }),
  classes: Type.Integer({ minimum: 0, description: '0: unconditional; else the number of classes' }),
  /**
   * Minibatch standard deviation (Karras et al. 2018): 0 off (the peer's network); G > 0 gives D one
   * more 7x7 feature plane, the mean over features of their standard deviation within groups of G
   * samples, so D can see a batch of fakes that all look alike (mode collapse) and G is pushed apart.
   */
  mbstd: Type.Integer({ minimum: 0, maximum: 256, description: 'minibatch standard deviation group size (0: off)' }),
  /**
   * PacGAN (Lin et al. 2018): D judges `pack` samples at once, stacked as channels (1 = off, the
   * peer's network). A generator that drops modes makes packs that look alike, which D can tell.
   */
  pack: Type.Integer({ minimum: 1, maximum: 64, description: 'samples D judges at once (1: off)' }),
  clusters: Type.Integer({ minimum: 0, description: '0: off; K: condition G and D on one of K clusters of the training images (classes must be 0)' }),
}, { additionalProperties: false });
export type DcganConfig = Static<typeof DcganConfigSchema>;

export function defaultDcganConfig(): DcganConfig {
  return { z: 100, classes: 0, mbstd: 0, pack: 1, clusters: 0 };
}

export function initDcganWeights(c: DcganConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  const cond = c.classes + c.clusters;
  linearWeights(w, 'g.fc', rng, c.z + cond, 7 * 7 * 128);
  normWeights(w, 'g.bn0', 7 * 7 * 128);
  convTWeights(w, 'g.up1', rng, 4, 128, 64);
  normWeights(w, 'g.bn1', 64);
  convTWeights(w, 'g.up2', rng, 4, 64, 1);
  convWeights(w, 'd.c1', rng, 4, (1 + cond) * c.pack, 64);
  convWeights(w, 'd.c2', rng, 4, 64, 128);
  normWeights(w, 'd.bn2', 128);
  linearWeights(w, 'd.fc', rng, 7 * 7 * (128 + (c.mbstd > 0 ? 1 : 0)), 1);
  if (c.clusters > 0) w.set('g.prior', tf.fill([c.clusters], 1 / c.clusters));
  return w;
}

/** How G's batch norms get their statistics: from the batch (training), from the batch while updating the running averages, or from the running averages (sampling). */
export type BnMode = 'batch' | 'update' | 'running';

const G_NORMS = ['g.bn0', 'g.bn1'];

export class Dcgan extends ParamStore {
  /** running mean and variance of G's batch norms (PyTorch's buffers) and the cluster frequencies: saved with the weights, never trained */
  readonly stats = new Map<string, tf.Variable>();

  constructor(readonly config: DcganConfig, weights: Weights) {
    const isStat = (k: string) => k.endsWith('.rmean') || k.endsWith('.rvar') || k === 'g.prior';
    const stats = [...weights].filter(([k]) => isStat(k));
    if (config.clusters > 0 && !weights.has('g.prior')) throw new Error(`this DCGAN has ${config.clusters} clusters but no g.prior weights`);
    super(new Map([...weights].filter(([k]) => !isStat(k))));
    for (const [k, t] of stats) this.stats.set(k, ownVariable(t, false));
    for (const n of G_NORMS) {
      const c = this.p(`${n}.g`).size;
      if (!this.stats.has(`${n}.rmean`)) this.stats.set(`${n}.rmean`, ownVariable(tf.zeros([c]), false));
      if (!this.stats.has(`${n}.rvar`)) this.stats.set(`${n}.rvar`, ownVariable(tf.ones([c]), false));
    }
  }

  /** weights and running statistics: what a checkpoint keeps */
  get state(): Map<string, tf.Variable> {
    return new Map([...this.params, ...this.stats]);
  }

  /** G's batch norm followed by ReLU (one fused kernel where the backend has it) */
  private normRelu(name: string, x: tf.Tensor, mode: BnMode, momentum = 0.1): tf.Tensor {
    const g = this.p(`${name}.g`), b = this.p(`${name}.b`), leaky = 0;
    if (mode === 'batch') return batchNorm(x, g, b, { leaky });
    const rm = this.stats.get(`${name}.rmean`)!, rv = this.stats.get(`${name}.rvar`)!;
    if (mode === 'running') return batchNorm(x, g, b, { leaky, running: { mean: tf.reshape(rm, [rm.size]), variance: tf.reshape(rv, [rv.size]) } });
    return batchNorm(x, g, b, {
      leaky,
      onBatchStats: (mean, variance) => {
        rm.assign(tf.add(tf.mul(rm, 1 - momentum), tf.mul(mean, momentum)));
        rv.assign(tf.add(tf.mul(rv, 1 - momentum), tf.mul(variance, momentum)));
      },
    });
  }

  /** labels (classes), or cluster ids for a self-conditioned model */
  private get conditions(): number {
    return this.config.classes + this.config.clusters;
  }

  private checkLabels(B: number, y?: tf.Tensor1D): void {
    const what = this.config.clusters > 0 ? 'cluster ids (drawClusters)' : 'labels';
    if (this.conditions > 0 && (!y || y.shape[0] !== B)) throw new Error(`this DCGAN is conditional: it needs ${B} ${what}`);
    if (this.conditions === 0 && y) throw new Error('this DCGAN is unconditional: it takes no labels');
  }

  /** The clusters' frequencies in the training images (self-conditioning): set once before training. */
  setClusterPrior(sizes: ArrayLike<number>): void {
    const K = this.config.clusters;
    if (sizes.length !== K) throw new Error(`expected ${K} cluster sizes, got ${sizes.length}`);
    const total = Array.from(sizes).reduce((a, b) => a + b, 0);
    tf.tidy(() => this.stats.get('g.prior')!.assign(tf.tensor1d(Array.from(sizes, (v) => v / total))));
    this.priorCdf = undefined;
  }

  /** cumulative cluster frequencies, read from g.prior once (drawClusters runs twice a training step) */
  private priorCdf?: number[];

  /** B cluster ids drawn from the training images' cluster frequencies (self-conditioned models only) */
  drawClusters(rng: Rng, B: number): tf.Tensor1D {
    if (this.config.clusters === 0) throw new Error('this DCGAN has no clusters');
    if (!this.priorCdf) {
      let acc = 0;
      this.priorCdf = Array.from(this.stats.get('g.prior')!.dataSync(), (p) => (acc += p));
    }
    const cdf = this.priorCdf;
    return tf.tensor1d(Array.from({ length: B }, () => {
      const u = rng.next() * cdf[cdf.length - 1];
      const k = cdf.findIndex((c) => u < c);
      return k < 0 ? cdf.length - 1 : k;
    }), 'int32');
  }

  /** z [B, z] (and labels [B] when conditional) -> images [B, 28, 28, 1] in (-1, 1) */
  generate(z: tf.Tensor2D, y?: tf.Tensor1D, mode: BnMode = 'batch'): tf.Tensor4D {
    const p = (n: string) => this.p(n);
    const B = z.shape[0];
    this.checkLabels(B, y);
    const input = y ? tf.concat([z, tf.oneHot(y, this.conditions).toFloat()], 1) : z;
    let h: tf.Tensor = this.normRelu('g.bn0', linear(input, p('g.fc.w'), p('g.fc.b')), mode);
    h = tf.reshape(h, [B, 7, 7, 128]);
    h = this.normRelu('g.bn1', convTranspose2d(h as tf.Tensor4D, p('g.up1.w'), p('g.up1.b'), 2, 1), mode);
    return tf.tanh(convTranspose2d(h as tf.Tensor4D, p('g.up2.w'), p('g.up2.b'), 2, 1)) as tf.Tensor4D;
  }

  /** images [B, 28, 28, 1] (and labels [B] when conditional) -> logits [B / pack, 1] */
  discriminate(x: tf.Tensor4D, y?: tf.Tensor1D): tf.Tensor2D {
    const p = (n: string) => this.p(n);
    const B = x.shape[0];
    this.checkLabels(B, y);
    const P = this.config.pack;
    if (B % P) throw new Error(`this DCGAN's D judges packs of ${P} samples: the batch (${B}) must be a multiple of ${P}`);
    let h: tf.Tensor = tf.leakyRelu(this.firstConv(x, y), 0.2);
    h = batchNorm(conv2d(h as tf.Tensor4D, p('d.c2.w'), p('d.c2.b'), 2, 1), p('d.bn2.g'), p('d.bn2.b'), { leaky: 0.2 });
    if (this.config.mbstd > 0) h = minibatchStddev(h as tf.Tensor4D, this.config.mbstd);
    return linear(tf.reshape(h, [B / P, -1]), p('d.fc.w'), p('d.fc.b')) as tf.Tensor2D;
  }

  /**
   * D's first convolution, before its activation, of the images and (when conditional) one constant
   * plane per label, packed by `pack`. The planes' part is computed by `onehotPlanesConv` from the
   * labels alone: equal to convolving the planes, without K x H x W input channels per image.
   */
  firstConv(x: tf.Tensor4D, y?: tf.Tensor1D): tf.Tensor4D {
    const P = this.config.pack, K = this.conditions, B = x.shape[0];
    const w = this.p('d.c1.w'), b = this.p('d.c1.b');
    const images = P > 1 ? packChannels(x, P) : x;
    if (!y) return conv2d(images, w, b, 2, 1);
    // d.c1.w's input channels are, for each sample j of a pack: its image, then its K label planes
    const [k, , , C] = w.shape;
    const part = (from: number, n: number) => tf.concat(Array.from({ length: P }, (_, j) => tf.slice(w, [0, 0, j * (1 + K) + from, 0], [k, k, n, C])), 2);
    const onehot = tf.reshape(tf.oneHot(y, K).toFloat(), [B / P, P * K]) as tf.Tensor2D;
    return tf.add(conv2d(images, part(0, 1), b, 2, 1), onehotPlanesConv(onehot, part(1, K) as tf.Tensor4D, x.shape[1], x.shape[2], 2, 1)) as tf.Tensor4D;
  }

  override dispose(): void {
    super.dispose();
    for (const v of this.stats.values()) v.dispose();
    this.stats.clear();
  }
}

/**
 * conv2d(planes, w, no bias, stride, pad) for planes [B, H, W, K] that are constant over the image
 * with values `weights` [B, K] (one-hot labels, or blends): output pixel (i, j) is the sum of the
 * filter taps that land inside the image, weighted. Two small matrix products instead of a
 * convolution with K input channels (D's label planes cost more than its image at K = 50).
 */
export function onehotPlanesConv(weights: tf.Tensor2D, w: tf.Tensor4D, H: number, W: number, stride: number, pad: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [k, k2, K, C] = w.shape, B = weights.shape[0];
    if (weights.shape[1] !== K) throw new Error(`onehotPlanesConv: ${weights.shape[1]} plane weights for a filter over ${K} channels`);
    const Ho = Math.floor((H + 2 * pad - k) / stride) + 1, Wo = Math.floor((W + 2 * pad - k2) / stride) + 1;
    // inside[(i, j), (a, c)] = 1 when tap (a, c) of output pixel (i, j) reads a pixel of the image, not the padding
    const inside = new Float32Array(Ho * Wo * k * k2);
    for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let a = 0; a < k; a++) for (let c = 0; c < k2; c++) {
      const r = i * stride - pad + a, q = j * stride - pad + c;
      if (r >= 0 && r < H && q >= 0 && q < W) inside[((i * Wo + j) * k + a) * k2 + c] = 1;
    }
    // each image's own filter (taps x C) as the weighted sum of the K plane filters, then the taps inside
    const perImage = tf.matMul(weights, tf.reshape(tf.transpose(tf.reshape(w, [k * k2, K, C]), [1, 0, 2]), [K, k * k2 * C])); // [B, taps * C]
    const taps = tf.reshape(tf.transpose(tf.reshape(perImage, [B, k * k2, C]), [1, 0, 2]), [k * k2, B * C]);
    const out = tf.matMul(tf.tensor2d(inside, [Ho * Wo, k * k2]), taps); // [Ho * Wo, B * C]
    return tf.transpose(tf.reshape(out, [Ho, Wo, B, C]), [2, 0, 1, 3]) as tf.Tensor4D;
  });
}

/** x [B, H, W, C] -> [B / P, H, W, P * C]: samples i * P .. i * P + P - 1 become the channels of pack i. */
export function packChannels(x: tf.Tensor4D, P: number): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [B / P, P, H, W, C]), [0, 2, 3, 1, 4]), [B / P, H, W, P * C]);
}

/**
 * x [B, H, W, C] -> [B, H, W, C + 1]: the extra plane holds, for each sample, the mean over all
 * features of their standard deviation across its group. Groups are samples i, i + M, i + 2M, ...
 * (M = B / G) with G the largest divisor of B up to `group`, so any batch size works.
 */
export function minibatchStddev(x: tf.Tensor4D, group: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = x.shape;
    let G = Math.max(1, Math.min(group, B));
    while (B % G) G--;
    const M = B / G;
    const xs = tf.reshape(x, [G, M, H, W, C]);
    const centered = tf.sub(xs, tf.mean(xs, 0, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centered), 0), 1e-8)); // [M, H, W, C]
    const s = tf.mean(std, [1, 2, 3]); // [M]
    const plane = tf.mul(tf.reshape(s, [1, M, 1, 1, 1]), tf.ones([G, 1, H, W, 1]));
    return tf.concat([x, tf.reshape(plane, [B, H, W, 1])], 3) as tf.Tensor4D;
  });
}

/** Mean binary cross-entropy with logits against a constant target (0 or 1), stable form. */
export function bceWithLogits(logits: tf.Tensor, target: 0 | 1): tf.Scalar {
  // max(x, 0) - x t + log(1 + exp(-|x|))
  const t = tf.scalar(target);
  return tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, t)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))) as tf.Scalar;
}
