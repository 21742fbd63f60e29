// Training the summariser on fresh chatty descriptions every step (`genlab train summariser`);
// validation on the held-out phrasings.
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { chattyWords, randomChatty } from '../data/clips/chatty.js';
import { tokenize } from '../data/clips/words.js';
import { SUMMARY_SPECIALS, Summariser, SummariserConfigSchema, initSummariserWeights, type SummariserConfig } from '../models/summariser.js';
import { Type } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { applyStepsAndSeed, resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';
import { translatorVocab } from './translatorRun.js';

export function summariserVocab(): string[] {
  const words = new Set([...chattyWords(), ...translatorVocab().tgtVocab.filter((w) => !w.startsWith('['))]);
  return [...SUMMARY_SPECIALS, ...[...words].sort()];
}

export function defaultSummariserConfig(): SummariserConfig {
  const vocab = summariserVocab();
  return { gpt: { vocabSize: vocab.length, blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64, untiedHead: false }, maxSummary: 12, vocab };
}

const NO_TASK = Type.Object({}, { additionalProperties: false });

/** Adam at 1e-3 with a cosine decay, 32 descriptions a step. Not yet tuned by a measurement. */
export function summariserTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.99, weightDecay: 0, steps: 1500, batchSize: 32, lr: 1e-3, minLr: 5e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0, evalEvery: 250, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

export function summariserTask(model: Summariser): TrainTask {
  const batch = (rng: Rng, n: number, split: 'train' | 'eval') => {
    const ex = Array.from({ length: n }, () => randomChatty(rng, split));
    return { texts: ex.map((e) => tokenize(e.text)), targets: ex.map((e) => e.target.split(' ')) };
  };
  let val: { texts: string[][]; targets: string[][] } | undefined;
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set(),
    loss: (rng, B) => { const b = batch(new Rng(rng.int(2 ** 31)), B, 'train'); return model.loss(b.texts, b.targets); },
    validate: (batches) => {
      const V = 32, n = Math.max(1, Math.min(batches, 4));
      val ??= batch(new Rng(4711), 4 * V, 'eval');
      let s = 0;
      for (let b = 0; b < n; b++) {
        const l = tf.tidy(() => model.loss(val!.texts.slice(b * V, (b + 1) * V), val!.targets.slice(b * V, (b + 1) * V)));
        s += l.dataSync()[0];
        l.dispose();
      }
      return s / n;
    },
    meta: () => ({ family: 'summariser', model: { ...model.config }, data: 'chatty descriptions of the clip grammar (src/data/clips/chatty.ts)' }),
  };
}

export function prepareSummariserRun(o: { sets: readonly string[]; seed?: number; steps?: number; resume?: CheckpointData }): { model: Summariser; task: TrainTask; train: TrainConfig; summary: string } {
  const r = o.resume;
  if (r && r.meta.family !== 'summariser') throw new UserError(`--resume: the run holds a ${r.meta.family} model, not a summariser`);
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown> }, summariserTrainConfig(), NO_TASK, {}) : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: SummariserConfigSchema, model: r ? (r.meta.model as SummariserConfig) : defaultSummariserConfig(),
    modelFixed: { vocab: 'the vocabulary is the chatty grammar\'s', gpt: 'the GPT\'s shape is fixed here', maxSummary: 'fixed' },
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? summariserTrainConfig(), taskSchema: NO_TASK, task: {}, sets: o.sets,
  });
  const train = cfgs.train;
  applyStepsAndSeed(train, o, r !== undefined);
  const model = new Summariser(cfgs.model, r ? new Map(Object.entries(r.weights)) : initSummariserWeights(cfgs.model, new Rng(train.seed)));
  const n = [...model.params.values()].reduce((s, v) => s + v.size, 0);
  return { model, task: summariserTask(model), train, summary: `summariser GPT, ${n.toLocaleString('en-US')} weights, ${cfgs.model.vocab.length} words, fresh chatty descriptions` };
}
