// Voice prompts: a trained acoustic model (src/models/acoustic.ts) turns a WAV file into the prompt's
// words, which the English parser reads into attributes (the platform shows them for editing first).
import * as tf from '@tensorflow/tfjs-core';
import { loadInferenceWeights } from './loadModel.js';
import { namedAttributes, parseText } from '../data/clips/words.js';
import { ATTRIBUTE_NAMES, type ObjectAttributes } from '../data/clips/world.js';
import type { BeamPrior } from '../nn/ctc.js';
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

/**
 * How a transcript is decoded. `grammar`: beam search keeps only word lists that the prompt parser
 * reads without a contradiction ("right ... northward", "blue yellow"), and each attribute a whole
 * transcript leaves unsaid costs `unsaid` (a log-probability): a prior that a prompt names all five.
 * Measured in the README: `unsaid` 1 gains on whole prompts and on prompts that leave some unsaid; more invents attributes.
 */
export interface DecodeOptions { beam: number; grammar: boolean; unsaid: number }
export const DEFAULT_DECODE: Readonly<DecodeOptions> = { beam: 16, grammar: true, unsaid: 1 };

/** The grammar prior over an acoustic vocabulary's label ids (DecodeOptions). */
export function grammarPrior(vocab: readonly string[], unsaid: number): BeamPrior {
  const words = (ids: readonly number[]) => ids.map((i) => vocab[i]);
  return {
    prefix: (ids) => (namedAttributes(words(ids)) ? 0 : -Infinity),
    final: (ids) => {
      const named = namedAttributes(words(ids)) ?? {};
      return -unsaid * ATTRIBUTE_NAMES.filter((k) => named[k] === undefined).length;
    },
    // one more word names at most one more attribute
    bonus: unsaid,
  };
}

/** Transcribes one WAV file's bytes (any common rate, mono or stereo). */
export function transcribeWav(a: LoadedAcoustic, wav: Uint8Array, what = 'the audio', options: Partial<DecodeOptions> = {}): Transcript {
  return transcribeWavEach(a, wav, what, [{ ...DEFAULT_DECODE, ...options }]).transcripts[0];
}

/** One WAV file's transcript under each decoding, the acoustic model run once (the benchmark compares decodings on the same audio), and the ms each part took. */
export function transcribeWavEach(a: LoadedAcoustic, wav: Uint8Array, what: string, decodes: readonly DecodeOptions[]): { transcripts: Transcript[]; ms: { model: number; decode: number[] } } {
  const t0 = performance.now(), audio = decodeWav(wav, what), seconds = audio.samples.length / audio.rate;
  if (seconds > MAX_SECONDS) throw new UserError(`${what} lasts ${seconds.toFixed(1)} s; a spoken prompt may last at most ${MAX_SECONDS} s`);
  if (seconds < 0.1) throw new UserError(`${what} lasts ${Math.round(seconds * 1000)} ms: too short to hold a prompt`);
  const samples = resample(audio, SPEECH_RATE);
  const f = logMel(samples, a.model.config.mels), feats = f.dataSync() as Float32Array;
  f.dispose();
  const fb = a.model.batch([feats]);
  let rows: number[][];
  try {
    rows = a.model.logRows(fb)[0];
  } finally {
    tf.dispose(fb.x);
  }
  const model = performance.now() - t0, decode: number[] = [];
  const transcripts = decodes.map((o) => {
    const t1 = performance.now(), text = a.model.decode(rows, o.beam, o.grammar ? grammarPrior(a.model.config.vocab, o.unsaid) : undefined).join(' ');
    let attributes: Partial<ObjectAttributes> = {};
    try {
      attributes = parseText(text).objects[0] ?? {};
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
    decode.push(performance.now() - t1);
    return { text, attributes, seconds: +seconds.toFixed(2) };
  });
  return { transcripts, ms: { model, decode } };
}
