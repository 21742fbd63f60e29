// `genlab rl CLIP_DIFFUSION_DIR --reward judge --out DIR2`: DDPO fine-tuning of the clip diffusion
// model (src/rl/clipDdpo.ts) toward the clip judge's agreement with the prompt (the share of its
// five attributes the judge reads back), prompts from the caption grammar over every
// digit-direction pair, the held-out ones included. At the end the policy and the reference are
// sampled as `genlab generate` does (DDIM, no noise) and judged: rl-eval.json.
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeMap, loadCheckpoint, resolveCheckpointDir, type CheckpointData } from '../checkpoint/checkpoint.js';
import { captionOmitting } from '../data/clips/captions.js';
import { parseText, resolveText } from '../data/clips/words.js';
import { randomAttributes } from '../data/speech.js';
import { ATTRIBUTE_NAMES, FRAMES, SIDE, isHeldOutPair, type ObjectAttributes } from '../data/clips/world.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../diffusion/schedules.js';
import { agreement, judgeClip } from '../eval/judge.js';
import type { Classifier } from '../models/classifier.js';
import { checkGenerateOptions, clipGeneratorFrom } from '../pipelines/clipEngine.js';
import { loadImageModel } from '../pipelines/images.js';
import { clipDdpoTask, decodeLatents, sampleTrajectories, type ClipDenoiser } from '../rl/clipDdpo.js';
import { createProgress } from '../train/progress.js';
import { resolveRunConfigs } from '../train/runConfig.js';
import { defaultTrainConfig, Trainer, type TrainConfig } from '../train/trainer.js';
import { Type } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Rng } from '../util/rng.js';
import { commandLine } from './common.js';
import { runTraining } from './runTraining.js';

/** DDPO's recipe here: Adam at a constant 1e-5 (full weights, not LoRA), 8 clips a step (4 prompts twice), 10 DDIM steps at eta 1. Not yet tuned by a measurement. */
export function clipRlTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', steps: 200, batchSize: 8, lr: 1e-5, minLr: 1e-5, warmupSteps: 0, weightDecay: 0, gradClip: 1, emaDecay: 0, evalEvery: 0, checkpointEvery: 20, logEvery: 1 };
}

const ClipRlSchema = Type.Object({
  ddimSteps: Type.Integer({ minimum: 2, maximum: 200, description: 'DDIM steps of a training trajectory (all but the last are actions)' }),
  eta: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: "DDIM's eta while training: the policy's noise" }),
  clip: Type.Number({ exclusiveMinimum: 0, description: "PPO's clip range (DDPO's 1e-4: the ratios of mean log-probabilities stay near 1)" }),
  perPrompt: Type.Integer({ minimum: 1, maximum: 64, description: 'samples of each prompt in a batch' }),
  accumulate: Type.Boolean({ description: "one update a batch, its timesteps' gradients averaged (DDPO's); false: one update a timestep, the later ones off-policy" }),
}, { additionalProperties: false });
const defaultClipRl = () => ({ ddimSteps: 10, eta: 1, clip: 1e-4, perPrompt: 2, accumulate: true });

export interface SavedClipRl { reference: string; reward: { name: 'judge'; classifier: string }; kl: number; ddimSteps: number; eta: number; clip: number; perPrompt: number; accumulate?: boolean }

/**
 * A prompt from the caption grammar: every digit-direction pair, held-out ones included; with
 * `heldOutShare`, a held-out pair that share of the time and a seen one otherwise.
 */
export function drawPrompt(rng: Rng, heldOutShare?: number): { text: string; attributes: ObjectAttributes } {
  let a = randomAttributes(rng);
  if (heldOutShare !== undefined) {
    const want = rng.next() < heldOutShare;
    while (isHeldOutPair(a.digit, a.direction) !== want) a = randomAttributes(rng);
  }
  return { text: resolveText(parseText(captionOmitting(a, [], rng)), 0).encoderText, attributes: a };
}

/** The judge's reward of each clip: the share of its prompt's attributes read back. */
export function judgeReward(clf: Classifier, frames: Float32Array, asked: readonly ObjectAttributes[]): { reward: Float32Array; exact: number } {
  const per = FRAMES * SIDE * SIDE * 3;
  let exact = 0;
  const reward = Float32Array.from(asked, (a, i) => {
    const ag = agreement(judgeClip(frames.subarray(i * per, (i + 1) * per), clf), a);
    exact += ag.exact ? 1 : 0;
    return ATTRIBUTE_NAMES.filter((k) => ag.perAttribute[k]).length / ATTRIBUTE_NAMES.length;
  });
  return { reward, exact: exact / asked.length };
}

/** What of the reference's config.json the fine-tuned run keeps (the model's world: schedule, sampling, data), not its run record. */
export function referenceMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const run = new Set(['train', 'task', 'step', 'metrics', 'command', 'commands', 'seed', 'trainSeconds', 'created', 'evaluation', 'exported', 'rl', 'finetunedFrom']);
  const kept = Object.fromEntries(Object.entries(meta).filter(([k]) => !run.has(k)));
  // the settings stay; the figures that chose them were the reference's
  if (kept.sampling && typeof kept.sampling === 'object') kept.sampling = Object.fromEntries(Object.entries(kept.sampling).filter(([k]) => k !== 'chosenBy'));
  return kept;
}

/** --steps and --seed on a clip RL run's trainer config (a resumed run keeps its seed); the batch must hold whole prompts. */
export function applyRunFlags(cfg: TrainConfig, perPrompt: number, o: { steps?: number; seed?: number }, resumed: boolean): TrainConfig {
  if (o.steps !== undefined) cfg.steps = o.steps;
  if (o.seed !== undefined) {
    if (resumed && o.seed !== cfg.seed) throw new UserError('--resume continues the saved run; its seed cannot change');
    cfg.seed = o.seed;
  }
  if (cfg.batchSize % perPrompt !== 0) throw new UserError(`batchSize ${cfg.batchSize} is not a multiple of perPrompt ${perPrompt}`);
  return cfg;
}

export interface ClipRlFlags { classifierGiven: boolean; out: string; kl?: number; steps?: number; seed?: number; set: string[]; resume?: boolean; quiet?: boolean; evalSamples: number; classifier: string }

export async function runClipRl(dir: string, ref0: CheckpointData, o: ClipRlFlags): Promise<void> {
  const refDir = resolve(resolveCheckpointDir(dir));
  const own: CheckpointData[] = [];
  const models: ClipDenoiser[] = [];
  const disposers: (() => void)[] = [];
  try {
    // the reference's sampling weights (its EMA where the run kept one); the policy starts from them or resumes its run
    const refWeights = ref0.ema ?? ref0.weights;
    if (ref0.ema) disposeMap(ref0.weights);
    disposeMap(ref0.optimizer);
    const ref = clipGeneratorFrom(ref0.meta, refWeights, refDir, 'diffusion');
    models.push(ref.model as ClipDenoiser);
    const run = o.resume ? loadCheckpoint(resolveCheckpointDir(o.out)) : undefined;
    if (run) {
      own.push(run);
      if (run.ema) disposeMap(run.ema);
    }
    const saved = (run?.meta as { rl?: SavedClipRl } | undefined)?.rl;
    if (run && !saved) throw new UserError(`--resume: ${o.out} is not an RL run (its checkpoint has no rl record)`);
    if (saved && resolve(saved.reference) !== resolve(refDir)) throw new UserError(`--resume: the run's reference model is ${saved.reference}, not ${refDir}`);
    if (saved && o.kl !== undefined && o.kl !== saved.kl) throw new UserError(`--resume keeps the run's --kl (${saved.kl})`);
    const classifier = resolve(saved ? saved.reward.classifier : o.classifier);
    if (saved && o.classifierGiven && resolve(o.classifier) !== classifier) throw new UserError(`--resume keeps the run's judge (--classifier ${saved.reward.classifier})`);
    const start = run ? run.weights : Object.fromEntries([...ref.model.params].map(([k, v]) => [k, tf.clone(v)]));
    const policy = clipGeneratorFrom(run?.meta ?? ref0.meta, start, run ? o.out : refDir, 'diffusion').model as ClipDenoiser;
    models.push(policy);
    const sets = o.set.map((s) => s.split('=')[0].trim());
    const cfgs = resolveRunConfigs({
      modelSchema: Type.Object({}, { additionalProperties: false }), model: {},
      train: run ? { ...clipRlTrainConfig(), ...(run.meta.train as Partial<TrainConfig>) } : clipRlTrainConfig(),
      taskSchema: ClipRlSchema, task: saved ? { ddimSteps: saved.ddimSteps, eta: saved.eta, clip: saved.clip, perPrompt: saved.perPrompt, accumulate: saved.accumulate ?? false } : defaultClipRl(), sets: o.set,
    });
    if (saved && sets.some((k) => k in ClipRlSchema.properties)) throw new UserError('--resume keeps the run\'s DDPO settings (ddimSteps, eta, clip, perPrompt, accumulate); --set may change only trainer keys');
    const cfg = applyRunFlags(cfgs.train, cfgs.task.perPrompt, o, run !== undefined);
    const { guidance } = checkGenerateOptions(ref, {});
    const schedule = scheduleFrom(ref0.meta.schedule ?? DEFAULT_SCHEDULE);
    const clfModel = loadImageModel(classifier, ['classifier']), clf = clfModel.model as Classifier;
    disposers.push(() => clf.dispose());
    const kl = saved?.kl ?? o.kl ?? 0;
    const rl: SavedClipRl = { reference: refDir, reward: { name: 'judge', classifier }, kl, ...cfgs.task };
    const asked = new Map<string, ObjectAttributes>();
    const task = clipDdpoTask({
      policy, reference: kl > 0 ? (ref.model as ClipDenoiser) : undefined, kl, schedule, guidance, steps: cfgs.task.ddimSteps, eta: cfgs.task.eta, clip: cfgs.task.clip, perPrompt: cfgs.task.perPrompt, accumulate: cfgs.task.accumulate,
      prompts: (rng, n) => {
        const ps = Array.from({ length: n }, () => drawPrompt(rng));
        // the key a reward is normalised by: the attributes asked for (one prompt's samples)
        const keys = ps.map((p) => { const k = JSON.stringify(p.attributes); asked.set(k, p.attributes); return k; });
        return { texts: ps.map((p) => p.text), keys };
      },
      reward: (frames, keys) => judgeReward(clf, frames, keys.map((k) => asked.get(k)!)).reward,
      meta: { ...referenceMeta(ref0.meta as unknown as Record<string, unknown>), rl, finetunedFrom: refDir },
    });
    process.stderr.write((run ? `resuming rl from step ${run.meta.step} of ${o.out}` : `rl: clip diffusion (DDPO), reward: the judge's share of attributes right, kl ${kl}, ${cfg.batchSize} clips of ${cfgs.task.ddimSteps} DDIM steps (eta ${cfgs.task.eta}, guidance ${guidance}) a batch`) + '\n');
    disposers.push(() => task.dispose());
    await runTraining(new Trainer(task, cfg, { outDir: o.out, resume: run, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
    if (process.exitCode === 130) return;
    // measured as generate samples: DDIM with no noise, the checkpoint's steps and guidance
    const { steps } = checkGenerateOptions(ref, {});
    const measure = (m: ClipDenoiser) => {
      const rng = new Rng(cfg.seed ^ 0xe7a1), ps = Array.from({ length: o.evalSamples }, () => drawPrompt(rng));
      let reward = 0, exact = 0, heldOut = 0, heldOutExact = 0;
      for (const p of ps) {
        const tr = sampleTrajectories(m, [p.text], { schedule, steps, eta: 0, guidance }, rng);
        const frames = tf.tidy(() => decodeLatents(m, tr.final).dataSync() as Float32Array);
        tr.final.dispose();
        const j = judgeReward(clf, frames, [p.attributes]);
        reward += j.reward[0] / ps.length;
        exact += j.exact / ps.length;
        if (isHeldOutPair(p.attributes.digit, p.attributes.direction)) { heldOut += 1; heldOutExact += j.exact; }
      }
      return { prompts: ps.length, reward, exact, heldOutPrompts: heldOut, heldOutExact: heldOut ? heldOutExact / heldOut : null };
    };
    const before = measure(ref.model as ClipDenoiser), after = measure(policy);
    // training draws every pair too, so held-out exact here is not generalisation (eval-clips' phrasings are new)
    const report = { reward: 'judge', kl, steps: cfg.steps, sampling: { steps, guidance }, note: 'prompts from the training caption grammar; RL trained on every digit-direction pair, held-out ones included', before, after };
    writeFileAtomic(join(o.out, 'rl-eval.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
    process.stdout.write(JSON.stringify({ out: o.out, reward: 'judge', kl, before, after }) + '\n');
  } finally {
    for (const m of models) m.dispose();
    for (const c of own) disposeMap(c.optimizer);
    for (const d of disposers) d();
  }
}
