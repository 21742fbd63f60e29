// Training the acoustic model on prompts that espeak-ng speaks (`genlab train voice`): a pool of
// synthesised utterances of the training templates in the training voices, with noise and level
// changes, of which `refresh` are replaced by new ones each step; validation on held-out templates
// in held-out accents and voice variants.
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointData } from '../checkpoint/checkpoint.js';
import { BASE_TRAIN_VARIANTS, CODECS, codecRoundTrip, SPEECH_VOCAB, utterance, VOICE_SPLITS, type UtteranceOptions, type VoiceSplit } from '../data/speech.js';
import { AcousticConfigSchema, AcousticModel, initAcousticWeights, logMel, type AcousticConfig } from '../models/acoustic.js';
import { Type, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { specAugment, warpFeatures } from './augment.js';
import { applyStepsAndSeed, resolveRunConfigs, savedRunConfigs } from './runConfig.js';
import { defaultTrainConfig, type TrainConfig, type TrainTask } from './trainer.js';

export function defaultAcousticConfig(): AcousticConfig {
  return { mels: 40, stack: 6, dim: 128, layers: 2, vocab: [...SPEECH_VOCAB] };
}

export const AcousticTaskSchema = Type.Object({
  pool: Type.Integer({ minimum: 8, maximum: 20_000, description: 'synthesised training utterances held at once (about 0.1 s of espeak-ng and 60 KB of features each)' }),
  refresh: Type.Integer({ minimum: 0, maximum: 64, description: 'utterances of the pool replaced by new ones each step' }),
  shuffle: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of training utterances whose words are spoken in a random order' })),
  specAugment: Type.Optional(Type.Integer({ minimum: 0, maximum: 8, description: 'SpecAugment: this many frequency masks (up to 8 mels) and time masks (up to 20 frames) on each training utterance, drawn anew each time; 0: none' })),
  warp: Type.Optional(Type.Number({ minimum: 0, maximum: 0.3, description: 'speaker perturbation: each training utterance\'s mel axis stretched by a factor drawn anew in [1 - warp, 1 + warp]; 0: none' })),
  stretch: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5, description: 'tempo perturbation: each training utterance\'s time axis stretched by a factor drawn anew in [1 - stretch, 1 + stretch]; 0: none' })),
  flite: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of training utterances spoken by flite\'s awb and rms voices instead of espeak-ng (apt-get install flite); 0: espeak-ng only' })),
  codec: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: `share of training utterances passed through one of ${CODECS.length} speech codecs at 8 kHz (codec2, GSM, G.723.1, Speex, Opus; needs ffmpeg); 0: none` })),
  room: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of training utterances given a room: an echo (20-150 ms, fed back at 0.1-0.6) or a reverberation tail (0.1-0.8 s); 0: none' })),
  random: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of espeak-ng training utterances spoken in a voice variant of random formants, pitch, voicing and breath (each about within the span of the named training variants) instead of a named variant; 0: none' })),
  variants: Type.Optional(Type.Integer({ minimum: 1, maximum: VOICE_SPLITS.train.variants.length, description: `espeak-ng voice variants training speaks in: the first N of its ${VOICE_SPLITS.train.variants.length} (runs before session 19: ${BASE_TRAIN_VARIANTS})` })),
}, { additionalProperties: false });
export type AcousticTask = Static<typeof AcousticTaskSchema>;
// every sentence's words in a random order, each utterance's mel and time axes stretched anew, SpecAugment's masks, 4 new
// utterances a step, 30% of them spoken by flite, the rest in 90 espeak-ng variants, 30% in a room and 30% through a codec:
// the shipped model's mix at its end (README: rooms and codecs came in for its last 1,914 steps; a fresh run has them from
// step 0, which no measured run did)
export const defaultAcousticTask = (): AcousticTask => ({ pool: 1500, refresh: 4, shuffle: 1, specAugment: 2, warp: 0.12, stretch: 0.15, flite: 0.3, variants: 90, codec: 0.3, room: 0.3 });

/** Adam at 1e-3 with a cosine decay, 16 utterances a step, 4,000 steps (the shipped model's run). */
export function acousticTrainConfig(): TrainConfig {
  return { ...defaultTrainConfig(), optimizer: 'adam', beta2: 0.999, weightDecay: 0, steps: 4000, batchSize: 16, lr: 1e-3, minLr: 5e-5, warmupSteps: 100, gradClip: 1, emaDecay: 0, evalEvery: 250, evalBatches: 2, checkpointEvery: 250, logEvery: 10 };
}

export interface SpokenExample { words: string[]; feats: Float32Array }

/** One synthesised utterance as features. */
export function spokenExample(rng: Rng, split: VoiceSplit | 'festival', mels: number, o: UtteranceOptions = {}): SpokenExample & { text: string; attributes: ReturnType<typeof utterance>['attributes'] } {
  const u = utterance(rng, split, o);
  const f = logMel(u.samples, mels), feats = f.dataSync() as Float32Array;
  f.dispose();
  return { text: u.text, words: u.words, attributes: u.attributes, feats };
}

export function acousticTask(model: AcousticModel, task: AcousticTask, seed: number, log: (s: string) => void = () => {}): TrainTask {
  const mels = model.config.mels, fill = new Rng(seed ^ 0x5eec4), pool: SpokenExample[] = [];
  const mix: UtteranceOptions = { shuffle: task.shuffle ?? 0, flite: task.flite ?? 0, variants: task.variants ?? BASE_TRAIN_VARIANTS, codec: task.codec ?? 0, room: task.room ?? 0, random: task.random ?? 0 };
  // every codec once on a tenth of a second of silence: a missing ffmpeg or encoder fails here, not minutes into the pool
  if ((task.codec ?? 0) > 0) for (const c of CODECS) codecRoundTrip(new Float32Array(1600), c);
  const t0 = performance.now();
  for (let i = 0; i < task.pool; i++) {
    pool.push(spokenExample(fill, 'train', mels, mix));
    if ((i + 1) % 500 === 0) log(`synthesised ${i + 1} of ${task.pool} training utterances (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  let val: SpokenExample[] | undefined;
  return {
    params: model.params,
    trainable: [...model.params.keys()],
    decay: new Set(),
    loss: (rng, B) => {
      for (let k = 0; k < task.refresh; k++) pool[rng.int(pool.length)] = spokenExample(rng, 'train', mels, mix);
      const picked = Array.from({ length: B }, () => pool[rng.int(pool.length)]);
      const masks = task.specAugment ?? 0, warp = task.warp ?? 0, stretch = task.stretch ?? 0;
      const feats = picked.map((p) => {
        const f = warp || stretch ? warpFeatures(p.feats, mels, rng, warp, stretch) : p.feats;
        return masks ? specAugment(f, mels, rng, masks) : f;
      });
      return model.loss(model.batch(feats), picked.map((p) => p.words));
    },
    validate: (batches) => {
      const V = 16, n = Math.max(1, Math.min(batches, 4));
      val ??= [];
      while (val.length < n * V) val.push(spokenExample(new Rng(9000 + val.length), 'heldOut', mels));
      let s = 0;
      for (let b = 0; b < n; b++) {
        const part = val.slice(b * V, (b + 1) * V);
        const l = tf.tidy(() => model.loss(model.batch(part.map((p) => p.feats)), part.map((p) => p.words)));
        s += l.dataSync()[0];
        l.dispose();
      }
      return s / n;
    },
    meta: () => {
      const data = `captions of the clip grammar spoken by Debian's espeak-ng 1.51${(task.flite ?? 0) > 0 ? ' and flite 2.2' : ''}${(task.codec ?? 0) > 0 ? ', codecs by its ffmpeg' : ''}: ${describeMix(task)}`;
      return { family: 'voice', model: { ...model.config }, task: { ...task }, data };
    },
  };
}

/** The training mix in words, for the run's summary and its checkpoint: "90 espeak-ng voice variants (30% of its utterances in random ones); 30% by flite's awb and rms voices; 30% in a room; 30% through a codec". */
export function describeMix(t: AcousticTask): string {
  const pct = (v: number | undefined) => `${Math.round((v ?? 0) * 100)}%`, on = (v: number | undefined) => (v ?? 0) > 0;
  return [`${t.variants ?? BASE_TRAIN_VARIANTS} espeak-ng voice variants${on(t.random) ? ` (${pct(t.random)} of its utterances in random ones)` : ''}`,
    ...(on(t.flite) ? [`${pct(t.flite)} by flite's awb and rms voices`] : []), ...(on(t.room) ? [`${pct(t.room)} in a room`] : []), ...(on(t.codec) ? [`${pct(t.codec)} through a codec`] : [])].join('; ');
}

export function prepareAcousticRun(o: { sets: readonly string[]; seed?: number; steps?: number; resume?: CheckpointData; log?: (s: string) => void }): { model: AcousticModel; task: TrainTask; train: TrainConfig; summary: string } {
  const r = o.resume;
  if (r && r.meta.family !== 'voice') throw new UserError(`--resume: the run holds a ${r.meta.family} model, not an acoustic model`);
  // a run saved before a key existed ran without it: its sentences in order, no masks, no perturbation
  const saved = r ? savedRunConfigs(r.meta as { train?: Record<string, unknown>; task?: Record<string, unknown> }, acousticTrainConfig(), AcousticTaskSchema, { ...defaultAcousticTask(), shuffle: 0, specAugment: 0, warp: 0, stretch: 0, flite: 0, variants: BASE_TRAIN_VARIANTS, codec: 0, room: 0, random: 0 }) : undefined;
  const cfgs = resolveRunConfigs({
    modelSchema: AcousticConfigSchema, model: r ? (r.meta.model as AcousticConfig) : defaultAcousticConfig(),
    modelFixed: { vocab: 'the vocabulary is the spoken prompt words' },
    modelFrozen: r ? '--resume keeps the model config; --set may change only trainer keys' : undefined,
    train: saved?.train ?? acousticTrainConfig(), taskSchema: AcousticTaskSchema, task: saved?.task ?? defaultAcousticTask(), sets: o.sets,
  });
  const train = cfgs.train;
  applyStepsAndSeed(train, o, r !== undefined);
  const model = new AcousticModel(cfgs.model, r ? new Map(Object.entries(r.weights)) : initAcousticWeights(cfgs.model, new Rng(train.seed)));
  const n = [...model.params.values()].reduce((s, v) => s + v.size, 0);
  // a resumed run draws a new pool (the step count seeds it), so it does not replay the first one
  const task = acousticTask(model, cfgs.task, train.seed + (r?.meta.step ?? 0), o.log);
  return { model, task, train, summary: `acoustic model, ${n.toLocaleString('en-US')} weights, ${cfgs.task.pool} utterances at once: ${describeMix(cfgs.task)}` };
}
