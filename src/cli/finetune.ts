import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';
import { Gpt } from '../models/gpt.js';
import { Lstm, growLstm, type Growth, type LstmConfig } from '../models/lstm.js';
import type { TextFamily, TextModelConfig } from '../models/registry.js';
import type { TextModel } from '../models/types.js';
import { checkTextTraining } from '../models/memory.js';
import { countParams } from '../nn/layers.js';
import { disposeLoaded, loadTextModel } from '../pipelines/text.js';
import { createProgress } from '../train/progress.js';
import { textTask } from '../train/textTask.js';
import { Trainer, type TrainConfig } from '../train/trainer.js';
import { Rng } from '../util/rng.js';
import { action, collect, commandLine, int, setup, checkRunDir } from './common.js';
import { overlaps } from '../util/files.js';
import { loadCorpus } from './textData.js';
import { runTraining } from './runTraining.js';
import { familyTrainConfig, textRunConfigs } from './train.js';

/** Fine-tuning starts from the family's recipe with a shorter run and a lower peak rate. */
function finetuneTrainConfig(model: TextModel): TrainConfig {
  const c = familyTrainConfig(model.family);
  return { ...c, steps: 500, lr: c.lr / 3, minLr: c.lr / 30, warmupSteps: 20, evalEvery: 100, checkpointEvery: 100 };
}

function parseGrowth(specs: string[]): Growth {
  const g: Growth = {};
  for (const s of specs) {
    const m = /^(layers|hidden)=(\d+)$/.exec(s.trim());
    if (!m) throw new UserError(`--grow takes layers=N or hidden=H, got "${s}"`);
    g[m[1] as 'layers' | 'hidden'] = Number(m[2]);
  }
  return g;
}

export function registerFinetune(program: Command): void {
  program
    .command('finetune')
    .description('fine-tune a trained text model on a new corpus: the output layer only (head) or everything (all)')
    .argument('<dir>', 'run or checkpoint directory of the trained model')
    .requiredOption('--data <file>', 'UTF-8 text of the new corpus (first 90% trains, last 10% validates)')
    .requiredOption('--out <dir>', 'run directory for the fine-tuned model')
    .requiredOption('--train <part>', 'head: train only the output layer(s), everything below frozen; all: train every weight')
    .option('--steps <n>', 'optimizer steps (default 500)', int('--steps', 1))
    .option('--grow <spec>', 'LSTM only: layers=N adds recurrent layers on top, hidden=H widens them (repeatable)', collect, [])
    .option('--drop-unknown', "remove characters outside the model's vocabulary from the corpus instead of failing")
    .option('--seed <n>', 'seed of batches (and of grown weights)', int('--seed', 0))
    .option('--set <key=value>', 'override a trainer config key (repeatable)', collect, [])
    .option('--quiet', 'no progress output')
    .action(action(async (dir: string, o: { data: string; out: string; train: string; steps?: number; grow: string[]; dropUnknown?: boolean; seed?: number; set: string[]; quiet?: boolean }) => {
      if (o.train !== 'head' && o.train !== 'all') throw new UserError(`--train must be head or all, got "${o.train}"`);
      checkRunDir(o.out);
      if (overlaps(o.out, dir)) throw new UserError(`--out ${o.out} overlaps the input ${dir}; fine-tuning writes a new run`);
      if (existsSync(join(o.out, 'checkpoint'))) throw new UserError(`${o.out} already holds a checkpoint; choose another --out (or continue it with \`genlab train <family> --resume\`)`);
      const growth = parseGrowth(o.grow);
      const growing = growth.layers !== undefined || growth.hidden !== undefined;
      await setup();
      const loaded = loadTextModel(dir);
      let model: TextModel = loaded.model;
      const { tokenizer } = loaded;
      try {
        const corpus = loadCorpus(o.data, tokenizer, o.dropUnknown);
        if (corpus.dropped) process.stderr.write(`dropped ${corpus.dropped} character(s) outside the vocabulary\n`);
        const { train: cfg } = textRunConfigs(model.family as TextFamily, model.config as TextModelConfig, finetuneTrainConfig(model), o.set, 'finetune keeps the model config; --set may change only trainer keys (use --grow to change an LSTM)');
        checkTextTraining(model.family as TextFamily, model.config as TextModelConfig, cfg.batchSize);
        if (o.steps !== undefined) cfg.steps = o.steps;
        if (o.seed !== undefined) cfg.seed = o.seed;
        let added: string[] = [];
        if (growing) {
          if (!(model instanceof Lstm)) throw new UserError('--grow applies to LSTM/GRU models only');
          if (growth.hidden !== undefined && growth.hidden !== model.config.hidden && o.train === 'head') {
            throw new UserError('--grow hidden=H changes every recurrent layer; use it with --train all');
          }
          const lc = model.config as LstmConfig;
          checkTextTraining('lstm', { ...lc, hidden: growth.hidden ?? lc.hidden, layers: growth.layers ?? lc.layers }, cfg.batchSize);
          const weights = new Map<string, tf.Tensor>(model.params);
          const g = growLstm(model.config as LstmConfig, weights, growth, new Rng(cfg.seed ^ 0x9e3779b9));
          model.dispose();
          model = loaded.model = new Lstm(g.config, g.weights);
          added = g.added;
          process.stderr.write(`grew the ${g.config.cell} to ${g.config.layers} layer(s) of ${g.config.hidden}\n`);
        }
        if (o.train === 'head' && model instanceof Gpt) model.untieHead();
        const trainable = o.train === 'all' ? [...model.params.keys()] : [...added, ...model.headNames()];
        const total = countParams(model.params);
        const nTrain = trainable.reduce((s, n) => s + model.params.get(n)!.size, 0);
        process.stderr.write(`trainable weights: ${nTrain.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} (${o.train}${added.length ? ' + new layers' : ''})\n`);
        const block = model.config.blockSize as number;
        const task = textTask({
          model, tokenizer, train: corpus.train, val: corpus.val, block, trainable,
          extraMeta: { trainable, finetunedFrom: loaded.dir, finetune: { train: o.train, grow: growth } },
        });
        if (corpus.train.length < block + 1) throw new UserError(`${o.data} is too short for training windows of ${block + 1} characters`);
        const trainer = new Trainer(task, cfg, { outDir: o.out, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) });
        await runTraining(trainer);
      } finally {
        disposeLoaded(loaded);
      }
    }));
}
