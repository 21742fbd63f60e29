// Setting up an image training run (diffusion, gan, vae, classifier on 28x28 images): the configs
// from the family's recipe, --set and a resumed checkpoint; the model; the task; the GAN's k-means
// clusters and the check that a resume finds the same ones. The CLI only parses flags and runs it.
import { kmeans } from '../data/kmeans.js';
import type { ImageSplit } from '../data/mnist.js';
import { Classifier } from '../models/classifier.js';
import { Dcgan } from '../models/dcgan.js';
import { buildImageModel, defaultImageConfig, IMAGE_CONFIG_SCHEMAS, initImageWeights, savedImageConfig, validateImageConfig, type AnyConfig, type ImageFamily, type ImageModel } from '../models/images.js';
import { checkImageTraining } from '../models/memory.js';
import { Unet } from '../models/unet.js';
import { Vae } from '../models/vae.js';
import { type CheckpointData } from '../checkpoint/checkpoint.js';
import { ConfigError, Type, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { classifierTask } from './classifierTask.js';
import { diffusionTask } from './diffusionTask.js';
import { ganTask } from './ganTask.js';
import { applyStepsAndSeed, resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';
import { vaeTask } from './vaeTask.js';

/** Each family's own training settings, beside the trainer's. */
export const IMAGE_TASK_SCHEMAS = {
  diffusion: Type.Object({ minSnrGamma: Type.Number({ minimum: 0, description: 'Min-SNR-gamma loss weighting (0: off; 5 in the paper)' }) }, { additionalProperties: false }),
  gan: Type.Object({
    augShift: Type.Integer({ minimum: 0, description: "DiffAugment's translation of D's inputs, in pixels (0: off)" }),
    augCutout: Type.Integer({ minimum: 0, description: "DiffAugment's cutout square side (0: off)" }),
  }, { additionalProperties: false }),
  vae: Type.Object({}, { additionalProperties: false }),
  classifier: Type.Object({
    part: Type.Union([Type.Literal('all'), Type.Literal('even'), Type.Literal('odd')], { description: 'the training images it learns from: all, or those at even or odd positions (a second judge learns from the other half with another seed)' }),
  }, { additionalProperties: false }),
} as const;
export type ImageTaskConfig = Partial<Static<typeof IMAGE_TASK_SCHEMAS.diffusion> & Static<typeof IMAGE_TASK_SCHEMAS.gan> & Static<typeof IMAGE_TASK_SCHEMAS.classifier>>;
const TASK_DEFAULTS: Record<ImageFamily, ImageTaskConfig> = { diffusion: { minSnrGamma: 0 }, gan: { augShift: 0, augCutout: 0 }, vae: {}, classifier: { part: 'all' } };

/** The trainer recipe of each family (BENCHMARKS.md's optimizers; batch sizes of the workloads). */
export function imageTrainConfig(family: ImageFamily): TrainConfig {
  const base: TrainConfig = { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, evalBatches: 4 };
  switch (family) {
    // Adam 2e-4 (as the unet workload), EMA 0.999 for sampling, batch 32
    case 'diffusion': return { ...base, steps: 4000, batchSize: 32, lr: 2e-4, minLr: 2e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0.999, evalEvery: 500, checkpointEvery: 500, logEvery: 10 };
    // the DCGAN paper's Adam: 2e-4, beta1 0.5, constant rate, batch 64
    case 'gan': return { ...base, steps: 3000, batchSize: 64, lr: 2e-4, minLr: 2e-4, warmupSteps: 0, beta1: 0.5, gradClip: 0, emaDecay: 0, evalEvery: 0, checkpointEvery: 500, logEvery: 10 };
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
function clusterImages(model: Dcgan, train: ImageSplit['train'], seed: number, fresh: boolean, log: (s: string) => void): Int32Array {
  const K = model.config.clusters, t0 = Date.now();
  if (K > train.n) throw new ConfigError(`clusters (${K}) must not exceed the ${train.n} training images`);
  // plain JS in float64 so a resume finds bit-identical clusters: ~30 s for 9,000 digits, ~4 min for 60,000
  log(`clusters: k-means of ${train.n.toLocaleString('en-US')} images into ${K}...`);
  const km = kmeans(train.images, train.n, train.height * train.width, K, new Rng(seed));
  log(`clusters: ${K} by k-means on the pixels in ${((Date.now() - t0) / 1000).toFixed(1)} s, sizes ${km.sizes.join(' ')}`);
  if (fresh) model.setClusterPrior(km.sizes);
  else {
    const prior = model.stats.get('g.prior')!.dataSync();
    if (km.sizes.some((v, k) => Math.abs(v / train.n - prior[k]) > 1e-6)) throw new UserError('--resume: the training images no longer give the clusters this GAN was trained on (different data?)');
  }
  return km.assign;
}

function makeTask(model: ImageModel, data: ImageSplit, cfg: TrainConfig, task: ImageTaskConfig, extraMeta: Record<string, unknown>, fresh: boolean, log: (s: string) => void): TrainTask {
  const { train, test } = data;
  if (model instanceof Unet) return diffusionTask({ model, train, test, extraMeta, minSnrGamma: task.minSnrGamma ?? 0 });
  if (model instanceof Dcgan) {
    if (cfg.batchSize % model.config.pack) throw new ConfigError(`batchSize (${cfg.batchSize}) must be a multiple of pack (${model.config.pack})`);
    const augment = { shift: task.augShift ?? 0, cutout: task.augCutout ?? 0 };
    for (const [k, v] of Object.entries(augment)) if (v >= train.height) throw new ConfigError(`aug${k[0].toUpperCase()}${k.slice(1)} must be an integer from 0 to ${train.height - 1}, got ${v}`);
    const clusterOf = model.config.clusters > 0 ? clusterImages(model, train, cfg.seed, fresh, log) : undefined;
    return ganTask({ model, train, augment, clusterOf, extraMeta });
  }
  if (model instanceof Vae) return vaeTask({ model, train, test, extraMeta });
  return classifierTask({ model: model as Classifier, train, test, part: task.part ?? 'all', extraMeta });
}

function describe(model: ImageModel): string {
  const classes = model.config.classes;
  if (model instanceof Classifier) return `${classes} classes`;
  const latent = model instanceof Vae ? `latent ${model.config.latent}, ` : '';
  const clusters = model instanceof Dcgan && model.config.clusters ? `, self-conditioned on ${model.config.clusters} clusters` : '';
  return latent + (classes ? `conditional on ${classes} classes` : 'unconditional') + clusters;
}

export interface ImageRun {
  model: ImageModel;
  task: TrainTask;
  train: TrainConfig;
  /** a line about the model for the log */
  summary: string;
}

/**
 * The model, task and trainer config of a run on `data`: fresh from the family's recipe and
 * `sets`, or continuing `resume` (whose model config --set may not change).
 */
export function prepareImageRun(family: ImageFamily, data: ImageSplit, o: { sets: readonly string[]; seed?: number; steps?: number; dataSpec: string; resume?: CheckpointData; log: (s: string) => void }): ImageRun {
  const { height: h, width: w, classes } = data.train;
  if (family === 'diffusion' ? h > 32 || w > 32 : h !== 28 || w !== 28) {
    throw new UserError(`${data.source}: images are ${h}x${w}; the ${family} model takes ${family === 'diffusion' ? 'up to 32x32' : '28x28'} images`);
  }
  const taskSchema = IMAGE_TASK_SCHEMAS[family], modelSchema = IMAGE_CONFIG_SCHEMAS[family];
  const r = o.resume;
  if (r && r.meta.family !== family) throw new UserError(`--resume: the run holds a ${r.meta.family} model, not ${family}`);
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, imageTrainConfig(family), taskSchema, TASK_DEFAULTS[family] as Static<typeof taskSchema>) : undefined;
  const model0 = r ? savedImageConfig(family, r.meta.model) : defaultImageConfig(family, classes);
  const cfgs = resolveRunConfigs({
    modelSchema, model: model0 as Static<typeof modelSchema>, modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? imageTrainConfig(family), taskSchema, task: (saved?.task ?? TASK_DEFAULTS[family]) as Static<typeof taskSchema>,
    // a judge meant never to have seen the other half must not see it on a resume either
    taskFixed: r && family === 'classifier' ? { part: `--resume keeps part (${(saved!.task as ImageTaskConfig).part ?? 'all'}): the images a classifier learns from` } : undefined, sets: o.sets,
  });
  const train = cfgs.train, task = cfgs.task as ImageTaskConfig, mc = cfgs.model as AnyConfig;
  applyStepsAndSeed(train, o, r !== undefined);
  validateImageConfig(family, mc, classes);
  checkImageTraining(family, train.batchSize); // before a weight is allocated
  const model = r ? buildImageModel(family, r.meta.model, new Map(Object.entries(r.weights))) : buildImageModel(family, mc, initImageWeights(family, mc, new Rng(train.seed)));
  try {
    const extraMeta = { data: o.dataSpec, task };
    return { model, train, task: makeTask(model, data, train, task, extraMeta, !r, o.log), summary: `${describe(model)}, ${data.train.n.toLocaleString('en-US')} training images (${data.source})${task.part && task.part !== 'all' ? `, learning from those at ${task.part} positions (from 0)` : ''}` };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
