// `genlab rl DIR --reward NAME --out DIR2`: policy-gradient fine-tuning of a trained GPT or LSTM
// toward a reward, on a KL leash to the model in DIR (src/rl/). The run resumes like any training
// run; at the end the policy and the reference are both sampled and measured (rl-eval.json).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadCheckpoint, readCheckpointMeta, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { countParams } from '../nn/layers.js';
import type { TextFamily, TextModelConfig } from '../models/registry.js';
import { disposeLoaded, loadTextModel, type LoadedTextModel } from '../pipelines/text.js';
import { rhymeReward, styleReward, wordFrequencyReward, type Reward } from '../rl/rewards.js';
import { evaluateTextRl, textRlTask, type TextRlEvaluation } from '../rl/textRl.js';
import { createProgress } from '../train/progress.js';
import { defaultTrainConfig, Trainer, type TrainConfig } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { overlaps, readUserFile, writeFileAtomic } from '../util/files.js';
import { Rng } from '../util/rng.js';
import { action, checkRunDir, collect, commandLine, int, num, setup } from './common.js';
import { runTraining } from './runTraining.js';
import { runClipRl } from './rlClips.js';
import { DEFAULT_READING_KL, runClipReadingRl } from './rlReading.js';

const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

/** The family of the checkpoint in dir; a UserError when there is none. */
function readFamily(dir: string): string {
  const d = resolveCheckpointDir(dir);
  if (!existsSync(d)) throw new UserError(`no checkpoint at ${dir}`);
  try {
    return readCheckpointMeta(d).family;
  } catch (e) {
    throw new UserError(`${dir}: ${(e as Error).message}`);
  }
}
import { textRunConfigs } from './train.js';

/** RL's recipe: Adam at a constant 5e-5 (well below pre-training's, as InstructGPT's), 16 samples a step, no weight decay. */
export function rlTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', steps: 200, batchSize: 16, lr: 5e-5, minLr: 5e-5, warmupSteps: 0, weightDecay: 0, gradClip: 1, emaDecay: 0, evalEvery: 0, checkpointEvery: 25, logEvery: 1 };
}

/** The KL coefficient this project's measurements chose (bench/rl.ts; TRL's default is 0.05). */
export const DEFAULT_KL = 0.05;
export const REWARDS = ['word:WORD', 'rhyme', 'style', 'judge'] as const;

interface RewardSpec { name: string; toward?: { path: string; sha256: string }; away?: { path: string; sha256: string } }

function buildReward(spec: string, toward: string | undefined, away: string | undefined): { reward: Reward; saved: RewardSpec; note?: string } {
  if (spec.startsWith('word:')) {
    try {
      return { reward: wordFrequencyReward(spec.slice(5)), saved: { name: spec } };
    } catch (e) {
      throw new UserError(`--reward ${spec}: ${(e as Error).message}`);
    }
  }
  if (spec === 'rhyme') return { reward: rhymeReward(), saved: { name: spec } };
  if (spec === 'style') {
    if (!toward || !away) throw new UserError('--reward style needs --toward FILE (the style to move to) and --away FILE (the style to move from): two UTF-8 corpora');
    const read = (p: string) => { const b = readUserFile(p); return { text: b.toString('utf8'), saved: { path: resolve(p), sha256: createHash('sha256').update(b).digest('hex') } }; };
    const a = read(toward), b = read(away);
    let r;
    try {
      r = styleReward(a.text, b.text);
    } catch (e) {
      throw new UserError(`--reward style: ${(e as Error).message}`);
    }
    return { reward: r, saved: { name: spec, toward: a.saved, away: b.saved }, note: `style classifier: ${r.trigrams.toLocaleString('en-US')} trigrams, ${(r.heldOutAccuracy * 100).toFixed(1)}% right on held-out 200-character windows` };
  }
  throw new UserError(`--reward must be one of ${REWARDS.join(', ')}, got "${spec}"`);
}

interface RlFlags { classifier: string; reward?: string; toward?: string; away?: string; out: string; kl?: number; steps?: number; tokens?: number; prompt?: string; seed?: number; set: string[]; resume?: boolean; quiet?: boolean; evalSamples: number }
interface SavedRl { reference: string; reward: RewardSpec; kl: number; tokens: number; prompt: string }

export function registerRl(program: Command): void {
  program
    .command('rl')
    .description(`fine-tune a trained GPT or LSTM toward a reward with REINFORCE (baseline: the batch mean, normalised), on a KL leash to the model in DIR; or a clip generator toward the clip judge: DDPO over a diffusion model's denoising chain, or (the GAN's; --set method=reading for sprite diffusion) a policy gradient on the text encoder's reading of the words`)
    .argument('<dir>', 'run or checkpoint directory of the trained text model or clip generator (the policy starts here and the KL is measured to it)')
    .option('--reward <name>', `text: word:WORD (share of words that are WORD), rhyme (adjacent lines whose last words rhyme), style (a classifier's log-odds of --toward over --away); clips: judge (the share of the prompt's attributes the clip judge reads back)`)
    .option('--classifier <dir>', "judge: the judge's digit classifier", join(MODELS_DIR, 'digits-classifier'))
    .option('--toward <file>', 'style: a UTF-8 corpus of the style to move toward')
    .option('--away <file>', 'style: a UTF-8 corpus of the style to move away from')
    .requiredOption('--out <dir>', 'run directory for the fine-tuned model')
    .option('--kl <c>', `KL coefficient (default ${DEFAULT_KL} for text, 0 for DDPO, ${DEFAULT_READING_KL} for the reading of a clip generator)`, num('--kl'))
    .option('--steps <n>', 'optimizer steps (default 200)', int('--steps', 1))
    .option('--tokens <n>', 'characters generated per sample (default 64)', int('--tokens', 1))
    .option('--prompt <text>', 'text every sample continues (default: none, the first character of the vocabulary)')
    .option('--seed <n>', 'seed of the samples', int('--seed', 0))
    .option('--eval-samples <n>', 'samples of policy and reference measured at the end', int('--eval-samples', 1), 64)
    .option('--set <key=value>', 'override a trainer config key, e.g. batchSize=32 or lr=1e-4 (repeatable)', collect, [])
    .option('--resume', 'continue the run in --out')
    .option('--quiet', 'no progress output')
    .action(action(async (dir: string, o: RlFlags) => {
      checkRunDir(o.out);
      if (overlaps(o.out, dir)) throw new UserError(`--out ${o.out} overlaps the input ${dir}; RL writes a new run`);
      if (o.kl !== undefined && (!Number.isFinite(o.kl) || o.kl < 0)) throw new UserError(`--kl must be a number of 0 or more, got ${o.kl}`);
      const ck = join(o.out, 'checkpoint');
      if (o.resume && !existsSync(ck)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
      if (!o.resume && existsSync(ck)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
      if (!o.resume && !o.reward) throw new UserError(`--reward is required: ${REWARDS.join(', ')}`);
      await setup();
      const family = readFamily(dir);
      if (family === 'clip-diffusion' || family === 'clip-gan' || family === 'clip-vae') {
        const what = family;
        if (o.reward !== undefined && o.reward !== 'judge') throw new UserError(`${dir} holds a ${what} model; its reward is judge, not "${o.reward}"`);
        if (!o.resume && o.reward === undefined) throw new UserError(`--reward is required: judge (for a ${what} model)`);
        for (const [flag, v] of [['--tokens', o.tokens], ['--prompt', o.prompt], ['--toward', o.toward], ['--away', o.away]] as const) if (v !== undefined) throw new UserError(`${flag} is for text models; ${dir} holds a ${what} model`);
        if (!existsSync(o.classifier)) throw new UserError(`--classifier: no checkpoint at ${o.classifier}`);
        // DDPO over the denoising chain (diffusion's default), or the policy gradient on the encoder's reading (the one-pass generators'; --set method=reading for sprite diffusion)
        const methods = o.set.filter((x) => x.split('=')[0].trim() === 'method').map((x) => x.slice(x.indexOf('=') + 1).trim());
        const savedRl = o.resume && existsSync(ck) ? (readCheckpointMeta(ck) as { rl?: { method?: string } }).rl : undefined;
        // a DDPO run of before this session has no method; a run without an rl record is refused by the runner
        const savedMethod = savedRl ? savedRl.method ?? 'ddpo' : undefined;
        const method = savedMethod ?? methods.at(-1) ?? (family === 'clip-diffusion' ? 'ddpo' : 'reading');
        if (!['ddpo', 'reading'].includes(method)) throw new UserError(`--set method must be ddpo or reading, got "${method}"`);
        if (savedMethod && methods.length && methods.at(-1) !== savedMethod) throw new UserError(`--resume keeps the run's method (${savedMethod})`);
        if (method === 'ddpo' && family !== 'clip-diffusion') throw new UserError(`DDPO fine-tunes a diffusion model's denoising chain; ${dir} holds a ${what} model (its RL is method=reading)`);
        const flags = { ...o, set: o.set.filter((x) => x.split('=')[0].trim() !== 'method' || method === 'reading'), classifierGiven: resolve(o.classifier) !== resolve(MODELS_DIR, 'digits-classifier') };
        if (method === 'reading') await runClipReadingRl(dir, loadCheckpoint(resolveCheckpointDir(dir)), flags);
        else await runClipRl(dir, loadCheckpoint(resolveCheckpointDir(dir)), flags);
        return;
      }
      if (o.reward === 'judge') throw new UserError('--reward judge is for a clip generator; text models take word:WORD, rhyme or style');
      const loaded: LoadedTextModel[] = [];
      try {
        const ref = loaded[loaded.push(loadTextModel(dir)) - 1];
        const policy = loaded[loaded.push(loadTextModel(o.resume ? o.out : dir)) - 1];
        let saved: SavedRl | undefined;
        if (o.resume) {
          saved = (policy.checkpoint.meta as { rl?: SavedRl }).rl;
          if (!saved) throw new UserError(`--resume: ${o.out} is not an RL run (its checkpoint has no rl record)`);
          if (resolve(saved.reference) !== resolve(ref.dir)) throw new UserError(`--resume: the run's reference model is ${saved.reference}, not ${ref.dir}`);
          for (const [flag, mine, theirs] of [['--kl', o.kl, saved.kl], ['--tokens', o.tokens, saved.tokens], ['--prompt', o.prompt, saved.prompt], ['--reward', o.reward, saved.reward.name]] as const) {
            if (mine !== undefined && mine !== theirs) throw new UserError(`--resume keeps the run's ${flag} (${JSON.stringify(theirs)})`);
          }
        }
        if (ref.tokenizer.chars.join('') !== policy.tokenizer.chars.join('')) throw new UserError(`the run in ${o.out} has another vocabulary than ${dir}`);
        const rewardName = saved?.reward.name ?? o.reward!;
        const { reward, saved: rewardSaved, note } = buildReward(rewardName, o.toward ?? saved?.reward.toward?.path, o.away ?? saved?.reward.away?.path);
        if (saved?.reward.toward && rewardSaved.toward?.sha256 !== saved.reward.toward.sha256) throw new UserError(`--resume: ${rewardSaved.toward?.path} is not the corpus the run's style reward was trained on`);
        if (saved?.reward.away && rewardSaved.away?.sha256 !== saved.reward.away.sha256) throw new UserError(`--resume: ${rewardSaved.away?.path} is not the corpus the run's style reward was trained on`);
        const kl = saved?.kl ?? o.kl ?? DEFAULT_KL, tokens = saved?.tokens ?? o.tokens ?? 64, prompt = saved?.prompt ?? o.prompt ?? '';
        const unknown = ref.tokenizer.unknown(prompt);
        if (unknown.length) throw new UserError(`--prompt has characters outside the model's vocabulary: ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
        const mc = policy.model.config as TextModelConfig, block = mc.blockSize as number, P = Math.max(1, prompt.length);
        if (policy.model.family === 'gpt' && P + tokens - 1 > block) throw new UserError(`--prompt and --tokens make ${P + tokens - 1} positions; the GPT reads at most ${block}`);
        const recipe = o.resume ? { ...rlTrainConfig(), ...(policy.checkpoint.meta.train as Partial<TrainConfig>) } : rlTrainConfig();
        const { train: cfg } = textRunConfigs(policy.model.family as TextFamily, mc, recipe, o.set, 'rl keeps the model; --set may change only trainer keys');
        if (o.steps !== undefined) cfg.steps = o.steps;
        if (o.seed !== undefined) {
          if (o.resume && o.seed !== cfg.seed) throw new UserError('--resume continues the saved run; its seed cannot change');
          cfg.seed = o.seed;
        }
        if (note) process.stderr.write(note + '\n');
        const rl: SavedRl = { reference: ref.dir, reward: rewardSaved, kl, tokens, prompt };
        const task = textRlTask({ policy: policy.model, reference: ref.model, tokenizer: policy.tokenizer, prompt, tokens, reward, kl, extraMeta: { rl, finetunedFrom: ref.dir } });
        process.stderr.write((o.resume ? `resuming rl from step ${policy.checkpoint.meta.step} of ${o.out}` : `rl: ${policy.model.family}, ${countParams(policy.model.params).toLocaleString('en-US')} weights, reward ${reward.name}, kl ${kl}, ${cfg.batchSize} samples of ${tokens} characters a step`) + '\n');
        await runTraining(new Trainer(task, cfg, { outDir: o.out, resume: o.resume ? policy.checkpoint : undefined, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
        if (process.exitCode === 130) return; // interrupted: saved, nothing measured
        const measure = (m: LoadedTextModel): TextRlEvaluation => evaluateTextRl({ policy: m.model, reference: ref.model, tokenizer: ref.tokenizer, prompt, tokens, reward }, o.evalSamples, new Rng(cfg.seed ^ 0xe7a1));
        const before = measure(ref), after = measure(policy);
        const report = { reward: reward.name, kl, steps: cfg.steps, before, after };
        writeFileAtomic(join(o.out, 'rl-eval.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
        const brief = (e: TextRlEvaluation) => ({ reward: +e.reward.toFixed(4), kl: +e.kl.toFixed(3), distinct2: +e.distinct2.toFixed(3), sample: e.texts[0] });
        process.stdout.write(JSON.stringify({ out: o.out, reward: reward.name, kl, before: brief(before), after: brief(after) }) + '\n');
      } finally {
        for (const l of loaded) disposeLoaded(l);
      }
    }));
}
