import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../util/rng.js';

/** The mean of `batches` scalar losses, each computed in a tidy with one Rng seeded the same way every time (a repeatable validation). */
export function meanLoss(batches: number, seed: number, loss: (batch: number, rng: Rng) => tf.Scalar): number {
  const rng = new Rng(seed);
  let sum = 0;
  for (let b = 0; b < batches; b++) {
    const l = tf.tidy(() => loss(b, rng));
    sum += l.dataSync()[0];
    l.dispose();
  }
  return sum / batches;
}
