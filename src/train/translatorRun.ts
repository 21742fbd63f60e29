// Training a prompt translator (French, Spanish, German to English) on the parallel corpus that
// the grammars generate, fresh pairs every step: `genlab train translator [--set arch=lstm]`.
// Both architectures get the same data, steps and batch, so that their comparison is fair.
import * as tf from '@tensorflow/tfjs-core';
import { languageWords, LANGUAGES, randomPair } from '../data/clips/languages.js';
import { tokenize } from '../data/clips/words.js';
import { COLOURS, DIRECTIONS, SIZES, SPEEDS } from '../data/clips/world.js';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { initTranslatorWeights, SPECIALS, Translator, TranslatorConfigSchema, type TranslatorConfig } from '../models/translator.js';
import { Type, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { applyStepsAndSeed, resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';

/** The words of every language's grammar and the numerals, after the specials (sorted: the vocabulary is the same on every machine). */
export function translatorVocab(): { srcVocab: string[]; tgtVocab: string[] } {
  const src = new Set<string>(Array.from({ length: 10 }, (_, d) => String(d)));
  for (const l of LANGUAGES) for (const w of languageWords(l)) src.add(w);
  const tgt = new Set<string>(['a', 'digit', 'moving', ...SIZES, ...COLOURS, ...Array.from({ length: 10 }, (_, d) => String(d)), ...DIRECTIONS, ...SPEEDS]);
  return { srcVocab: [...SPECIALS, ...[...src].sort()], tgtVocab: [...SPECIALS, ...[...tgt].sort()] };
}

export function defaultTranslatorConfig(arch: TranslatorConfig['arch'] = 'transformer'): TranslatorConfig {
  return { arch, dim: 64, layers: 2, heads: 4, maxSrc: 32, maxTgt: 12, ...translatorVocab() };
}

export const TranslatorTaskSchema = Type.Object({
  pOmit: Type.Number({ minimum: 0, maximum: 1, description: 'share of prompts that leave one or two attributes unsaid' }),
}, { additionalProperties: false });
export type TranslatorTaskConfig = Static<typeof TranslatorTaskSchema>;

/** Adam at 2e-3 with a cosine decay, 32 pairs a step, 3,000 steps: the recipe both architectures are measured with (the grammars with direction verbs and colour phrases needed more than the first 1,500; README). */
export function translatorTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 3000, batchSize: 32, lr: 2e-3, minLr: 1e-4, warmupSteps: 50, gradClip: 1, emaDecay: 0, evalEvery: 250, evalBatches: 4, checkpointEvery: 250, logEvery: 10 };
}

export { randomPair };

export function translatorTask(model: Translator, task: TranslatorTaskConfig): TrainTask {
  let val: { sources: string[][]; targets: string[][] } | undefined;
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set(),
    loss: (rng, B) => {
      const pairs = Array.from({ length: B }, () => randomPair(rng, 'train', task.pOmit));
      return model.loss(pairs.map((p) => tokenize(p.source)), pairs.map((p) => p.target.split(' ')));
    },
    // held-out word orders of every language, fixed
    validate: (batches) => {
      if (!val) {
        const rng = new Rng(777), pairs = Array.from({ length: 96 }, () => randomPair(rng, 'eval', task.pOmit));
        val = { sources: pairs.map((p) => tokenize(p.source)), targets: pairs.map((p) => p.target.split(' ')) };
      }
      const n = Math.max(1, Math.min(batches, 3));
      let s = 0;
      for (let b = 0; b < n; b++) {
        const l = tf.tidy(() => model.loss(val!.sources.slice(b * 32, b * 32 + 32), val!.targets.slice(b * 32, b * 32 + 32)));
        s += l.dataSync()[0];
        l.dispose();
      }
      return s / n;
    },
    meta: () => ({ family: 'translator', model: { ...model.config }, task: { ...task }, data: 'clip prompt grammars (fr, es, de) to English' }),
  };
}

/** The configs, model and task of a translator run (new, or resumed from `resume`). */
export function prepareTranslatorRun(o: { sets: readonly string[]; seed?: number; steps?: number; resume?: CheckpointData }): { model: Translator; task: TrainTask; train: TrainConfig; summary: string } {
  const r = o.resume;
  if (r && r.meta.family !== 'translator') throw new UserError(`--resume: the run holds a ${r.meta.family} model, not a translator`);
  // the architecture is chosen first: its defaults differ
  const archSet = o.sets.find((s) => s.startsWith('arch='))?.slice(5);
  if (archSet !== undefined && archSet !== 'lstm' && archSet !== 'transformer') throw new UserError(`--set arch: lstm or transformer, got "${archSet}"`);
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, translatorTrainConfig(), TranslatorTaskSchema, { pOmit: 0.25 }) : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: TranslatorConfigSchema, model: r ? (r.meta.model as TranslatorConfig) : defaultTranslatorConfig(archSet as TranslatorConfig['arch'] | undefined),
    modelFixed: { srcVocab: 'the vocabulary is set by the grammars', tgtVocab: 'the vocabulary is set by the grammars' },
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? translatorTrainConfig(), taskSchema: TranslatorTaskSchema, task: saved?.task ?? { pOmit: 0.25 }, sets: o.sets,
  });
  const train = cfgs.train;
  applyStepsAndSeed(train, o, r !== undefined);
  if (cfgs.model.arch === 'transformer' && cfgs.model.dim % cfgs.model.heads) throw new UserError(`--set dim=${cfgs.model.dim}: a multiple of heads (${cfgs.model.heads})`);
  const model = new Translator(cfgs.model, r ? new Map(Object.entries(r.weights)) : initTranslatorWeights(cfgs.model, new Rng(train.seed)));
  const n = [...model.params.values()].reduce((s, v) => s + v.size, 0);
  return { model, task: translatorTask(model, cfgs.task), train, summary: `${cfgs.model.arch} translator, ${n.toLocaleString('en-US')} weights, ${cfgs.model.srcVocab.length} source and ${cfgs.model.tgtVocab.length} English words` };
}
