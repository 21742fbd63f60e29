// UTF-8 text corpora and the character tokenizer.
import { UserError } from '../util/errors.js';
import { readUserFile } from '../util/files.js';
import type { Rng } from '../util/rng.js';

/** Reads a UTF-8 text file; an empty, binary, non-UTF-8 or unreadable file is a UserError. */
export function readTextFile(path: string): string {
  const bytes = readUserFile(path);
  if (bytes.length === 0) throw new UserError(`${path} is empty`);
  if (bytes.includes(0)) throw new UserError(`${path} looks binary (it contains NUL bytes); give a UTF-8 text file`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${path} is not valid UTF-8 text`);
  }
}

/** Characters (Unicode code points) to ids and back; the vocabulary is the sorted set of a corpus's characters. */
export class CharTokenizer {
  readonly chars: string[];
  private readonly index: Map<string, number>;

  constructor(chars: readonly string[]) {
    this.chars = [...chars];
    this.index = new Map(this.chars.map((c, i) => [c, i]));
  }

  static fromText(text: string): CharTokenizer {
    // Sorted by code unit like Python's sorted(set(text)), so ids match nanoGPT's.
    return new CharTokenizer([...new Set(Array.from(text))].sort());
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  /** Characters of `text` that are not in the vocabulary, each once, in order of appearance. */
  unknown(text: string): string[] {
    const seen = new Set<string>();
    for (const c of text) if (!this.index.has(c)) seen.add(c);
    return [...seen];
  }

  encode(text: string): Int32Array {
    const cps = Array.from(text);
    const out = new Int32Array(cps.length);
    for (let i = 0; i < cps.length; i++) {
      const id = this.index.get(cps[i]);
      if (id === undefined) {
        const bad = this.unknown(text);
        throw new UserError(`text has ${bad.length} character(s) outside the model's vocabulary: ${bad.map(show).join(' ')}`);
      }
      out[i] = id;
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.chars[ids[i]] ?? '';
    return s;
  }

  toJSON(): { type: 'char'; chars: string[] } {
    return { type: 'char', chars: this.chars };
  }
}

/** A printable name for a character in an error message. */
export function show(c: string): string {
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(c) ? JSON.stringify(c) : `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The first 90% of the ids train, the last 10% validate (split by position, as nanoGPT does). */
export function splitTrainVal(ids: Int32Array, trainFraction = 0.9): { train: Int32Array; val: Int32Array } {
  const n = Math.floor(trainFraction * ids.length);
  return { train: ids.subarray(0, n), val: ids.subarray(n) };
}

export interface TokenBatch {
  /** [batch * block] inputs, row-major */
  x: Int32Array;
  /** [batch * block] next-token targets */
  y: Int32Array;
  batch: number;
  block: number;
}

/** `batch` random windows of `block + 1` tokens: inputs and their next-token targets. */
export function randomBatch(ids: Int32Array, batch: number, block: number, rng: Rng): TokenBatch {
  if (ids.length < block + 1) throw new UserError(`the text is too short: ${ids.length} characters for windows of ${block + 1}`);
  const x = new Int32Array(batch * block), y = new Int32Array(batch * block);
  for (let b = 0; b < batch; b++) {
    const start = rng.int(ids.length - block);
    x.set(ids.subarray(start, start + block), b * block);
    y.set(ids.subarray(start + 1, start + block + 1), b * block);
  }
  return { x, y, batch, block };
}

/** Consecutive non-overlapping windows covering `ids`, `batch` at a time (for a deterministic evaluation). */
export function* sequentialBatches(ids: Int32Array, batch: number, block: number): Generator<TokenBatch> {
  const windows = Math.floor((ids.length - 1) / block);
  for (let w0 = 0; w0 < windows; w0 += batch) {
    const nb = Math.min(batch, windows - w0);
    const x = new Int32Array(nb * block), y = new Int32Array(nb * block);
    for (let b = 0; b < nb; b++) {
      const start = (w0 + b) * block;
      x.set(ids.subarray(start, start + block), b * block);
      y.set(ids.subarray(start + 1, start + block + 1), b * block);
    }
    yield { x, y, batch: nb, block };
  }
}
