// A text model's loss: cross-entropy per character on one batch, and over a whole held-out text.
import * as tf from '@tensorflow/tfjs-core';
import { sequentialBatches, type TokenBatch } from '../data/text.js';
import { crossEntropy } from '../nn/layers.js';
import type { TextModel } from './types.js';

/** Mean cross-entropy (nats per character) of the model on one batch; call inside tidy. */
export function batchLoss(model: TextModel, b: TokenBatch): tf.Scalar {
  const x = tf.tensor2d(b.x, [b.batch, b.block], 'int32');
  const y = tf.tensor1d(b.y, 'int32');
  const logits = model.logits(x);
  return crossEntropy(tf.reshape(logits, [-1, model.vocabSize]) as tf.Tensor2D, y);
}

/** Mean loss over consecutive windows of `ids` (at most maxBatches batches), weighted by characters. */
export function evaluateText(model: TextModel, ids: Int32Array, block: number, batch: number, maxBatches = Infinity): number {
  let sum = 0, count = 0, n = 0;
  for (const b of sequentialBatches(ids, batch, block)) {
    if (n++ >= maxBatches) break;
    const l = tf.tidy(() => batchLoss(model, b));
    sum += l.dataSync()[0] * b.batch * b.block;
    count += b.batch * b.block;
    l.dispose();
  }
  if (count === 0) throw new Error(`the validation text is too short for one window of ${block + 1} characters`);
  return sum / count;
}
