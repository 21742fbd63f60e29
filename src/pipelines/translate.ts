// Prompts in other languages: a trained translator (src/models/translator.ts) turns a French,
// Spanish or German prompt into the clip world's English, which the English parser then reads.
// An English prompt passes through untouched.
import { loadCheckpoint, resolveCheckpointDir, disposeMap } from '../checkpoint/checkpoint.js';
import { detectLanguage, LANGUAGES, type Language } from '../data/clips/languages.js';
import { MAX_PROMPT_CHARS, parseText, tokenize } from '../data/clips/words.js';
import type { ObjectAttributes } from '../data/clips/world.js';
import { Translator, type TranslatorConfig } from '../models/translator.js';
import { UserError } from '../util/errors.js';

export interface LoadedTranslator { model: Translator; dir: string; step?: number }

export function loadTranslator(dirArg: string): LoadedTranslator {
  const dir = resolveCheckpointDir(dirArg);
  const ck = loadCheckpoint(dir);
  disposeMap(ck.optimizer);
  disposeMap(ck.ema);
  if (ck.meta.family !== 'translator') {
    disposeMap(ck.weights);
    throw new UserError(`${dirArg} holds a "${ck.meta.family}" model, not a translator`);
  }
  return { model: new Translator(ck.meta.model as TranslatorConfig, new Map(Object.entries(ck.weights))), dir: dirArg, step: ck.meta.step };
}

export interface Translation {
  /** the prompt's language, given or detected ('en': no translation) */
  from: Language | 'en';
  detected: boolean;
  english: string;
  attributes: Partial<ObjectAttributes>;
  /** source words the translator has never seen */
  unknown: string[];
  ms: number;
}

export function translatePrompt(t: LoadedTranslator, text: string, o: { from?: Language; beam?: number } = {}): Translation {
  const t0 = performance.now();
  if (typeof text !== 'string' || !text.trim()) throw new UserError('the prompt is empty');
  if (text.length > MAX_PROMPT_CHARS) throw new UserError(`the prompt has ${text.length} characters; at most ${MAX_PROMPT_CHARS}`);
  if (o.from !== undefined && !(LANGUAGES as readonly string[]).includes(o.from)) throw new UserError(`${o.from} is not a language genlab translates; choose ${LANGUAGES.join(', ')}`);
  const from = o.from ?? detectLanguage(text), words = tokenize(text);
  if (!words.length) throw new UserError('the prompt has no words');
  const unknown = [...new Set(words.filter((w) => !t.model.src.has(w)))];
  const english = from === 'en' ? text : t.model.translate([words], o.beam ?? 4)[0].join(' ');
  let attributes: Partial<ObjectAttributes> = {};
  try {
    attributes = parseText(english).objects[0];
  } catch (e) {
    // a translation that contradicts itself ("red blue") is reported, not thrown: the caller shows it
    if (!(e instanceof UserError)) throw e;
  }
  return { from, detected: o.from === undefined, english, attributes, unknown, ms: Math.round(performance.now() - t0) };
}
