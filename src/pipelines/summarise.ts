// Long descriptions to the caption grammar: a trained summariser (src/models/summariser.ts) writes
// the reading ("a large blue 8 moving left fast") that the parser then reads.
import { loadInferenceWeights } from './loadModel.js';
import { MAX_PROMPT_CHARS, parseText, tokenize } from '../data/clips/words.js';
import type { ObjectAttributes } from '../data/clips/world.js';
import { Summariser, type SummariserConfig } from '../models/summariser.js';
import { UserError } from '../util/errors.js';

export interface LoadedSummariser { model: Summariser; dir: string; step?: number }

export function loadSummariser(dirArg: string): LoadedSummariser {
  const { meta, weights } = loadInferenceWeights(dirArg, 'summariser', 'a summariser');
  return { model: new Summariser(meta.model as SummariserConfig, weights), dir: dirArg, step: meta.step };
}

export interface Summary {
  summary: string;
  /** what the summary parses to (empty where it names nothing or contradicts itself) */
  attributes: Partial<ObjectAttributes>;
  /** words of the description the summariser has never seen */
  unknown: string[];
}

/** The caption-grammar reading of a long description (at most 4 times the prompt limit). */
export function summarise(s: LoadedSummariser, text: string): Summary {
  if (typeof text !== 'string' || !text.trim()) throw new UserError('the description is empty');
  if (text.length > 4 * MAX_PROMPT_CHARS) throw new UserError(`the description has ${text.length} characters; at most ${4 * MAX_PROMPT_CHARS}`);
  const words = tokenize(text);
  if (!words.length) throw new UserError('the description has no words');
  const summary = s.model.summarise(words).join(' ');
  let attributes: Partial<ObjectAttributes> = {};
  try {
    attributes = parseText(summary).objects[0] ?? {};
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
  }
  return { summary, attributes, unknown: [...new Set(words.filter((w) => !s.model.ids.has(w)))] };
}
