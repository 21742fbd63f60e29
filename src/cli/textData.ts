// Loading a corpus against a tokenizer, for train, eval and finetune.
import { UserError } from '../util/errors.js';
import { CharTokenizer, readTextFile, show, splitTrainVal } from '../data/text.js';

export interface Corpus {
  ids: Int32Array;
  train: Int32Array;
  val: Int32Array;
  dropped: number;
}

/** Encodes `path` with `tokenizer`; characters outside it are an error that lists them, or dropped with `dropUnknown`. */
export function loadCorpus(path: string, tokenizer: CharTokenizer, dropUnknown = false): Corpus {
  let text = readTextFile(path);
  const unknown = tokenizer.unknown(text);
  let dropped = 0;
  if (unknown.length) {
    if (!dropUnknown) {
      throw new UserError(
        `${path} has ${unknown.length} character(s) outside the model's vocabulary of ${tokenizer.vocabSize}: ` +
          `${unknown.slice(0, 40).map(show).join(' ')}${unknown.length > 40 ? ' ...' : ''}. ` +
          'Clean the text, or pass --drop-unknown to remove them.',
      );
    }
    const bad = new Set(unknown);
    const kept = Array.from(text).filter((c) => !bad.has(c));
    dropped = Array.from(text).length - kept.length;
    text = kept.join('');
    if (!text.length) throw new UserError(`${path} has no characters of the model's vocabulary`);
  }
  const ids = tokenizer.encode(text);
  return { ids, ...splitTrainVal(ids), dropped };
}

export function tokenizerFor(path: string): { tokenizer: CharTokenizer; text: string } {
  const text = readTextFile(path);
  const tokenizer = CharTokenizer.fromText(text);
  if (tokenizer.vocabSize < 2) throw new UserError(`${path} has only one distinct character (${show(text[0])}); a language model needs at least two to predict between`);
  return { tokenizer, text };
}
