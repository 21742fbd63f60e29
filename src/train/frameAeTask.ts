// Training the clip frame autoencoder as a TrainTask: each step draws clips from the clip world's
// training distribution (no held-out pair, training digit images only) and one random frame of
// each; validation is the MSE on a fixed set of frames of held-out digit images.
import * as tf from '@tensorflow/tfjs-core';
import { ClipSampler } from '../data/clips/dataset.js';
import { renderScene } from '../data/clips/render.js';
import { FRAMES, SIDE } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import type { FrameAe } from '../models/frameAe.js';
import { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';

const FRAME = SIDE * SIDE * 3;

/** B frames [B, 64, 64, 3]: one random frame of each of B clips drawn with rng. */
export function frameBatch(set: ImageSet, split: 'train' | 'eval', rng: Rng, B: number): Float32Array {
  const s = new ClipSampler(set, split, rng), out = new Float32Array(B * FRAME);
  for (let i = 0; i < B; i++) {
    const f = rng.int(FRAMES);
    out.set(renderScene(s.next().scene).subarray(f * FRAME, (f + 1) * FRAME), i * FRAME);
  }
  return out;
}

/** valFrames: the fixed held-out frames validation reconstructs (default 128, in batches of 32). */
export function frameAeTask(opts: { model: FrameAe; train: ImageSet; test: ImageSet; valFrames?: number; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model } = opts, L = model.config.latent;
  let val: Float32Array | undefined;
  const lossOn = (frames: Float32Array, B: number, rng: Rng) =>
    model.loss(tf.tensor4d(frames, [B, SIDE, SIDE, 3]), tf.tensor4d(rng.normalArray(B * 16 * 16 * L), [B, 16, 16, L]));
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set([...model.params.keys()].filter((k) => k.endsWith('.w'))),
    loss: (rng, B) => lossOn(frameBatch(opts.train, 'train', rng, B), B, rng).loss,
    // the reconstruction MSE of the posterior mean on fixed held-out frames
    validate: (batches) => {
      const total = opts.valFrames ?? 128, B = Math.min(32, total), n = Math.max(1, Math.min(batches, Math.ceil(total / B)));
      val ??= frameBatch(opts.test, 'eval', new Rng(777), n * B);
      let sum = 0;
      for (let b = 0; b < n; b++) {
        sum += tf.tidy(() => {
          const x = tf.tensor4d(val!.subarray(b * B * FRAME, (b + 1) * B * FRAME), [B, SIDE, SIDE, 3]);
          return tf.mean(tf.squaredDifference(model.decode(model.encode(x).mu), x)).dataSync()[0];
        });
      }
      return sum / n;
    },
    meta: () => ({ family: 'frame-ae', model: { ...model.config }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta }),
  };
}
