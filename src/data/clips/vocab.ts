// The text encoder's word tokens: every attribute word and filler of CLIPS.md (the templates use
// no other word), after three specials. Token ids are fixed by this list's order, so a checkpoint
// stores the list it was trained with and refuses a different one.
import { tokenize, FILLERS, SYNONYMS } from './words.js';

export const PAD = 0, CLS = 1, UNK = 2;

function words(): string[] {
  const out: string[] = ['[pad]', '[cls]', '[unk]'];
  const add = (w: string) => { if (!out.includes(w)) out.push(w); };
  for (const values of Object.values(SYNONYMS)) for (const ws of Object.values(values as Record<string, string[]>)) for (const p of ws) p.split(' ').forEach(add);
  FILLERS.forEach(add);
  return out;
}

/** The clip world's vocabulary, specials first. */
export const CLIP_VOCAB: readonly string[] = words();
const ID = new Map(CLIP_VOCAB.map((w, i) => [w, i]));
const FILLER_SET = new Set(FILLERS);

/**
 * Token ids [CLS, w1, w2, ..., PAD...] of length maxLen for an encoder text (the parser's known
 * words; resolveText's encoderText). Over-long texts lose filler words first, then their tail.
 */
export function encodeWords(text: string, maxLen: number): Int32Array {
  let toks = tokenize(text);
  if (toks.length > maxLen - 1) toks = toks.filter((t) => !FILLER_SET.has(t));
  const ids = new Int32Array(maxLen);
  ids[0] = CLS;
  toks.slice(0, maxLen - 1).forEach((t, i) => { ids[i + 1] = ID.get(t) ?? UNK; });
  return ids;
}
