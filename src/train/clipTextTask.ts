// Training the clip text encoder on its own (src/models/clipText.ts): each step draws training
// attributes (never a held-out digit-direction pair) and a training caption of each, some attributes
// unsaid and their canonical words appended as the generators read a resolved prompt; validation is
// the heads' loss on captions in the evaluation word orders, which training never uses.
import { caption } from '../data/clips/captions.js';
import { ClipSampler } from '../data/clips/dataset.js';
import type { ObjectAttributes } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import type { ClipText } from '../models/clipText.js';
import { Rng } from '../util/rng.js';
import { trainingText } from './clipDiffusionTask.js';
import { meanLoss } from './meanLoss.js';
import type { TrainTask } from './trainer.js';

export const CLIP_TEXT_OMIT = 0.25;

/** n evaluation-template captions of attributes drawn from every pair, held-out ones included. */
export function evalTexts(set: ImageSet, n: number, seed: number): { texts: string[]; attrs: ObjectAttributes[] } {
  const rng = new Rng(seed), s = new ClipSampler(set, 'eval', rng), attrs = Array.from({ length: n }, () => s.drawAttributes());
  return { texts: attrs.map((a) => caption(a, rng, 'eval')), attrs };
}

export function clipTextTask(opts: { model: ClipText; train: ImageSet; valTexts?: number; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model } = opts, names = [...model.params.keys()];
  let val: { texts: string[]; attrs: ObjectAttributes[] } | undefined;
  return {
    params: model.params,
    trainable: names,
    decay: new Set(names.filter((k) => k.endsWith('.w'))),
    loss: (rng, B) => {
      const sampler = new ClipSampler(opts.train, 'train', rng), attrs = Array.from({ length: B }, () => sampler.drawAttributes());
      return model.loss(attrs.map((a) => trainingText(a, rng, 0, CLIP_TEXT_OMIT)), attrs);
    },
    validate: (batches) => {
      const total = opts.valTexts ?? 512, VB = 128, n = Math.max(1, Math.min(batches, Math.ceil(total / VB)));
      val ??= evalTexts(opts.train, total, 5151);
      return meanLoss(n, 1, (b) => model.loss(val!.texts.slice(b * VB, (b + 1) * VB), val!.attrs.slice(b * VB, (b + 1) * VB)));
    },
    meta: () => ({ family: 'clip-text', model: { ...model.config }, ...opts.extraMeta }),
  };
}
