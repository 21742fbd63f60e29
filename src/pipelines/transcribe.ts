// Voice prompts: a trained acoustic model (src/models/acoustic.ts) turns a WAV file into the prompt's
// words, which the English parser reads into attributes (the platform shows them for editing first).
import * as tf from '@tensorflow/tfjs-core';
import { loadInferenceWeights } from './loadModel.js';
import { parseText } from '../data/clips/words.js';
import type { ObjectAttributes } from '../data/clips/world.js';
import { decodeWav, resample, SPEECH_RATE } from '../data/wav.js';
import { AcousticModel, logMel, type AcousticConfig } from '../models/acoustic.js';
import { UserError } from '../util/errors.js';

export interface LoadedAcoustic { model: AcousticModel; dir: string; step?: number }

export function loadAcoustic(dirArg: string): LoadedAcoustic {
  const { meta, weights } = loadInferenceWeights(dirArg, 'voice', 'an acoustic model');
  return { model: new AcousticModel(meta.model as AcousticConfig, weights), dir: dirArg, step: meta.step };
}

/** Longest audio accepted: a spoken prompt, not a podcast. */
export const MAX_SECONDS = 30;

export interface Transcript {
  text: string;
  /** what the text parses to (empty where it names nothing or contradicts itself) */
  attributes: Partial<ObjectAttributes>;
  seconds: number;
}

/** Transcribes one WAV file's bytes (any common rate, mono or stereo). */
export function transcribeWav(a: LoadedAcoustic, wav: Uint8Array, what = 'the audio', beam = 8): Transcript {
  const audio = decodeWav(wav, what), seconds = audio.samples.length / audio.rate;
  if (seconds > MAX_SECONDS) throw new UserError(`${what} lasts ${seconds.toFixed(1)} s; a spoken prompt may last at most ${MAX_SECONDS} s`);
  if (seconds < 0.1) throw new UserError(`${what} lasts ${Math.round(seconds * 1000)} ms: too short to hold a prompt`);
  const samples = resample(audio, SPEECH_RATE);
  const f = logMel(samples, a.model.config.mels), feats = f.dataSync() as Float32Array;
  f.dispose();
  const fb = a.model.batch([feats]);
  let words: string[];
  try {
    words = a.model.transcribe(fb, beam)[0];
  } finally {
    tf.dispose(fb.x);
  }
  const text = words.join(' ');
  let attributes: Partial<ObjectAttributes> = {};
  try {
    attributes = parseText(text).objects[0] ?? {};
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  return { text, attributes, seconds: +seconds.toFixed(2) };
}
