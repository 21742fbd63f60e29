// Rewards for RL fine-tuning behind one small interface: a name and a score per sample, higher is
// better. Rule-based rewards need no training; learned ones (a classifier the project trains)
// will implement the same interface.
export interface Reward<S = string> {
  readonly name: string;
  /** one score per sample, each finite */
  score(samples: readonly S[]): Float32Array;
}

/** The share of a text's words that are `word` (case-insensitive), a wanted word frequency. */
export function wordFrequencyReward(word: string): Reward {
  const w = word.toLowerCase();
  if (!/^[\p{L}\p{N}']+$/u.test(w)) throw new RangeError(`a word reward needs one word, got "${word}"`);
  return {
    name: `word:${w}`,
    score: (texts) => Float32Array.from(texts, (t) => {
      const words = t.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
      return words.length ? words.filter((x) => x === w).length / words.length : 0;
    }),
  };
}
