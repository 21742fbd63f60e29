// The words of the clip world (spec/CLIPS.md) and the caption parser. The parser serves the
// report, the errors and the defaults; the generators read the words through the text encoder.
// It reads a text as segments, one per object ("... and a blue 7 moving up" will be a second
// segment), each a set of attribute values.
import { UserError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { ATTRIBUTE_NAMES, DEFAULTS, DIGITS, DIRECTIONS, type AttributeName, type Colour, type Digit, type Direction, type ObjectAttributes, type Size, type Speed } from './world.js';

export const MAX_PROMPT_CHARS = 500;

/** The digits' names, by value. */
export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** Every accepted word or phrase of each value, the canonical form first. */
export const SYNONYMS = {
  digit: Object.fromEntries(DIGITS.map((d) => [String(d), [String(d), DIGIT_WORDS[d]]])) as Record<string, string[]>,
  colour: { white: ['white'], red: ['red'], green: ['green'], blue: ['blue'], yellow: ['yellow'] } as Record<Colour, string[]>,
  direction: {
    left: ['left', 'leftward', 'leftwards', 'to the left', 'westward'],
    right: ['right', 'rightward', 'rightwards', 'to the right', 'eastward'],
    up: ['up', 'upward', 'upwards', 'towards the top', 'northward'],
    down: ['down', 'downward', 'downwards', 'towards the bottom', 'southward'],
  } as Record<Direction, string[]>,
  speed: { slow: ['slow', 'slowly', 'gently'], fast: ['fast', 'quickly', 'quick', 'rapidly'] } as Record<Speed, string[]>,
  size: { small: ['small', 'little', 'tiny'], large: ['large', 'big', 'huge'] } as Record<Size, string[]>,
};

/** Words that carry no attribute (the nouns for a digit among them). */
export const FILLERS = [
  'moving', 'moves', 'move', 'going', 'goes', 'drifting', 'drifts', 'sliding', 'slides', 'travelling', 'traveling',
  'a', 'an', 'the', 'is', 'that', 'which', 'show', 'me', 'make', 'i', 'want', 'to', 'see', 'please', 'clip', 'video', 'of',
  'digit', 'number', 'numeral',
];

type Phrase = { words: string[]; attr: AttributeName; value: string };
/** Attribute phrases, longest first, so that "to the left" wins over the filler "to". */
const PHRASES: Phrase[] = ATTRIBUTE_NAMES.flatMap((attr) =>
  Object.entries(SYNONYMS[attr] as Record<string, string[]>).flatMap(([value, words]) => words.map((w) => ({ words: w.split(' '), attr, value })))).sort((a, b) => b.words.length - a.words.length);
const FILLER_SET = new Set(FILLERS);
const PHRASES_BY_FIRST = new Map<string, Phrase[]>();
for (const p of PHRASES) PHRASES_BY_FIRST.set(p.words[0], [...(PHRASES_BY_FIRST.get(p.words[0]) ?? []), p]);

/** Lower case, punctuation to spaces (digits and letters kept), split on spaces. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().normalize('NFKC').replace(/[^\p{L}\p{N}]+/gu, ' ').trim().split(' ').filter(Boolean);
}

/** What a text names, word by word: the canonical words the encoder reads, and the words ignored. */
export interface ParsedText {
  /** per object (one for now): the attributes the text names */
  objects: Partial<ObjectAttributes>[];
  /** words neither attribute words nor fillers, in order, each once */
  ignored: string[];
  /** the text's own words, lower case, unknown words dropped (the encoder's input before defaults join it) */
  words: string[];
}

function toValue(attr: AttributeName, v: string): ObjectAttributes[AttributeName] {
  return (attr === 'digit' ? Number(v) : v) as ObjectAttributes[AttributeName];
}

/** Attribute phrases and fillers of tokens, left to right (longest phrase first); stops at the first contradiction. */
function scan(tokens: readonly string[]): { named: Partial<Record<AttributeName, { value: string; word: string }>>; conflict?: { attr: AttributeName; first: string; second: string }; ignored: string[]; words: string[] } {
  const named: Partial<Record<AttributeName, { value: string; word: string }>> = {};
  const ignored: string[] = [], words: string[] = [];
  for (let i = 0; i < tokens.length;) {
    const p = PHRASES_BY_FIRST.get(tokens[i])?.find((ph) => ph.words.every((w, k) => tokens[i + k] === w));
    if (p) {
      const prev = named[p.attr], word = p.words.join(' ');
      if (prev && prev.value !== p.value) return { named, conflict: { attr: p.attr, first: prev.word, second: word }, ignored, words };
      named[p.attr] = { value: p.value, word };
      words.push(...p.words);
      i += p.words.length;
      continue;
    }
    const t = tokens[i++];
    if (FILLER_SET.has(t)) words.push(t);
    else if (!ignored.includes(t)) ignored.push(t);
  }
  return { named, ignored, words };
}

/** What lower-case tokens name, or undefined where they name two values of one attribute ("red blue"): the speech decoder's grammar check. */
export function namedAttributes(tokens: readonly string[]): Partial<ObjectAttributes> | undefined {
  const s = scan(tokens);
  if (s.conflict) return undefined;
  const obj: Partial<ObjectAttributes> = {};
  for (const a of ATTRIBUTE_NAMES) if (s.named[a]) (obj as Record<string, unknown>)[a] = toValue(a, s.named[a]!.value);
  return obj;
}

/** Parses a description; empty or over-long text and contradictions ("a red blue 3") are UserErrors. */
export function parseText(text: string): ParsedText {
  if (typeof text !== 'string' || !text.trim()) throw new UserError('the description is empty: say what to show, for example "a red 3 moving left"');
  if (text.length > MAX_PROMPT_CHARS) throw new UserError(`the description has ${text.length} characters; at most ${MAX_PROMPT_CHARS}`);
  const tokens = tokenize(text);
  const { named, conflict, ignored, words } = scan(tokens);
  if (conflict) throw new UserError(`the description names two ${conflict.attr === 'colour' ? 'colours' : `${conflict.attr}s`} for one object: "${conflict.first}" and "${conflict.second}"`);
  if (!tokens.length) throw new UserError('the description has no words');
  const obj: Partial<ObjectAttributes> = {};
  for (const a of ATTRIBUTE_NAMES) if (named[a]) (obj as Record<string, unknown>)[a] = toValue(a, named[a]!.value);
  return { objects: [obj], ignored, words };
}

/** A description resolved to full attributes: what it named, the defaults used and the seeded draws. */
export interface ResolvedText {
  objects: ObjectAttributes[];
  /** per object: attributes that took a default (colour white, speed slow, size large) */
  defaults: Partial<ObjectAttributes>[];
  /** per object: attributes drawn from the seed (digit, direction) */
  drawn: Partial<ObjectAttributes>[];
  ignored: string[];
  /** what the text encoder reads: the text's known words, then the canonical word of every default and draw */
  encoderText: string;
}

export function resolveText(parsed: ParsedText, seed: number): ResolvedText {
  const rng = new Rng(seed ^ 0x7e57);
  const objects: ObjectAttributes[] = [], defaults: Partial<ObjectAttributes>[] = [], drawn: Partial<ObjectAttributes>[] = [];
  const extra: string[] = [];
  for (const named of parsed.objects) {
    const d: Partial<ObjectAttributes> = {}, r: Partial<ObjectAttributes> = {};
    const digit: Digit = named.digit ?? (r.digit = DIGITS[rng.int(10)]);
    const direction: Direction = named.direction ?? (r.direction = DIRECTIONS[rng.int(4)]);
    const colour = named.colour ?? (d.colour = DEFAULTS.colour);
    const speed = named.speed ?? (d.speed = DEFAULTS.speed);
    const size = named.size ?? (d.size = DEFAULTS.size);
    objects.push({ digit, direction, colour, speed, size });
    defaults.push(d); drawn.push(r);
    extra.push(...canonicalWords({ ...d, ...r }));
  }
  return { objects, defaults, drawn, ignored: parsed.ignored, encoderText: [...parsed.words, ...extra].join(' ') };
}

/** The canonical word of each attribute given, in ATTRIBUTE_NAMES order: what joins the encoder's text for defaults and draws. */
export function canonicalWords(a: Partial<ObjectAttributes>): string[] {
  return ATTRIBUTE_NAMES.flatMap((k) => (a[k] === undefined ? [] : [String(a[k])]));
}

/** The canonical caption of attributes: "a large red 3 moving left slowly". */
export function canonicalCaption(a: ObjectAttributes): string {
  return `a ${a.size} ${a.colour} ${a.digit} moving ${a.direction} ${a.speed === 'slow' ? 'slowly' : 'fast'}`;
}
