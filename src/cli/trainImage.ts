// `genlab train diffusion --data mnist|fashion|DIR`: a DDPM on 28x28 images (padded to 32x32).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../data/errors.js';
import { loadImageData } from '../data/mnist.js';
import { Unet, defaultUnetConfig, initUnetWeights, type UnetConfig } from '../models/unet.js';
import { countParams } from '../nn/layers.js';
import { disposeMap, loadCheckpoint } from '../train/checkpoint.js';
import { diffusionTask } from '../train/diffusionTask.js';
import { createProgress } from '../train/progress.js';
import { Trainer, defaultTrainConfig, type TrainConfig } from '../train/trainer.js';
import { applyOverrides, ConfigError, type Config } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { commandLine } from './common.js';
import { runTraining } from './runTraining.js';

export const IMAGE_FAMILIES = ['diffusion'] as const;

/** The diffusion recipe: Adam 2e-4 (as the unet workload), EMA 0.999 for sampling, batch 32. */
export function diffusionTrainConfig(): TrainConfig {
  return {
    ...defaultTrainConfig(), steps: 4000, batchSize: 32, lr: 2e-4, minLr: 2e-5, warmupSteps: 100, optimizer: 'adam', beta2: 0.999,
    weightDecay: 0, gradClip: 1, emaDecay: 0.999, evalEvery: 500, evalBatches: 4, checkpointEvery: 500, logEvery: 10,
  };
}

export async function trainImage(o: { data: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }): Promise<void> {
  const ckDir = join(o.out, 'checkpoint');
  const data = loadImageData(o.data);
  if (data.train.height > 32 || data.train.width > 32) throw new UserError(`${data.source}: images are ${data.train.height}x${data.train.width}; the diffusion UNet takes up to 32x32`);
  const model0 = { ...defaultUnetConfig(), classes: data.train.classes };
  const mSets = o.set.filter((s) => s.split('=')[0].trim() in model0), tSets = o.set.filter((s) => !(s.split('=')[0].trim() in model0));
  for (const s of tSets) {
    const key = s.split('=')[0].trim();
    if (!(key in diffusionTrainConfig())) {
      throw new ConfigError(`unknown --set key "${key}"; valid keys: ${[...Object.keys(model0), ...Object.keys(diffusionTrainConfig())].sort().join(', ')}`);
    }
  }
  if (o.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
    if (mSets.length) throw new ConfigError('--resume keeps the model config; --set may change only trainer keys');
    const ck = loadCheckpoint(ckDir);
    if (ck.meta.family !== 'diffusion') throw new UserError(`--resume: ${o.out} holds a ${ck.meta.family} model, not diffusion`);
    const cfg = applyOverrides({ ...(ck.meta.train as TrainConfig) }, tSets, 'trainer');
    if (o.steps !== undefined) cfg.steps = o.steps;
    const model = new Unet(ck.meta.model as UnetConfig, new Map(Object.entries(ck.weights)));
    process.stderr.write(`resuming diffusion from step ${ck.meta.step} of ${o.out}\n`);
    try {
      const task = diffusionTask({ model, train: data.train, test: data.test, extraMeta: { data: o.data } });
      await runTraining(new Trainer(task, cfg, { outDir: o.out, resume: ck, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
    } finally {
      model.dispose(); disposeMap(ck.optimizer); disposeMap(ck.ema);
    }
    return;
  }
  if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
  const mc = applyOverrides(model0 as Config, mSets, 'model') as UnetConfig;
  if (!Number.isInteger(mc.classes) || mc.classes < 0) throw new ConfigError(`classes must be 0 (unconditional) or the number of classes, got ${mc.classes}`);
  const cfg = applyOverrides(diffusionTrainConfig(), tSets, 'trainer');
  if (o.steps !== undefined) cfg.steps = o.steps;
  if (o.seed !== undefined) cfg.seed = o.seed;
  const model = new Unet(mc, initUnetWeights(mc, new Rng(cfg.seed)));
  process.stderr.write(`diffusion: ${countParams(model.params).toLocaleString('en-US')} weights, ${mc.classes ? `${mc.classes} classes` : 'unconditional'}, ${data.train.n.toLocaleString('en-US')} training images (${data.source})\n`);
  try {
    const task = diffusionTask({ model, train: data.train, test: data.test, extraMeta: { data: o.data } });
    await runTraining(new Trainer(task, cfg, { outDir: o.out, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
  } finally {
    model.dispose();
  }
}
