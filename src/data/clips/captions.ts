// Captions of the clip world from templates: every synonym of CLIPS.md, in word orders that the
// training captions use and others (EVAL_TEMPLATES) that they never use, so that evaluation asks
// for the attributes in phrasings the text encoder has not seen.
import type { Rng } from '../../util/rng.js';
import { canonicalWords, SYNONYMS } from './words.js';
import type { AttributeName, ObjectAttributes } from './world.js';

// Slots: ART (a, the), SIZE, COLOUR, DIGIT, VERB, DIR, SPEED; every other token is a filler word.
export const TRAIN_TEMPLATES = [
  'ART SIZE COLOUR DIGIT VERB DIR SPEED',
  'ART COLOUR SIZE DIGIT VERB SPEED DIR',
  'ART SIZE COLOUR DIGIT that VERB DIR SPEED',
  'show me ART SIZE COLOUR DIGIT VERB DIR SPEED',
  'ART SPEED SIZE COLOUR DIGIT VERB DIR',
  'SIZE COLOUR DIGIT VERB SPEED DIR',
  'make ART clip of ART SIZE COLOUR DIGIT VERB DIR SPEED',
  'ART video of ART COLOUR SIZE DIGIT VERB DIR SPEED',
  'ART SIZE COLOUR DIGIT which is VERB SPEED DIR',
  'i want to see ART SIZE COLOUR DIGIT VERB DIR SPEED',
] as const;

export const EVAL_TEMPLATES = [
  'DIR VERB ART SIZE COLOUR DIGIT SPEED',
  'ART DIGIT SIZE COLOUR VERB SPEED DIR',
  'please show ART COLOUR DIGIT that is SIZE VERB DIR SPEED',
  'SPEED VERB DIR ART SIZE COLOUR DIGIT',
  'ART COLOUR DIGIT SIZE SPEED VERB DIR',
  'DIGIT COLOUR SIZE DIR SPEED',
] as const;

const VERBS = ['moving', 'moves', 'going', 'goes', 'drifting', 'drifts', 'sliding', 'slides', 'travelling', 'traveling'];
const NOUNS = ['digit', 'number', 'numeral'];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** The digit as a numeral or a word, sometimes after a noun ("the number seven"). */
function digitWords(rng: Rng, d: number): string {
  const w = pick(rng, SYNONYMS.digit[String(d)]);
  return rng.next() < 0.3 ? `${pick(rng, NOUNS)} ${w}` : w;
}

/** A caption of `a` from `template`, each word drawn from its synonyms. */
export function fillTemplate(template: string, a: ObjectAttributes, rng: Rng): string {
  return template.split(' ').map((slot) => {
    switch (slot) {
      case 'ART': return pick(rng, ['a', 'the']);
      case 'SIZE': return pick(rng, SYNONYMS.size[a.size]);
      case 'COLOUR': return pick(rng, SYNONYMS.colour[a.colour]);
      case 'DIGIT': return digitWords(rng, a.digit);
      case 'VERB': return pick(rng, VERBS);
      case 'DIR': return pick(rng, SYNONYMS.direction[a.direction]);
      case 'SPEED': return pick(rng, SYNONYMS.speed[a.speed]);
      default: return slot;
    }
  }).join(' ');
}

const SLOT_OF: Record<AttributeName, string> = { digit: 'DIGIT', colour: 'COLOUR', direction: 'DIR', speed: 'SPEED', size: 'SIZE' };

/**
 * A training text that leaves the attributes `omit` unsaid, followed by their canonical words, as
 * the encoder reads a prompt whose defaults and seeded draws joined it (resolveText).
 */
export function captionOmitting(a: ObjectAttributes, omit: readonly AttributeName[], rng: Rng): string {
  const extra = canonicalWords(Object.fromEntries(omit.map((k) => [k, a[k]])) as Partial<ObjectAttributes>);
  return [captionLeaving(a, omit, rng, 'train'), ...extra].join(' ');
}

/** A caption from one of the training templates (split 'train') or the held-out ones ('eval'). */
export function caption(a: ObjectAttributes, rng: Rng, split: 'train' | 'eval' = 'train'): string {
  return fillTemplate(pick(rng, split === 'train' ? TRAIN_TEMPLATES : EVAL_TEMPLATES), a, rng);
}

/** A caption from a held-out template ('eval') or a training one with the slots of `unsaid` left out ("a red 3 moving left": no size, no speed). */
export function captionLeaving(a: ObjectAttributes, unsaid: readonly AttributeName[], rng: Rng, split: 'train' | 'eval' = 'eval'): string {
  const drop = new Set(unsaid.map((k) => SLOT_OF[k]));
  return fillTemplate(pick(rng, split === 'train' ? TRAIN_TEMPLATES : EVAL_TEMPLATES).split(' ').filter((w) => !drop.has(w)).join(' '), a, rng);
}
