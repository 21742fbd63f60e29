// Training sprite diffusion (clip-diffusion, arch=sprite) as a TrainTask: DDPM's loss on sprite
// latents of fresh training clips (spriteLatent: the clip's own ink and path, nothing rendered),
// the text encoder and its heads frozen. The ink's and the path's errors are averaged apart and
// added, so that the path's 8 numbers weigh as much as the ink's 784.
import * as tf from '@tensorflow/tfjs-core';
import { ClipSampler } from '../data/clips/dataset.js';
import { SIDE } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import { scheduleFrom, type ScheduleSpec } from '../diffusion/schedules.js';
import type { SpriteDiffusion } from '../models/spriteDiffusion.js';
import { INK, PATH, SPRITE_LATENT, spriteLatent } from '../models/spriteLatent.js';
import { Type, type Static } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { trainingCaption } from './clipDiffusionTask.js';
import { minSnrWeights } from './diffusionTask.js';
import { meanLoss } from './meanLoss.js';
import type { TrainTask } from './trainer.js';

export const SpriteDiffusionTaskSchema = Type.Object({
  pUncond: Type.Number({ minimum: 0, maximum: 1, description: 'share of empty texts (for classifier-free guidance)' }),
  pOmit: Type.Number({ minimum: 0, maximum: 1, description: 'share of texts that leave attributes unsaid, their canonical words appended as for defaults' }),
  minSnrGamma: Type.Number({ minimum: 0, description: 'Min-SNR-gamma weighting of the ink\'s loss (0: off)' }),
}, { additionalProperties: false });
export type SpriteDiffusionTaskConfig = Static<typeof SpriteDiffusionTaskSchema>;

/** The digits diffusion's recipe (Min-SNR-5 on eps, README: 98.9% class accuracy), the clip runs' text dropout. */
export function defaultSpriteDiffusionTask(): SpriteDiffusionTaskConfig {
  return { pUncond: 0.1, pOmit: 0.25, minSnrGamma: 5 };
}

export function spriteDiffusionTask(opts: {
  model: SpriteDiffusion;
  train: ImageSet;
  test: ImageSet;
  task: SpriteDiffusionTaskConfig;
  schedule: ScheduleSpec;
  /** validation clips (default 64, batches of 32) */
  valClips?: number;
  extraMeta?: Record<string, unknown>;
}): TrainTask {
  const { model, task } = opts, { alphasCumprod } = scheduleFrom(opts.schedule), T = alphasCumprod.length, v = model.config.prediction === 'v';
  const lossOf = (x0: Float32Array, texts: string[], rng: Rng, gamma: number) => {
    const B = texts.length, t = Int32Array.from({ length: B }, () => rng.int(T));
    const col = (f: (ti: number) => number) => tf.tensor2d(Float32Array.from(t, f), [B, 1]);
    const eps = tf.tensor2d(rng.normalArray(B * SPRITE_LATENT), [B, SPRITE_LATENT]), x = tf.tensor2d(x0, [B, SPRITE_LATENT]);
    const xt = tf.add(tf.mul(x, col((ti) => Math.sqrt(alphasCumprod[ti]))), tf.mul(eps, col((ti) => Math.sqrt(1 - alphasCumprod[ti])))) as tf.Tensor2D;
    const target = v ? tf.sub(tf.mul(eps, col((ti) => Math.sqrt(alphasCumprod[ti]))), tf.mul(x, col((ti) => Math.sqrt(1 - alphasCumprod[ti])))) : eps;
    const err = tf.squaredDifference(model.predict(xt, tf.tensor1d(t, 'int32'), model.condition(texts)), target);
    const ink = tf.mean(tf.slice(err, [0, 0], [B, INK * INK]), 1), path = tf.mean(tf.slice(err, [0, INK * INK], [B, PATH]), 1);
    const w = gamma > 0 ? tf.tensor1d(minSnrWeights(alphasCumprod, t, gamma, model.config.prediction)) : tf.onesLike(ink);
    return tf.add(tf.mean(tf.mul(ink, w)), tf.mean(path)) as tf.Scalar;
  };
  const batchOf = (s: ClipSampler, n: number, rng: Rng, train: boolean) => {
    const x0 = new Float32Array(n * SPRITE_LATENT), texts: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = s.next(), o = e.scene.objects[0];
      x0.set(spriteLatent(o), i * SPRITE_LATENT);
      texts.push(train ? trainingCaption(e.attributes[0], rng, task.pUncond, task.pOmit).text : e.caption);
    }
    return { x0, texts };
  };
  let val: { x0: Float32Array; texts: string[] } | undefined;
  const valClips = opts.valClips ?? 64, VB = Math.min(32, valClips);
  return {
    params: model.params,
    trainable: model.trainable,
    decay: new Set(model.trainable.filter((k) => k.endsWith('.w'))),
    loss: (rng, B) => {
      // clips drawn from the trainer's generator, so that a resumed run continues the same stream
      const { x0, texts } = batchOf(new ClipSampler(opts.train, 'train', new Rng(rng.int(2 ** 31))), B, rng, true);
      return lossOf(x0, texts, rng, task.minSnrGamma);
    },
    // held-out digit images, any digit-direction pair, the evaluation templates; fixed noise and timesteps
    validate: (batches) => {
      val ??= batchOf(new ClipSampler(opts.test, 'eval', new Rng(4242)), valClips, new Rng(1), false);
      const n = Math.max(1, Math.min(batches, Math.ceil(valClips / VB)));
      return meanLoss(n, 9876, (b, rng) => {
        const lo = (b * VB) % valClips, hi = Math.min(valClips, lo + VB);
        return lossOf(val!.x0.subarray(lo * SPRITE_LATENT, hi * SPRITE_LATENT), val!.texts.slice(lo, hi), rng, 0);
      });
    },
    meta: () => ({ family: 'clip-diffusion', model: { ...model.config }, schedule: opts.schedule, task: { ...task }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta }),
  };
}
