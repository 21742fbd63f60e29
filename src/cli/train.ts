import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { splitTrainVal } from '../data/text.js';
import { buildTextModel, defaultTextConfig, initTextWeights, isTextFamily, TEXT_FAMILIES, type TextFamily, type TextModelConfig } from '../models/registry.js';
import { checkTextTraining } from '../models/memory.js';
import { countParams } from '../nn/layers.js';
import { disposeLoaded, loadTextModel } from '../pipelines/text.js';
import { createProgress } from '../train/progress.js';
import { textTask } from '../train/textTask.js';
import { Trainer, defaultTrainConfig, type TrainConfig } from '../train/trainer.js';
import type { TObject } from 'typebox';
import { GptConfigSchema } from '../models/gpt.js';
import { LstmConfigSchema } from '../models/lstm.js';
import { resolveRunConfigs, savedRunConfigs } from '../train/runConfig.js';
import { Type } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { action, checkRunDir, collect, commandLine, int, setup } from './common.js';
import { loadCorpus, tokenizerFor } from './textData.js';
import { runTraining } from './runTraining.js';
import { IMAGE_FAMILIES, trainImage, type ImageFamily } from './trainImage.js';
import { CLIP_FAMILIES, type ClipFamily } from '../train/clipRun.js';
import { trainTranslator } from './translate.js';
import { trainRunDir } from './runTraining.js';
import { prepareCaptionerRun } from '../train/captionerRun.js';
import { prepareAcousticRun } from '../train/acousticRun.js';
import { prepareSummariserRun } from '../train/summariserRun.js';
import { trainClip } from './trainClip.js';

/** The trainer defaults of a family: nanoGPT's CPU recipe for gpt; Adam at 2e-3 for the LSTM (BENCHMARKS.md). */
export function familyTrainConfig(family: TextFamily): TrainConfig {
  const c = defaultTrainConfig();
  if (family === 'lstm') Object.assign(c, { batchSize: 32, lr: 2e-3, minLr: 1e-4, warmupSteps: 0, optimizer: 'adam', weightDecay: 0, gradClip: 5 });
  return c;
}

const NO_TASK = Type.Object({}, { additionalProperties: false });

/** The configs of a text run: a fresh one from the defaults and --set, or (resume, finetune) the model's own config kept as it is. */
export function textRunConfigs(family: TextFamily, model: TextModelConfig, train: TrainConfig, sets: readonly string[], frozen?: string): { model: TextModelConfig; train: TrainConfig } {
  const schema = family === 'gpt' ? GptConfigSchema : LstmConfigSchema;
  const r = resolveRunConfigs({
    modelSchema: schema as TObject, model: model as Record<string, unknown>, modelFrozen: frozen,
    modelFixed: { vocabSize: 'vocabSize is set by the data (the characters of --data)', ...(family === 'gpt' ? { untiedHead: 'untiedHead is set by head fine-tuning' } : {}) },
    train, taskSchema: NO_TASK, task: {}, sets,
  });
  return { model: r.model as TextModelConfig, train: r.train };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model: gpt or lstm on a UTF-8 text file; diffusion, gan, vae or classifier on digit images; frame-ae, clip-text, clip-diffusion, clip-gan or clip-vae on the clip world; translator on the prompt grammars; captioner on clips; voice on prompts spoken by espeak-ng; summariser on chatty descriptions')
    .argument('<family>', `model family: ${[...TEXT_FAMILIES, ...IMAGE_FAMILIES, ...CLIP_FAMILIES, 'translator', 'captioner', 'voice', 'summariser'].join(' | ')}`)
    .option('--data <source>', 'text: a UTF-8 file (first 90% trains, last 10% validates); images: mnist, fashion or a directory of IDX files; frame-ae: the clip world (no --data)')
    .requiredOption('--out <dir>', 'run directory (checkpoint/, metrics.jsonl)')
    .option('--steps <n>', 'total optimizer steps', int('--steps', 1))
    .option('--seed <n>', 'seed of weights and batches', int('--seed', 0))
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--set <key=value>', 'override a model or trainer config key (repeatable)', collect, [])
    .option('--quiet', 'no progress output')
    .option('--frame-ae <dir>', 'clip-diffusion: the frame autoencoder to work in (default: models/clips-frame-ae)')
    .option('--init <dir>', 'clip-diffusion, clip-gan: start a new run from this checkpoint\'s weights and model config (an exported model such as models/clips-diffusion, or a run; the GAN takes its generator and a fresh discriminator), fresh optimizer, step 0')
    .option('--text-encoder <dir>', 'clip-diffusion: a clip-text checkpoint whose encoder it reads, frozen; clip-gan, clip-vae: the clip-diffusion checkpoint whose text encoder, autoencoder and latent scale they use (default: models/clips-diffusion)')
    .action(action(async (family: string, o: { data?: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean; frameAe?: string; textEncoder?: string; init?: string }) => {
      const all = [...TEXT_FAMILIES, ...IMAGE_FAMILIES, ...CLIP_FAMILIES, 'translator', 'captioner', 'voice', 'summariser'];
      if (!(all as readonly string[]).includes(family)) throw new UserError(`unknown model family "${family}"; choose one of ${all.join(', ')}`);
      checkRunDir(o.out);
      if (o.init !== undefined && family !== 'clip-diffusion' && family !== 'clip-gan') throw new UserError(`--init is for clip-diffusion and clip-gan, not ${family}`);
      if (o.frameAe !== undefined && family !== 'clip-diffusion') throw new UserError(`--frame-ae is for clip-diffusion, not ${family}`);
      if (o.textEncoder !== undefined && family !== 'clip-diffusion' && family !== 'clip-gan' && family !== 'clip-vae') throw new UserError(`--text-encoder is for clip-diffusion, clip-gan and clip-vae, not ${family}`);
      if ((CLIP_FAMILIES as readonly string[]).includes(family)) {
        await setup();
        return trainClip(family as ClipFamily, o);
      }
      if (family === 'summariser') {
        if (o.data !== undefined) throw new UserError('the summariser trains on descriptions its grammar writes; it takes no --data');
        await setup();
        return trainRunDir(o, 'the summariser', (resume) => prepareSummariserRun({ sets: o.set, seed: o.seed, steps: o.steps, resume }));
      }
      if (family === 'voice') {
        if (o.data !== undefined) throw new UserError('the acoustic model trains on prompts that espeak-ng speaks; it takes no --data');
        await setup();
        const log = o.quiet ? undefined : (m: string) => process.stderr.write(m + '\n');
        return trainRunDir(o, 'the acoustic model', (resume) => prepareAcousticRun({ sets: o.set, seed: o.seed, steps: o.steps, resume, log }));
      }
      if (family === 'translator' || family === 'captioner') {
        if (o.data !== undefined) throw new UserError(`the ${family} trains on ${family === 'translator' ? 'pairs the prompt grammars make' : 'clips of the clip world'}; it takes no --data`);
        await setup();
        return family === 'translator' ? trainTranslator(o) : trainRunDir(o, 'the captioner', (resume) => prepareCaptionerRun({ sets: o.set, seed: o.seed, steps: o.steps, resume }));
      }
      if (o.data === undefined) throw new UserError(`--data is required for ${family}`);
      const data: string = o.data;
      await setup();
      if (!isTextFamily(family)) return trainImage(family as ImageFamily, { ...o, data });
      const ckDir = join(o.out, 'checkpoint');
      if (o.resume) {
        if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
        const loaded = loadTextModel(o.out);
        const { model, tokenizer, checkpoint } = loaded;
        if (model.family !== family) throw new UserError(`--resume: ${o.out} holds a ${model.family} model, not ${family}`);
        const saved = savedRunConfigs(checkpoint.meta as { train?: Record<string, unknown> }, familyTrainConfig(family), NO_TASK, {}).train;
        const { train: cfg } = textRunConfigs(family, model.config as TextModelConfig, saved, o.set, '--resume keeps the model config; --set may change only trainer keys');
        checkTextTraining(family, model.config as TextModelConfig, cfg.batchSize);
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
      const { model: mc, train: cfg } = textRunConfigs(family, base, familyTrainConfig(family), o.set);
      checkTextTraining(family, mc, cfg.batchSize); // before a weight is allocated
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
