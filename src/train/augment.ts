// Differentiable augmentation for GAN training on small data (DiffAugment, Zhao et al. 2020): the
// same random translation and cutout are applied to real and generated images before D, in both
// of D's and G's steps, so D cannot memorise the 9,000 training digits and G still gets gradients.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';

/** Per-sample augmentation parameters: a shift (rows dy, columns dx) and a cutout square (top-left y, x; size 0 = none). */
export interface AugmentParams {
  dy: number[];
  dx: number[];
  cy: number[];
  cx: number[];
  size: number;
}

/** Random parameters for a batch of B images of H x W: shifts in [-shift, shift], a cutout of `cutout` pixels anywhere (it may overhang the border). */
export function randomAugmentParams(rng: Rng, B: number, H: number, W: number, shift: number, cutout: number): AugmentParams {
  const pick = (n: number) => Array.from({ length: B }, () => rng.int(n));
  const s = Math.max(0, Math.floor(shift)), c = Math.max(0, Math.floor(cutout));
  return {
    dy: pick(2 * s + 1).map((v) => v - s),
    dx: pick(2 * s + 1).map((v) => v - s),
    // the square's top-left corner: from fully-in at the top-left overhang to the last row/column
    cy: pick(H + c - 1).map((v) => v - c + 1),
    cx: pick(W + c - 1).map((v) => v - c + 1),
    size: c,
  };
}

/**
 * x [B, H, W, 1] in [-1, 1] -> the same images shifted (uncovered pixels become background, -1)
 * and with a square set to background. The shift is a pair of batched 0/1 matrix products, so the
 * gradient flows back to x (and through it to G) with tfjs's own matMul gradient.
 */
export function augmentImages(x: tf.Tensor4D, p: AugmentParams): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  if (C !== 1) throw new Error(`augmentImages takes one-channel images, got ${C} channels`);
  if (p.dy.length !== B || p.dx.length !== B || p.cy.length !== B || p.cx.length !== B) throw new Error(`augmentImages: parameters for ${p.dy.length} images, batch of ${B}`);
  return tf.tidy(() => {
    // rows: out[i] = in[i - dy]; columns: out[:, j] = in[:, j - dx]
    const rows = new Float32Array(B * H * H), cols = new Float32Array(B * W * W), mask = new Float32Array(B * H * W);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < H; i++) { const k = i - p.dy[b]; if (k >= 0 && k < H) rows[(b * H + i) * H + k] = 1; }
      for (let j = 0; j < W; j++) { const k = j - p.dx[b]; if (k >= 0 && k < W) cols[(b * W + k) * W + j] = 1; }
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const cut = p.size > 0 && i >= p.cy[b] && i < p.cy[b] + p.size && j >= p.cx[b] && j < p.cx[b] + p.size;
          mask[(b * H + i) * W + j] = cut ? 0 : 1;
        }
      }
    }
    const fg = tf.add(tf.reshape(x, [B, H, W]), 1); // background 0, so zero fill is background
    const moved = tf.matMul(tf.matMul(tf.tensor3d(rows, [B, H, H]), fg), tf.tensor3d(cols, [B, W, W]));
    return tf.reshape(tf.sub(tf.mul(moved, tf.tensor3d(mask, [B, H, W])), 1), [B, H, W, 1]) as tf.Tensor4D;
  });
}

/**
 * SpecAugment's masks (Park et al. 2019) on a copy of log-mel features [frames, mels] normalised
 * per band (so 0 is the band's mean): `masks` bands of up to `maxF` mels and `masks` spans of up to
 * `maxT` frames (at most a tenth of the utterance) set to 0.
 */
export function specAugment(feats: Float32Array, mels: number, rng: Rng, masks: number, maxF = 8, maxT = 20): Float32Array {
  const out = Float32Array.from(feats), T = feats.length / mels;
  for (let m = 0; m < masks; m++) {
    const f = rng.int(Math.min(maxF, mels) + 1), f0 = rng.int(mels - f + 1);
    for (let t = 0; t < T; t++) out.fill(0, t * mels + f0, t * mels + f0 + f);
    const w = rng.int(Math.min(maxT, Math.floor(T / 10)) + 1), t0 = rng.int(T - w + 1);
    out.fill(0, t0 * mels, (t0 + w) * mels);
  }
  return out;
}

/**
 * Speaker and tempo perturbation of log-mel features [frames, mels], a copy (a plain linear warp: with
 * alpha > 1 the top bands repeat the last one, where VTLP's piecewise warp keeps the band edges): band f reads band
 * f * alpha (alpha in [1 - warp, 1 + warp], vocal tract length perturbation on the mel axis, after
 * Jaitly & Hinton 2013) and frame t reads frame t * beta (beta in [1 - stretch, 1 + stretch], so the
 * utterance lasts 1 / beta as long), both by linear interpolation. warp = stretch = 0: the features as they are.
 */
export function warpFeatures(feats: Float32Array, mels: number, rng: Rng, warp: number, stretch: number): Float32Array {
  const alpha = 1 + warp * (2 * rng.next() - 1), beta = 1 + stretch * (2 * rng.next() - 1), T = feats.length / mels;
  const To = Math.max(1, Math.round(T / beta)), out = new Float32Array(To * mels);
  const at = (t: number, f: number) => feats[t * mels + f];
  for (let t = 0; t < To; t++) {
    const st = Math.min(T - 1, t * beta), t0 = Math.floor(st), t1 = Math.min(T - 1, t0 + 1), wt = st - t0;
    for (let f = 0; f < mels; f++) {
      const sf = Math.min(mels - 1, f * alpha), f0 = Math.floor(sf), f1 = Math.min(mels - 1, f0 + 1), wf = sf - f0;
      const lo = at(t0, f0) * (1 - wf) + at(t0, f1) * wf, hi = at(t1, f0) * (1 - wf) + at(t1, f1) * wf;
      out[t * mels + f] = lo * (1 - wt) + hi * wt;
    }
  }
  return out;
}
