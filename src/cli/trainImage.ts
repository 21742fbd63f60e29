// `genlab train diffusion|gan|vae|classifier --data mnist|fashion|DIR`: image models on 28x28 images.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { kmeans } from '../data/kmeans.js';
import { loadImageData, type ImageSplit } from '../data/mnist.js';
import { Classifier } from '../models/classifier.js';
import { Dcgan } from '../models/dcgan.js';
import { buildImageModel, defaultImageConfig, initImageWeights, validateImageConfig, type ImageFamily, type ImageModel } from '../models/images.js';
import { Unet } from '../models/unet.js';
import { Vae } from '../models/vae.js';
import { countParams } from '../nn/layers.js';
import { disposeMap, loadCheckpoint } from '../checkpoint/checkpoint.js';
import { classifierTask } from '../train/classifierTask.js';
import { diffusionTask } from '../train/diffusionTask.js';
import { ganTask } from '../train/ganTask.js';
import { createProgress } from '../train/progress.js';
import { Trainer, defaultTrainConfig, type TrainConfig, type TrainTask } from '../train/trainer.js';
import { vaeTask } from '../train/vaeTask.js';
import { applyOverrides, ConfigError, type Config } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { commandLine } from './common.js';
import { runTraining } from './runTraining.js';

export { IMAGE_FAMILIES, type ImageFamily } from '../models/images.js';

/** The trainer recipe of each family (BENCHMARKS.md's optimizers; batch sizes of the workloads). */
export function imageTrainConfig(family: ImageFamily): TrainConfig {
  const base = { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, evalBatches: 4 };
  switch (family) {
    // Adam 2e-4 (as the unet workload), EMA 0.999 for sampling, batch 32
    // minSnrGamma: Min-SNR-gamma loss weighting (0: off; 5 in the paper)
    case 'diffusion': return { ...base, minSnrGamma: 0, steps: 4000, batchSize: 32, lr: 2e-4, minLr: 2e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0.999, evalEvery: 500, checkpointEvery: 500, logEvery: 10 };
    // the DCGAN paper's Adam: 2e-4, beta1 0.5, constant rate, batch 64
    // augShift/augCutout: DiffAugment's translation (pixels) and cutout (square side) on D's inputs; 0: off
    case 'gan': return { ...base, augShift: 0, augCutout: 0, steps: 3000, batchSize: 64, lr: 2e-4, minLr: 2e-4, warmupSteps: 0, beta1: 0.5, gradClip: 0, emaDecay: 0, evalEvery: 0, checkpointEvery: 500, logEvery: 10 };
    // Adam 1e-3 (as the vae workload), batch 128
    case 'vae': return { ...base, steps: 5000, batchSize: 128, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, gradClip: 0, emaDecay: 0, evalEvery: 500, checkpointEvery: 500, logEvery: 50 };
    case 'classifier': return { ...base, steps: 2000, batchSize: 128, optimizer: 'adamw', lr: 2e-3, minLr: 1e-4, warmupSteps: 50, weightDecay: 1e-4, gradClip: 0, emaDecay: 0, evalEvery: 500, checkpointEvery: 500, logEvery: 50 };
  }
}

/**
 * Clusters of the training images for a self-conditioned GAN, by k-means on the pixels seeded with
 * the run's seed. A fresh model takes the clusters' frequencies as its prior; a resumed one must
 * find the same clusters again (same data, same seed).
 */
function clusterImages(model: Dcgan, train: ImageSplit['train'], seed: number, fresh: boolean): Int32Array {
  const K = model.config.clusters, t0 = Date.now();
  if (K > train.n) throw new ConfigError(`clusters (${K}) must not exceed the ${train.n} training images`);
  // plain JS in float64 so a resume finds bit-identical clusters: ~30 s for 9,000 digits, ~4 min for 60,000
  process.stderr.write(`clusters: k-means of ${train.n.toLocaleString('en-US')} images into ${K}...\n`);
  const km = kmeans(train.images, train.n, train.height * train.width, K, new Rng(seed));
  process.stderr.write(`clusters: ${K} by k-means on the pixels in ${((Date.now() - t0) / 1000).toFixed(1)} s, sizes ${km.sizes.join(' ')}\n`);
  if (fresh) model.setClusterPrior(km.sizes);
  else {
    const prior = model.stats.get('g.prior')!.dataSync();
    if (km.sizes.some((v, k) => Math.abs(v / train.n - prior[k]) > 1e-6)) throw new UserError('--resume: the training images no longer give the clusters this GAN was trained on (different data?)');
  }
  return km.assign;
}

function makeTask(model: ImageModel, data: ImageSplit, cfg: TrainConfig, extraMeta: Record<string, unknown>, fresh: boolean): TrainTask {
  const { train, test } = data;
  if (model instanceof Unet) return diffusionTask({ model, train, test, extraMeta, minSnrGamma: Number(cfg.minSnrGamma ?? 0) });
  if (model instanceof Dcgan) {
    if (cfg.batchSize % model.config.pack) throw new ConfigError(`batchSize (${cfg.batchSize}) must be a multiple of pack (${model.config.pack})`);
    const augment = { shift: Number(cfg.augShift ?? 0), cutout: Number(cfg.augCutout ?? 0) };
    for (const [k, v] of Object.entries(augment)) if (!Number.isInteger(v) || v < 0 || v >= train.height) throw new ConfigError(`aug${k[0].toUpperCase()}${k.slice(1)} must be an integer from 0 to ${train.height - 1}, got ${v}`);
    const clusterOf = model.config.clusters > 0 ? clusterImages(model, train, cfg.seed, fresh) : undefined;
    return ganTask({ model, train, augment, clusterOf, extraMeta });
  }
  if (model instanceof Vae) return vaeTask({ model, train, test, extraMeta });
  return classifierTask({ model: model as Classifier, train, test, extraMeta });
}

function describe(model: ImageModel): string {
  const classes = model.config.classes;
  if (model instanceof Classifier) return `${classes} classes`;
  const latent = model instanceof Vae ? `latent ${model.config.latent}, ` : '';
  const clusters = model instanceof Dcgan && model.config.clusters ? `, self-conditioned on ${model.config.clusters} clusters` : '';
  return latent + (classes ? `conditional on ${classes} classes` : 'unconditional') + clusters;
}

export async function trainImage(family: ImageFamily, o: { data: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }): Promise<void> {
  const ckDir = join(o.out, 'checkpoint');
  const data = loadImageData(o.data);
  const { height: h, width: w, classes } = data.train;
  if (family === 'diffusion' ? h > 32 || w > 32 : h !== 28 || w !== 28) {
    throw new UserError(`${data.source}: images are ${h}x${w}; the ${family} model takes ${family === 'diffusion' ? 'up to 32x32' : '28x28'} images`);
  }
  const model0: Config = { ...defaultImageConfig(family, classes) };
  const trainDefaults = imageTrainConfig(family);
  const isModelKey = (s: string) => s.split('=')[0].trim() in model0;
  const mSets = o.set.filter(isModelKey), tSets = o.set.filter((s) => !isModelKey(s));
  for (const s of tSets) {
    const key = s.split('=')[0].trim();
    if (!(key in trainDefaults)) throw new ConfigError(`unknown --set key "${key}"; valid keys: ${[...Object.keys(model0), ...Object.keys(trainDefaults)].sort().join(', ')}`);
  }
  const extraMeta = { data: o.data };
  let model: ImageModel, cfg: TrainConfig, resume: ReturnType<typeof loadCheckpoint> | undefined;
  if (o.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
    if (mSets.length) throw new ConfigError('--resume keeps the model config; --set may change only trainer keys');
    resume = loadCheckpoint(ckDir);
    if (resume.meta.family !== family) {
      disposeMap(resume.weights); disposeMap(resume.optimizer); disposeMap(resume.ema);
      throw new UserError(`--resume: ${o.out} holds a ${resume.meta.family} model, not ${family}`);
    }
    cfg = applyOverrides({ ...(resume.meta.train as TrainConfig) }, tSets, 'trainer');
    model = buildImageModel(family, resume.meta.model, new Map(Object.entries(resume.weights)));
    process.stderr.write(`resuming ${family} from step ${resume.meta.step} of ${o.out}\n`);
  } else {
    if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
    const mc = applyOverrides(model0, mSets, 'model');
    validateImageConfig(family, mc as ReturnType<typeof defaultImageConfig>, classes);
    cfg = applyOverrides(trainDefaults, tSets, 'trainer');
    if (o.seed !== undefined) cfg.seed = o.seed;
    model = buildImageModel(family, mc, initImageWeights(family, mc as ReturnType<typeof defaultImageConfig>, new Rng(cfg.seed)));
    process.stderr.write(`${family}: ${countParams(model.params).toLocaleString('en-US')} weights, ${describe(model)}, ${data.train.n.toLocaleString('en-US')} training images (${data.source})\n`);
  }
  if (o.steps !== undefined) cfg.steps = o.steps;
  try {
    const trainer = new Trainer(makeTask(model, data, cfg, extraMeta, !resume), cfg, { outDir: o.out, resume, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) });
    await runTraining(trainer);
  } finally {
    model.dispose();
    if (resume) { disposeMap(resume.optimizer); disposeMap(resume.ema); }
  }
}
