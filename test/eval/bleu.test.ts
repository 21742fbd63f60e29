import { describe, expect, it } from 'vitest';
import { corpusBleu } from '../../src/eval/bleu.js';

const w = (s: string) => s.split(' ');

describe('corpus BLEU-4', () => {
  it('is 1 for identical sentences and 0 with no matching 4-gram', () => {
    expect(corpusBleu([w('a small red 3 moving left fast')], [w('a small red 3 moving left fast')])).toBeCloseTo(1, 12);
    expect(corpusBleu([w('a b c d')], [w('d c b a')])).toBe(0);
  });
  it('matches a hand computation: clipped precisions and the brevity penalty', () => {
    // candidate "the the cat sat" vs reference "the cat sat on the mat":
    // p1 = (min(2,2) + 1 + 1) / 4 = 1, p2 = (the cat, cat sat) 2/3, p3 = (the cat sat) 1/2, p4 = 0/1 -> 0
    expect(corpusBleu([w('the the cat sat')], [w('the cat sat on the mat')])).toBe(0);
    // BLEU-3 of the same: (1 * 2/3 * 1/2)^(1/3) * exp(1 - 6/4)
    expect(corpusBleu([w('the the cat sat')], [w('the cat sat on the mat')], 3)).toBeCloseTo(Math.cbrt(1 / 3) * Math.exp(1 - 6 / 4), 12);
  });
  it('pools counts over the corpus rather than averaging sentence scores', () => {
    const c = [w('a b c d e'), w('x y')], r = [w('a b c d e'), w('x z')];
    // p1 = 6/7, p2 = 4/5, p3 = 3/3, p4 = 2/2 (the second pair has no 3- or 4-grams); lengths equal
    expect(corpusBleu(c, r)).toBeCloseTo(Math.pow((6 / 7) * (4 / 5) * 1 * 1, 1 / 4), 12);
  });
});
