// The configs of a training run from defaults, a checkpoint being resumed and `--set`: one
// function for every family and verb (train, resume, finetune), so that --set is parsed in one
// place against the schemas.
import type { TObject } from 'typebox';
import { applySets, checkConfig, type ConfigPart, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { TrainConfigSchema, type TrainConfig } from './trainer.js';

export interface RunConfigs<M, K> { model: M; train: TrainConfig; task: K }

export interface RunConfigInput<MS extends TObject, KS extends TObject> {
  modelSchema: MS;
  model: Static<MS>;
  /** model keys --set may not change, with the reason (e.g. vocabSize: set by the data) */
  modelFixed?: Record<string, string>;
  /** why no model key may change (resume, finetune) */
  modelFrozen?: string;
  train: TrainConfig;
  /** the family's own training settings (diffusion's minSnrGamma, the GAN's DiffAugment) */
  taskSchema: KS;
  task: Static<KS>;
  /** training keys --set may not change, with the reason (e.g. what a resumed run's data was made with) */
  taskFixed?: Record<string, string>;
  sets: readonly string[];
}

export function resolveRunConfigs<MS extends TObject, KS extends TObject>(i: RunConfigInput<MS, KS>): RunConfigs<Static<MS>, Static<KS>> {
  const modelKeys = Object.keys(i.modelSchema.properties);
  const fixed = i.modelFrozen ? Object.fromEntries(modelKeys.map((k) => [k, i.modelFrozen!])) : i.modelFixed;
  const parts: ConfigPart[] = [
    { what: 'model', schema: i.modelSchema, value: i.model as Record<string, unknown>, fixed },
    { what: 'trainer', schema: TrainConfigSchema, value: i.train },
    { what: 'training', schema: i.taskSchema, value: i.task as Record<string, unknown>, fixed: i.taskFixed },
  ];
  const [model, train, task] = applySets(parts, i.sets);
  return { model: model as Static<MS>, train: train as TrainConfig, task: task as Static<KS> };
}

/**
 * A checkpoint's saved trainer config, split into the trainer's keys and the family's own (older
 * checkpoints kept those among the trainer's), each with its defaults for keys added since.
 */
export function savedRunConfigs<KS extends TObject>(saved: { train?: Record<string, unknown>; task?: Record<string, unknown> }, trainDefault: TrainConfig, taskSchema: KS, taskDefault: Static<KS>): { train: TrainConfig; task: Static<KS> } {
  const train: Record<string, unknown> = { ...trainDefault }, task: Record<string, unknown> = { ...(taskDefault as Record<string, unknown>) };
  for (const [k, v] of Object.entries(saved.train ?? {})) {
    if (k in TrainConfigSchema.properties) train[k] = v;
    else if (k in taskSchema.properties) task[k] = v;
  }
  Object.assign(task, saved.task ?? {});
  return { train: checkConfig(TrainConfigSchema, train, 'trainer'), task: checkConfig(taskSchema, task, 'training') };
}

/** --steps and --seed onto a run's trainer config; a resumed run keeps its seed. */
export function applyStepsAndSeed(train: TrainConfig, o: { steps?: number; seed?: number }, resuming: boolean): TrainConfig {
  if (o.steps !== undefined) train.steps = o.steps;
  if (o.seed !== undefined) {
    if (resuming && o.seed !== train.seed) throw new UserError('--resume continues the saved run; its seed cannot change');
    train.seed = o.seed;
  }
  return train;
}
