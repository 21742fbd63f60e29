// `genlab rl CLIP_DIR --reward judge --out DIR2` for the generators that read the text encoder's
// heads one-hot (the latent GAN, sprite diffusion with --set method=reading): the encoder's reading
// fine-tuned by a policy gradient toward the clip judge (src/rl/clipReading.ts), the generator
// frozen. At the end policy and reference make clips as `genlab generate` does (the heads' argmax)
// and are judged: rl-eval.json.
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeMap, loadCheckpoint, resolveCheckpointDir, type CheckpointData } from '../checkpoint/checkpoint.js';
import { isHeldOutPair, type ObjectAttributes } from '../data/clips/world.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../diffusion/schedules.js';
import type { Classifier } from '../models/classifier.js';
import { checkGenerateOptions, clipGeneratorFrom, type LoadedClipGenerator } from '../pipelines/clipEngine.js';
import { loadImageModel } from '../pipelines/images.js';
import { clipReadingTask, greedyReading, headProbs, readingKl, readsHeadsHard, renderReading, type ReadingGenerator, type ReadingSampling } from '../rl/clipReading.js';
import { createProgress } from '../train/progress.js';
import { resolveRunConfigs } from '../train/runConfig.js';
import { defaultTrainConfig, Trainer, type TrainConfig } from '../train/trainer.js';
import { Type } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { Rng } from '../util/rng.js';
import { commandLine } from './common.js';
import { applyRunFlags, drawPrompt, judgeReward, referenceMeta, type ClipRlFlags } from './rlClips.js';
import { runTraining } from './runTraining.js';

/** The KL coefficient the shipped run used (README: the GAN's reading RL). */
export const DEFAULT_READING_KL = 0.1;

/** Adam at a constant 1e-4 on the encoder and its heads, 32 clips a step (8 prompts 4 times), 300 steps. */
export function readingRlTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', steps: 300, batchSize: 32, lr: 1e-4, minLr: 1e-4, warmupSteps: 0, weightDecay: 0, gradClip: 1, emaDecay: 0, evalEvery: 0, checkpointEvery: 25, logEvery: 1 };
}

const ReadingRlSchema = Type.Object({
  method: Type.Literal('reading'),
  temperature: Type.Number({ minimum: 0.5, maximum: 10, description: "the heads' softmax temperature while sampling readings (above 1 explores more)" }),
  perPrompt: Type.Integer({ minimum: 2, maximum: 64, description: 'readings of each prompt in a batch (the rewards are normalised within them)' }),
  heldOut: Type.Number({ minimum: 0, maximum: 1, description: 'share of training prompts with a held-out digit-direction pair (drawn uniformly: 0.25)' }),
}, { additionalProperties: false });
const defaultReadingRl = () => ({ method: 'reading' as const, temperature: 2, perPrompt: 4, heldOut: 0.5 });

export interface SavedReadingRl { method: 'reading'; reference: string; reward: { name: 'judge'; classifier: string }; kl: number; temperature: number; perPrompt: number; heldOut: number }

/** The loaded generator as a reading policy, or a UserError naming what it reads instead. */
function asReadingGenerator(g: LoadedClipGenerator, label: string): ReadingGenerator {
  const m = g.model as ReadingGenerator;
  const oneHot = g.kind === 'diffusion' ? (g.meta.model as { arch?: unknown }).arch === 'sprite' && readsHeadsHard(m) : readsHeadsHard(m);
  if (!oneHot) {
    throw new UserError(`${label} does not read the text encoder's heads one-hot (reading RL needs a generator that reads them so: the latent GAN, a VAE on the heads, or sprite diffusion)`);
  }
  return m;
}

export async function runClipReadingRl(dir: string, ref0: CheckpointData, o: ClipRlFlags): Promise<void> {
  const refDir = resolve(resolveCheckpointDir(dir));
  const own: CheckpointData[] = [], models: ReadingGenerator[] = [], disposers: (() => void)[] = [];
  try {
    const refWeights = ref0.ema ?? ref0.weights;
    if (ref0.ema) disposeMap(ref0.weights);
    disposeMap(ref0.optimizer);
    const refG = clipGeneratorFrom(ref0.meta, refWeights, refDir);
    models.push(refG.model as ReadingGenerator);
    const ref = asReadingGenerator(refG, dir);
    const run = o.resume ? loadCheckpoint(resolveCheckpointDir(o.out)) : undefined;
    if (run) {
      own.push(run);
      if (run.ema) disposeMap(run.ema);
    }
    const saved = (run?.meta as { rl?: SavedReadingRl } | undefined)?.rl;
    if (run && saved?.method !== 'reading') throw new UserError(`--resume: ${o.out} is not a reading RL run (its checkpoint has no such rl record)`);
    if (saved && resolve(saved.reference) !== resolve(refDir)) throw new UserError(`--resume: the run's reference model is ${saved.reference}, not ${refDir}`);
    if (saved && o.kl !== undefined && o.kl !== saved.kl) throw new UserError(`--resume keeps the run's --kl (${saved.kl})`);
    const classifier = resolve(saved ? saved.reward.classifier : o.classifier);
    if (saved && o.classifierGiven && resolve(o.classifier) !== classifier) throw new UserError(`--resume keeps the run's judge (--classifier ${saved.reward.classifier})`);
    const start = run ? run.weights : Object.fromEntries([...ref.params].map(([k, v]) => [k, tf.clone(v)]));
    const policyG = clipGeneratorFrom(run?.meta ?? ref0.meta, start, run ? o.out : refDir);
    models.push(policyG.model as ReadingGenerator);
    const policy = asReadingGenerator(policyG, o.out);
    const sets = o.set.map((s) => s.split('=')[0].trim());
    const cfgs = resolveRunConfigs({
      modelSchema: Type.Object({}, { additionalProperties: false }), model: {},
      train: run ? { ...readingRlTrainConfig(), ...(run.meta.train as Partial<TrainConfig>) } : readingRlTrainConfig(),
      taskSchema: ReadingRlSchema, task: saved ? { method: 'reading' as const, temperature: saved.temperature, perPrompt: saved.perPrompt, heldOut: saved.heldOut } : defaultReadingRl(), sets: o.set,
    });
    if (saved && sets.some((k) => k in ReadingRlSchema.properties && k !== 'method')) throw new UserError("--resume keeps the run's settings (temperature, perPrompt, heldOut); --set may change only trainer keys");
    const cfg = applyRunFlags(cfgs.train, cfgs.task.perPrompt, o, run !== undefined);
    const gen = checkGenerateOptions(refG, {});
    const sampling: ReadingSampling = refG.kind === 'diffusion' ? { schedule: scheduleFrom(ref0.meta.schedule ?? DEFAULT_SCHEDULE), steps: gen.steps, guidance: gen.guidance } : {};
    const clfModel = loadImageModel(classifier, ['classifier']), clf = clfModel.model as Classifier;
    disposers.push(() => clf.dispose());
    const kl = saved?.kl ?? o.kl ?? DEFAULT_READING_KL;
    const rl: SavedReadingRl = { method: 'reading', reference: refDir, reward: { name: 'judge', classifier }, kl, temperature: cfgs.task.temperature, perPrompt: cfgs.task.perPrompt, heldOut: cfgs.task.heldOut };
    const asked = new Map<string, ObjectAttributes>();
    const task = clipReadingTask({
      policy, reference: kl > 0 ? ref : undefined, kl, temperature: cfgs.task.temperature, perPrompt: cfgs.task.perPrompt, ...sampling,
      prompts: (rng, n) => {
        const ps = Array.from({ length: n }, () => drawPrompt(rng, cfgs.task.heldOut));
        const keys = ps.map((p) => { const k = JSON.stringify(p.attributes); asked.set(k, p.attributes); return k; });
        return { texts: ps.map((p) => p.text), keys };
      },
      reward: (frames, keys) => judgeReward(clf, frames, keys.map((k) => asked.get(k)!)),
      meta: { ...referenceMeta(ref0.meta as unknown as Record<string, unknown>), rl, finetunedFrom: refDir },
    });
    process.stderr.write((run ? `resuming rl from step ${run.meta.step} of ${o.out}` : `rl: the ${refG.kind}'s reading of the words (policy gradient on the text encoder and its heads), reward: the judge's share of attributes right, kl ${kl}, ${cfg.batchSize} clips a batch (${cfgs.task.perPrompt} readings of each prompt at temperature ${cfgs.task.temperature})`) + '\n');
    await runTraining(new Trainer(task, cfg, { outDir: o.out, resume: run, command: commandLine(), progress: createProgress({ every: cfg.logEvery, quiet: o.quiet }) }));
    if (process.exitCode === 130) return;
    // measured as generate makes clips: the heads' argmax, the checkpoint's sampling settings
    const measure = (m: ReadingGenerator) => {
      const rng = new Rng(cfg.seed ^ 0xe7a1), ps = Array.from({ length: o.evalSamples }, () => drawPrompt(rng));
      let reward = 0, exact = 0, heldOut = 0, heldOutExact = 0;
      for (const p of ps) {
        const j = judgeReward(clf, renderReading(m, greedyReading(m, [p.text]), rng, sampling), [p.attributes]);
        reward += j.reward[0] / ps.length;
        exact += j.exact / ps.length;
        if (isHeldOutPair(p.attributes.digit, p.attributes.direction)) { heldOut += 1; heldOutExact += j.exact; }
      }
      return { prompts: ps.length, reward, exact, heldOutPrompts: heldOut, heldOutExact: heldOut ? heldOutExact / heldOut : null };
    };
    const before = measure(ref), after = measure(policy);
    // guidance's empty prompt is read by the same encoder, which RL moved (no KL term holds it): how far
    const emptyTextKl = readingKl(headProbs(policy, ['']), headProbs(ref, ['']));
    const report = { method: 'reading', reward: 'judge', kl, steps: cfg.steps, note: 'prompts from the training caption grammar; RL trained on every digit-direction pair, held-out ones included (eval-clips phrases prompts anew)', before, after, emptyTextKl };
    writeFileAtomic(join(o.out, 'rl-eval.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
    process.stdout.write(JSON.stringify({ out: o.out, method: 'reading', reward: 'judge', kl, before, after }) + '\n');
  } finally {
    for (const m of models) m.dispose();
    for (const c of own) disposeMap(c.optimizer);
    for (const d of disposers) d();
  }
}
