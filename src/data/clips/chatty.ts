// Long, chatty descriptions of a clip and their reading in the caption grammar, for the summariser
// (issue 15): greetings, reasons and thanks around the attributes, each attribute in its own
// sentence and in any order, and the hard part for the parser: second thoughts ("a 3, no wait, an
// 8") and negations ("not green: blue") that name a value the person does not want. The parser
// would call those contradictions; the summary names only what is wanted. Eval phrasings
// (openers, closers, statement patterns) are ones training never uses.
import type { Rng } from '../../util/rng.js';
import { englishTarget } from './languages.js';
import { SYNONYMS } from './words.js';
import { ATTRIBUTE_NAMES, COLOURS, DIGITS, DIRECTIONS, SIZES, SPEEDS, type AttributeName, type ObjectAttributes } from './world.js';

type Split = 'train' | 'eval';
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

const OPENERS: Record<Split, string[]> = {
  train: ['hi there', 'hello', 'hey', 'ok so', 'good morning', 'hi again', 'so', 'right', 'hello again', 'hey there'],
  eval: ['greetings', 'good evening', 'hiya'],
};
const CONTEXT: Record<Split, string[]> = {
  train: ['i need a short clip for a birthday card', 'this is for my nephew', 'i am making a video for school', 'we are doing a project about numbers', 'my daughter loves these', 'it is for a presentation tomorrow', 'i saw one of these yesterday and liked it', 'i want to put it on my website'],
  eval: ['it is for a friend of mine', 'we need it for a lesson on counting'],
};
const CLOSERS: Record<Split, string[]> = {
  train: ['thanks', 'thank you so much', 'cheers', 'that is all', 'thanks a lot', 'much appreciated', 'thank you'],
  eval: ['many thanks', 'that would be great'],
};

/** How each attribute is said in a sentence of its own; X is the value's words. */
const STATEMENTS: Record<AttributeName, Record<Split, string[]>> = {
  digit: { train: ['the digit should be X', 'could you draw X', 'i would like X', 'please make it X', 'show X'], eval: ['i am after X'] },
  colour: { train: ['make it X', 'the colour should be X', 'X would be nice', 'i want it X', 'paint it X'], eval: ['X please'] },
  size: { train: ['make it X', 'it should be X', 'a X one please', 'i want it X'], eval: ['X is what i want'] },
  direction: { train: ['it should move X', 'have it go X', 'moving X', 'it goes X', 'let it drift X'], eval: ['send it X'] },
  speed: { train: ['it should move X', 'X please', 'not too fast or slow just X', 'have it go X'], eval: ['at a X pace'] },
};
/** Second thoughts: W the unwanted value, X the wanted one. */
const CORRECTIONS: Record<Split, string[]> = {
  train: ['W no wait X', 'W actually make that X', 'not W but X', 'W sorry i mean X', 'not W X'],
  eval: ['W or rather X'],
};

const VALUES: Record<AttributeName, readonly (string | number)[]> = { digit: DIGITS, colour: COLOURS, direction: DIRECTIONS, speed: SPEEDS, size: SIZES };

function say(k: AttributeName, v: string | number, rng: Rng): string {
  return pick(rng, (SYNONYMS[k] as Record<string, string[]>)[String(v)]);
}

export interface ChattyExample { text: string; target: string; named: Partial<ObjectAttributes> }

/**
 * A chatty description of `a` (attributes in `omit` left unsaid) and the caption grammar's reading
 * of it. `pCorrect`: the chance that an attribute is said with a second thought or a negation first.
 */
export function chattyDescription(a: ObjectAttributes, rng: Rng, split: Split, omit: readonly AttributeName[] = [], pCorrect = 0.3): ChattyExample {
  const sentences: string[] = [];
  if (rng.next() < 0.8) sentences.push(pick(rng, OPENERS[split]));
  if (rng.next() < 0.6) sentences.push(pick(rng, CONTEXT[split]));
  const keys = ATTRIBUTE_NAMES.filter((k) => !omit.includes(k));
  for (let i = keys.length - 1; i > 0; i--) { const j = rng.int(i + 1); [keys[i], keys[j]] = [keys[j], keys[i]]; }
  for (const k of keys) {
    let x = say(k, a[k], rng);
    if (rng.next() < pCorrect) {
      const others = VALUES[k].filter((v) => v !== a[k]);
      x = pick(rng, CORRECTIONS[split]).replace('W', say(k, pick(rng, others), rng)).replace('X', x);
    }
    sentences.push(pick(rng, STATEMENTS[k][split]).replace('X', x));
  }
  if (rng.next() < 0.7) sentences.push(pick(rng, CLOSERS[split]));
  const named = Object.fromEntries(keys.map((k) => [k, a[k]])) as Partial<ObjectAttributes>;
  return { text: sentences.join('. ') + '.', target: englishTarget(named), named };
}

/** A random example: all five values drawn, each left unsaid with probability pOmit (at least one said). */
export function randomChatty(rng: Rng, split: Split, pOmit = 0.15): ChattyExample {
  const a = Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, pick(rng, VALUES[k])])) as unknown as ObjectAttributes;
  let omit = ATTRIBUTE_NAMES.filter(() => rng.next() < pOmit);
  if (omit.length === ATTRIBUTE_NAMES.length) omit = omit.slice(1);
  return chattyDescription(a, rng, split, omit);
}

/** Every word the chatty grammar can write (tokens of its phrases and of every synonym). */
export function chattyWords(): string[] {
  const phrases = [...Object.values(OPENERS), ...Object.values(CONTEXT), ...Object.values(CLOSERS), ...Object.values(CORRECTIONS), ...Object.values(STATEMENTS).flatMap((s) => Object.values(s))].flat();
  const out = new Set<string>();
  for (const p of phrases) for (const w of p.toLowerCase().split(/[^a-z0-9]+/)) if (w && w !== 'x' && w !== 'w') out.add(w);
  for (const values of Object.values(SYNONYMS)) for (const ws of Object.values(values as Record<string, string[]>)) for (const p of ws) p.split(' ').forEach((w) => out.add(w));
  return [...out].sort();
}
