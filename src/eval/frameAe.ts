// How well the frame autoencoder keeps what the judge reads: held-out clips (every pair, held-out
// digit images) through encode (posterior mean) and decode, then the reconstruction error and
// the judge's exact-match accuracy on the reconstructions beside the originals'.
import * as tf from '@tensorflow/tfjs-core';
import { ClipSampler } from '../data/clips/dataset.js';
import { renderScene } from '../data/clips/render.js';
import { FRAMES, SIDE } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import type { Classifier } from '../models/classifier.js';
import type { FrameAe } from '../models/frameAe.js';
import { Rng } from '../util/rng.js';
import { agreement, judgeClip } from './judge.js';

export interface FrameAeReport {
  clips: number;
  mse: number;
  psnr: number;
  /** the judge's exact match on the original clips and on their reconstructions */
  judgeExact: { original: number; reconstructed: number };
  msPerClip: number;
}

/** Encodes and decodes a clip [FRAMES, 64, 64, 3] through the posterior mean; the output is clipped to [0, 1]. */
export function reconstructClip(ae: FrameAe, frames: Float32Array): Float32Array {
  return tf.tidy(() => tf.clipByValue(ae.decode(ae.encode(tf.tensor4d(frames, [FRAMES, SIDE, SIDE, 3])).mu), 0, 1).dataSync() as Float32Array);
}

export function evaluateFrameAe(ae: FrameAe, clf: Classifier, test: ImageSet, o: { n: number; seed?: number }): FrameAeReport {
  const s = new ClipSampler(test, 'eval', new Rng(o.seed ?? 0));
  let se = 0, orig = 0, rec = 0;
  const t0 = performance.now();
  for (let i = 0; i < o.n; i++) {
    const e = s.next(), x = renderScene(e.scene), y = reconstructClip(ae, x);
    for (let k = 0; k < x.length; k++) se += (x[k] - y[k]) ** 2;
    if (agreement(judgeClip(x, clf), e.attributes[0]).exact) orig += 1;
    if (agreement(judgeClip(y, clf), e.attributes[0]).exact) rec += 1;
  }
  const mse = se / (o.n * FRAMES * SIDE * SIDE * 3);
  return { clips: o.n, mse, psnr: 10 * Math.log10(1 / mse), judgeExact: { original: orig / o.n, reconstructed: rec / o.n }, msPerClip: (performance.now() - t0) / o.n };
}
