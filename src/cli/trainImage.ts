// `genlab train diffusion --data mnist|fashion|DIR`: a DDPM on 28x28 images (padded to 32x32).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../data/errors.js';
import { loadImageData } from '../data/mnist.js';
import { Unet, defaultUnetConfig, initUnetWeights, type UnetConfig } from '../models/unet.js';
import { countParams } from '../nn/layers.js';
import { disposeMap, loadCheckpoint } from '../train/checkpoint.js';
import { diffusionTask } from '../train/diffusionTask.js';
import { vaeTask } from '../train/vaeTask.js';
import { Vae, defaultVaeConfig, initVaeWeights, type VaeConfig } from '../models/vae.js';
import { createProgress } from '../train/progress.js';
import { Trainer, defaultTrainConfig, type TrainConfig } from '../train/trainer.js';
import { applyOverrides, ConfigError, type Config } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { commandLine } from './common.js';
import { runTraining } from './runTraining.js';

export const IMAGE_FAMILIES = ['diffusion', 'vae'] as const;
export type ImageFamily = (typeof IMAGE_FAMILIES)[number];

/** The VAE recipe: Adam 1e-3 (as the vae workload), batch 128. */
export function vaeTrainConfig(): TrainConfig {
  return {
    ...defaultTrainConfig(), steps: 5000, batchSize: 128, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, optimizer: 'adam', beta2: 0.999,
    weightDecay: 0, gradClip: 0, emaDecay: 0, evalEvery: 500, evalBatches: 4, checkpointEvery: 500, logEvery: 50,
  };
}

/** The diffusion recipe: Adam 2e-4 (as the unet workload), EMA 0.999 for sampling, batch 32. */
export function diffusionTrainConfig(): TrainConfig {
  return {
    ...defaultTrainConfig(), steps: 4000, batchSize: 32, lr: 2e-4, minLr: 2e-5, warmupSteps: 100, optimizer: 'adam', beta2: 0.999,
    weightDecay: 0, gradClip: 1, emaDecay: 0.999, evalEvery: 500, evalBatches: 4, checkpointEvery: 500, logEvery: 10,
  };
}

export async function trainImage(family: ImageFamily, o: { data: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }): Promise<void> {
  const ckDir = join(o.out, 'checkpoint');
  const data = loadImageData(o.data);
  if (data.train.height > 32 || data.train.width > 32) throw new UserError(`${data.source}: images are ${data.train.height}x${data.train.width}; the diffusion UNet takes up to 32x32`);
  if (family === 'vae' && (data.train.height !== 28 || data.train.width !== 28)) throw new UserError(`${data.source}: the VAE takes 28x28 images, these are ${data.train.height}x${data.train.width}`);
  const model0: Config = family === 'vae' ? { ...defaultVaeConfig() } : { ...defaultUnetConfig(), classes: data.train.classes };
  const trainDefaults = family === 'vae' ? vaeTrainConfig() : diffusionTrainConfig();
  const mSets = o.set.filter((s) => s.split('=')[0].trim() in model0), tSets = o.set.filter((s) => !(s.split('=')[0].trim() in model0));
  for (const s of tSets) {
    const key = s.split('=')[0].trim();
    if (!(key in trainDefaults)) {
      throw new ConfigError(`unknown --set key "${key}"; valid keys: ${[...Object.keys(model0), ...Object.keys(trainDefaults)].sort().join(', ')}`);
    }
  }
  const makeTask = (m: Unet | Vae) => m instanceof Vae
    ? vaeTask({ model: m, train: data.train, test: data.test, extraMeta: { data: o.data } })
    : diffusionTask({ model: m, train: data.train, test: data.test, extraMeta: { data: o.data } });
  if (o.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
    if (mSets.length) throw new ConfigError('--resume keeps the model config; --set may change only trainer keys');
    const ck = loadCheckpoint(ckDir);
    if (ck.meta.family !== family) throw new UserError(`--resume: ${o.out} holds a ${ck.meta.family} model, not ${family}`);
    const cfg = applyOverrides({ ...(ck.meta.train as TrainConfig) }, tSets, 'trainer');
    if (o.steps !== undefined) cfg.steps = o.steps;
    const weights = new Map(Object.entries(ck.weights));
    const model = family === 'vae' ? new Vae(ck.meta.model as VaeConfig, weights) : new Unet(ck.meta.model as UnetConfig, weights);
    process.stderr.write(`resuming ${family} from step ${ck.meta.step} of ${o.out}\n`);
    try {
      const task = makeTask(model);
      await runTraining(new Trainer(task, cfg, { outDir: o.out, resume: ck, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
    } finally {
      model.dispose(); disposeMap(ck.optimizer); disposeMap(ck.ema);
    }
    return;
  }
  if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
  const mc = applyOverrides(model0, mSets, 'model');
  const cfg = applyOverrides(trainDefaults, tSets, 'trainer');
  if (o.steps !== undefined) cfg.steps = o.steps;
  if (o.seed !== undefined) cfg.seed = o.seed;
  let model: Unet | Vae;
  if (family === 'vae') {
    const vc = mc as VaeConfig;
    if (!Number.isInteger(vc.latent) || vc.latent < 1) throw new ConfigError(`latent must be a positive integer, got ${vc.latent}`);
    model = new Vae(vc, initVaeWeights(vc, new Rng(cfg.seed)));
  } else {
    const uc = mc as UnetConfig;
    if (!Number.isInteger(uc.classes) || uc.classes < 0) throw new ConfigError(`classes must be 0 (unconditional) or the number of classes, got ${uc.classes}`);
    model = new Unet(uc, initUnetWeights(uc, new Rng(cfg.seed)));
  }
  const what = model instanceof Unet ? (model.config.classes ? `${model.config.classes} classes` : 'unconditional') : `latent ${(mc as VaeConfig).latent}`;
  process.stderr.write(`${family}: ${countParams(model.params).toLocaleString('en-US')} weights, ${what}, ${data.train.n.toLocaleString('en-US')} training images (${data.source})\n`);
  try {
    const task = makeTask(model);
    await runTraining(new Trainer(task, cfg, { outDir: o.out, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
  } finally {
    model.dispose();
  }
}
