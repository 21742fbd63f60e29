import { describe, expect, it } from 'vitest';
import { namedAttributes } from '../../src/data/clips/words.js';
import { captionLeaving } from '../../src/data/clips/captions.js';
import { ATTRIBUTE_NAMES, type AttributeName } from '../../src/data/clips/world.js';
import { randomAttributes, SPEECH_VOCAB, spokenWords } from '../../src/data/speech.js';
import { Rng } from '../../src/util/rng.js';
import { ctcBeam } from '../../src/nn/ctc.js';
import { grammarPrior } from '../../src/pipelines/transcribe.js';

describe('the grammar prior of voice prompts', () => {
  const V = SPEECH_VOCAB, id = (w: string) => { const i = V.indexOf(w); if (i < 1) throw new Error(w); return i; };
  /** Frames of word probabilities (the rest to the blank), each followed by a blank frame. */
  const frames = (...fs: Record<string, number>[]) => fs.flatMap((f) => [f, { '[blank]': 0.97 }]).map((f) => {
    const rest = 1 - Object.values(f).reduce((s, p) => s + p, 0), row = new Array<number>(V.length).fill(Math.log(1e-4));
    for (const [w, p] of Object.entries(f)) row[w === '[blank]' ? 0 : id(w)] = Math.log(p);
    row[0] = Math.log(Math.max(1e-4, (f['[blank]'] ?? 0) + rest));
    return row;
  });
  const say = (rows: number[][], prior?: ReturnType<typeof grammarPrior>) => ctcBeam(rows, 16, prior).map((i) => V[i]).join(' ');

  it('parses lower-case words to what they name, and to nothing where two values of one attribute meet', () => {
    expect(namedAttributes(['a', 'big', 'red', 'seven', 'moving', 'to', 'the', 'left', 'fast'])).toEqual({ digit: 7, colour: 'red', direction: 'left', speed: 'fast', size: 'large' });
    expect(namedAttributes(['the', 'right', 'seven', 'northward'])).toBeUndefined();
    expect(namedAttributes(['blue', 'yellow'])).toBeUndefined();
    expect(namedAttributes(['big', 'huge', 'seven', 'seven'])).toEqual({ size: 'large', digit: 7 });
    expect(namedAttributes(['to', 'the'])).toEqual({});
  });

  it('keeps a word that reads without a contradiction over a likelier one that contradicts the prompt', () => {
    // "right" is likelier than "white" where it is said, but the prompt goes northward
    const rows = frames({ show: 0.9 }, { the: 0.9 }, { right: 0.55, white: 0.4 }, { seven: 0.9 }, { northward: 0.9 });
    expect(say(rows)).toBe('show the right seven northward');
    expect(say(rows, grammarPrior(V, 0))).toBe('show the white seven northward');
  });

  it('an attribute left unsaid costs `unsaid`: a faint colour word is kept at 3, left out at 0', () => {
    const rows = frames({ a: 0.9 }, { big: 0.9 }, { blue: 0.2 }, { three: 0.9 }, { moving: 0.9 }, { up: 0.9 }, { fast: 0.9 });
    expect(say(rows, grammarPrior(V, 0))).toBe('a big three moving up fast');
    expect(say(rows, grammarPrior(V, 3))).toBe('a big blue three moving up fast');
  });

  it('prompts that leave attributes unsaid name exactly the others, in words the acoustic model has', () => {
    const rng = new Rng(5), vocab = new Set(V);
    for (let i = 0; i < 500; i++) {
      const a = randomAttributes(rng), unsaid = ATTRIBUTE_NAMES.filter(() => rng.next() < 0.4) as AttributeName[];
      const text = captionLeaving(a, unsaid, rng), words = spokenWords(text);
      const said = Object.fromEntries(ATTRIBUTE_NAMES.filter((k) => !unsaid.includes(k)).map((k) => [k, a[k]]));
      expect(namedAttributes(words), text).toEqual(said);
      for (const w of words) expect(vocab.has(w), w).toBe(true);
    }
  });
});
