// Captioning clips: a trained clip captioner (src/models/captioner.ts) writes a caption in the
// clip world's English, which the English parser reads into attributes. The platform titles clips
// with it, and eval-clips uses it as a second judge beside the pixel judge.
import * as tf from '@tensorflow/tfjs-core';
import { loadInferenceWeights } from './loadModel.js';
import { parseText } from '../data/clips/words.js';
import { FRAMES, SIDE, type ObjectAttributes } from '../data/clips/world.js';
import { Captioner, type CaptionerConfig } from '../models/captioner.js';
import { UserError } from '../util/errors.js';

export interface LoadedCaptioner { model: Captioner; dir: string; step?: number }

export function loadCaptioner(dirArg: string): LoadedCaptioner {
  const { meta, weights } = loadInferenceWeights(dirArg, 'captioner', 'a clip captioner');
  return { model: new Captioner(meta.model as CaptionerConfig, weights), dir: dirArg, step: meta.step };
}

export interface ClipCaption {
  caption: string;
  /** what the caption parses to (empty where the caption names no value or contradicts itself) */
  attributes: Partial<ObjectAttributes>;
}

/** Captions of n clips [n * 16, 64, 64, 3] in [0, 1] (beam 1: greedy). */
export function captionClips(c: LoadedCaptioner, frames: Float32Array, n: number, beam = 4): ClipCaption[] {
  if (frames.length !== n * FRAMES * SIDE * SIDE * 3) throw new RangeError(`captionClips: ${frames.length} values for ${n} clips`);
  const words = tf.tidy(() => c.model.caption(tf.tensor4d(frames, [n * FRAMES, SIDE, SIDE, 3]), beam));
  return words.map((w) => {
    const caption = w.join(' ');
    let attributes: Partial<ObjectAttributes> = {};
    try {
      attributes = parseText(caption).objects[0] ?? {};
    } catch (e) {
      if (!(e instanceof UserError)) throw e; // a contradictory caption parses to nothing
    }
    return { caption, attributes };
  });
}
