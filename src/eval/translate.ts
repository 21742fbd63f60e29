// How well a translator reads prompts: on the grammars' held-out word orders (pairs no training
// step saw in that order), BLEU-4 of the English against the target and exact attribute match
// after the English parser reads it; and on prompts a person wrote.
import { LANGUAGES, randomPair, type Language } from '../data/clips/languages.js';
import { parseText, tokenize } from '../data/clips/words.js';
import type { ObjectAttributes } from '../data/clips/world.js';
import type { Translator } from '../models/translator.js';
import { Rng } from '../util/rng.js';
import { corpusBleu } from './bleu.js';

export interface TranslationScores { n: number; bleu4: number; exact: number; msPerPrompt: number }

function sameAttributes(english: string, want: Partial<ObjectAttributes>): boolean {
  try {
    const got = parseText(english).objects[0] as Record<string, unknown>;
    const w = want as Record<string, unknown>;
    return Object.keys(got).length === Object.keys(w).length && Object.keys(w).every((k) => got[k] === w[k]);
  } catch {
    return false;
  }
}

/** Scores of translating `sources` (with their targets and named attributes). */
export function scoreTranslations(model: Translator, items: readonly { source: string; target?: string; named: Partial<ObjectAttributes> }[], beam: number): TranslationScores & { outputs: string[] } {
  const t0 = performance.now();
  const outputs = items.map((it) => model.translate([tokenize(it.source)], beam)[0].join(' '));
  const ms = (performance.now() - t0) / Math.max(1, items.length);
  const withTarget = items.map((it, i) => [it, outputs[i]] as const).filter(([it]) => it.target !== undefined);
  return {
    n: items.length,
    bleu4: withTarget.length ? corpusBleu(withTarget.map(([, o]) => o.split(' ').filter(Boolean)), withTarget.map(([it]) => it.target!.split(' '))) : NaN,
    exact: items.filter((it, i) => sameAttributes(outputs[i], it.named)).length / Math.max(1, items.length),
    msPerPrompt: ms,
    outputs,
  };
}

/** Held-out word orders: `n` prompts per language, a quarter leaving attributes unsaid, fixed by `seed`. */
export function heldOutScores(model: Translator, n: number, beam: number, seed = 2024): Record<Language, TranslationScores> {
  const out = {} as Record<Language, TranslationScores>;
  for (const lang of LANGUAGES) {
    const rng = new Rng(seed + lang.charCodeAt(0));
    const items = Array.from({ length: n }, () => randomPair(rng, 'eval', 0.25, lang));
    const { outputs: _o, ...s } = scoreTranslations(model, items, beam);
    out[lang] = s;
  }
  return out;
}
