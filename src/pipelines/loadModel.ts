// One checkpoint of one family, for inference: its EMA weights where kept (else its weights), the
// optimizer state dropped; another family is a UserError that names what the folder holds.
import { disposeMap, loadCheckpoint, resolveCheckpointDir, type CheckpointData } from '../checkpoint/checkpoint.js';
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';

export function loadInferenceWeights(dirArg: string, family: string, noun: string): { meta: CheckpointData['meta']; weights: Map<string, tf.Tensor> } {
  const ck = loadCheckpoint(resolveCheckpointDir(dirArg));
  disposeMap(ck.optimizer);
  const weights = ck.ema ?? ck.weights;
  if (ck.ema) disposeMap(ck.weights);
  if (ck.meta.family !== family) {
    disposeMap(weights);
    throw new UserError(`${dirArg} holds a "${ck.meta.family}" model, not ${noun}`);
  }
  return { meta: ck.meta, weights: new Map(Object.entries(weights)) };
}
