// Next-character prediction as a TrainTask: random windows of the training ids, validation on
// consecutive windows of the held-out ids.
import { randomBatch, type CharTokenizer } from '../data/text.js';
import { batchLoss, evaluateText } from '../models/textLoss.js';
import type { TextModel } from '../models/types.js';
import type { Rng } from '../util/rng.js';
import type { TrainTask } from './trainer.js';


export function textTask(opts: {
  model: TextModel;
  tokenizer: CharTokenizer;
  train: Int32Array;
  val: Int32Array;
  block: number;
  trainable?: string[];
  extraMeta?: Record<string, unknown>;
}): TrainTask {
  const { model, tokenizer, train, val, block } = opts;
  const trainable = opts.trainable ?? [...model.params.keys()];
  return {
    params: model.params,
    trainable,
    decay: new Set(model.decayNames()),
    loss: (rng: Rng, batchSize: number) => batchLoss(model, randomBatch(train, batchSize, block, rng)),
    validate: val.length > block ? (batches: number) => evaluateText(model, val, block, 12, batches) : undefined,
    meta: () => ({ family: model.family, model: { ...model.config }, tokenizer: tokenizer.toJSON(), ...opts.extraMeta }),
  };
}
