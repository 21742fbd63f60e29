import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { splitTrainVal } from '../data/text.js';
import { buildTextModel, defaultTextConfig, initTextWeights, isTextFamily, TEXT_FAMILIES, type TextFamily, type TextModelConfig } from '../models/registry.js';
import { countParams } from '../nn/layers.js';
import { disposeLoaded, loadTextModel } from '../pipelines/text.js';
import { createProgress } from '../train/progress.js';
import { textTask } from '../train/textTask.js';
import { Trainer, defaultTrainConfig, type TrainConfig } from '../train/trainer.js';
import { applyOverrides, ConfigError, type Config } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { action, checkRunDir, collect, commandLine, int, setup } from './common.js';
import { loadCorpus, tokenizerFor } from './textData.js';
import { runTraining } from './runTraining.js';
import { IMAGE_FAMILIES, trainImage, type ImageFamily } from './trainImage.js';

/** The trainer defaults of a family: nanoGPT's CPU recipe for gpt; Adam at 2e-3 for the LSTM (BENCHMARKS.md). */
export function familyTrainConfig(family: TextFamily): TrainConfig {
  const c = defaultTrainConfig();
  if (family === 'lstm') Object.assign(c, { batchSize: 32, lr: 2e-3, minLr: 1e-4, warmupSteps: 0, optimizer: 'adam', weightDecay: 0, gradClip: 5 });
  return c;
}

/** Splits `--set` pairs between the model's and the trainer's config; vocabSize comes from the data. */
export function applySets(model: TextModelConfig, train: TrainConfig, sets: string[]): { model: TextModelConfig; train: TrainConfig } {
  const mSets: string[] = [], tSets: string[] = [];
  for (const s of sets) {
    const key = s.split('=')[0].trim();
    if (key === 'vocabSize') throw new ConfigError('vocabSize is set by the data (the characters of --data)');
    if (key in model) mSets.push(s);
    else if (key in train) tSets.push(s);
    else {
      const valid = [...Object.keys(model).filter((k) => k !== 'vocabSize'), ...Object.keys(train)].sort();
      throw new ConfigError(`unknown --set key "${key}"; valid keys: ${valid.join(', ')}`);
    }
  }
  return { model: applyOverrides(model as Config, mSets, 'model') as TextModelConfig, train: applyOverrides(train, tSets, 'trainer') };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model: gpt or lstm on a UTF-8 text file, diffusion or vae on digit images')
    .argument('<family>', `model family: ${[...TEXT_FAMILIES, ...IMAGE_FAMILIES].join(' | ')}`)
    .requiredOption('--data <source>', 'text: a UTF-8 file (first 90% trains, last 10% validates); images: mnist, fashion or a directory of IDX files')
    .requiredOption('--out <dir>', 'run directory (checkpoint/, metrics.jsonl)')
    .option('--steps <n>', 'total optimizer steps', int('--steps', 1))
    .option('--seed <n>', 'seed of weights and batches', int('--seed', 0))
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--set <key=value>', 'override a model or trainer config key (repeatable)', collect, [])
    .option('--quiet', 'no progress output')
    .action(action(async (family: string, o: { data: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }) => {
      const all = [...TEXT_FAMILIES, ...IMAGE_FAMILIES];
      if (!(all as readonly string[]).includes(family)) throw new UserError(`unknown model family "${family}"; choose one of ${all.join(', ')}`);
      checkRunDir(o.out);
      await setup();
      if (!isTextFamily(family)) return trainImage(family as ImageFamily, o);
      const ckDir = join(o.out, 'checkpoint');
      if (o.resume) {
        if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
        const loaded = loadTextModel(o.out);
        const { model, tokenizer, checkpoint } = loaded;
        if (model.family !== family) throw new UserError(`--resume: ${o.out} holds a ${model.family} model, not ${family}`);
        const saved = checkpoint.meta.train as TrainConfig;
        const { train: cfg } = applySets(model.config as TextModelConfig, { ...saved }, o.set.filter((s) => !(s.split('=')[0] in model.config)));
        if (o.set.some((s) => s.split('=')[0] in model.config)) throw new ConfigError('--resume keeps the model config; --set may change only trainer keys');
        if (o.steps !== undefined) cfg.steps = o.steps;
        if (o.seed !== undefined && o.seed !== saved.seed) throw new UserError('--resume continues the saved run; its seed cannot change');
        const corpus = loadCorpus(o.data, tokenizer);
        // A fine-tuning run resumes with its own trainable set and provenance.
        const { trainable, finetunedFrom, finetune } = checkpoint.meta as { trainable?: string[]; finetunedFrom?: string; finetune?: unknown };
        const extraMeta = trainable ? { trainable, finetunedFrom, finetune } : undefined;
        const task = textTask({ model, tokenizer, train: corpus.train, val: corpus.val, block: model.config.blockSize as number, trainable, extraMeta });
        process.stderr.write(`resuming ${family} from step ${checkpoint.meta.step} of ${o.out}\n`);
        try {
          await runTraining(new Trainer(task, cfg, { outDir: o.out, resume: checkpoint, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
        } finally {
          disposeLoaded(loaded);
        }
        return;
      }
      if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
      const { tokenizer, text } = tokenizerFor(o.data);
      const base: TextModelConfig = { ...defaultTextConfig(family), vocabSize: tokenizer.vocabSize };
      const { model: mc, train: cfg } = applySets(base, familyTrainConfig(family), o.set);
      if (o.steps !== undefined) cfg.steps = o.steps;
      if (o.seed !== undefined) cfg.seed = o.seed;
      const ids = tokenizer.encode(text);
      const { train, val } = splitTrainVal(ids);
      const block = mc.blockSize as number;
      if (train.length < block + 1) throw new UserError(`${o.data} is too short: ${ids.length} characters for training windows of ${block + 1}`);
      const model = buildTextModel(family, mc, initTextWeights(family, mc, new Rng(cfg.seed)));
      process.stderr.write(`${family}: ${countParams(model.params).toLocaleString('en-US')} weights, vocabulary ${tokenizer.vocabSize}, ${train.length.toLocaleString('en-US')} training characters\n`);
      try {
        await runTraining(new Trainer(textTask({ model, tokenizer, train, val, block }), cfg, { outDir: o.out, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
      } finally {
        model.dispose();
      }
    }));
}
