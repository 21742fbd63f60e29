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

/** The rhyme of a word: its last vowel group and what follows ("night" -> "ight", "day" -> "ay"). */
export function rhymeOf(word: string): string | undefined {
  const w = word.toLowerCase();
  return /[aeiouy]+[^aeiouy]*$/.exec(w)?.[0];
}

/** The share of adjacent line pairs (in lines of 2+ words) whose last words differ and rhyme; 0 without such a pair. */
export function rhymeReward(): Reward {
  return {
    name: 'rhyme',
    score: (texts) => Float32Array.from(texts, (t) => {
      const ends = t.split('\n').map((l) => l.match(/\p{L}+/gu) ?? []).filter((ws) => ws.length >= 2).map((ws) => ws[ws.length - 1].toLowerCase());
      let pairs = 0, hits = 0;
      for (let i = 1; i < ends.length; i++) {
        pairs += 1;
        const a = rhymeOf(ends[i - 1]), b = rhymeOf(ends[i]);
        if (a && a === b && ends[i - 1] !== ends[i]) hits += 1;
      }
      return pairs ? hits / pairs : 0;
    }),
  };
}

/** A learned style reward: character-trigram naive Bayes between two corpora. */
export interface StyleReward extends Reward {
  /** share of held-out windows (the last 10% of each corpus, 200 characters each) it labels right */
  heldOutAccuracy: number;
  trigrams: number;
}

const N = 3;
const gramsOf = (t: string) => Array.from({ length: Math.max(0, t.length - N + 1) }, (_, i) => t.slice(i, i + N));

/**
 * Trains (by counting: the maximum-likelihood naive Bayes, add-one smoothing) a classifier of
 * which corpus a text comes from; the reward is the mean per-trigram log-likelihood ratio toward
 * `toward` over `away`, clipped to [-4, 4]. Trained on the first 90% of each, scored on the rest.
 */
export function styleReward(toward: string, away: string, name = 'style'): StyleReward {
  const split = (t: string) => [t.slice(0, Math.floor(t.length * 0.9)), t.slice(Math.floor(t.length * 0.9))] as const;
  const [aTrain, aTest] = split(toward), [bTrain, bTest] = split(away);
  if (aTest.length < 200 || bTest.length < 200) throw new RangeError('a style reward needs two corpora of at least 2,000 characters each');
  const count = (t: string) => { const m = new Map<string, number>(); for (const g of gramsOf(t)) m.set(g, (m.get(g) ?? 0) + 1); return m; };
  const ca = count(aTrain), cb = count(bTrain), G = new Set([...ca.keys(), ...cb.keys()]).size;
  const ta = aTrain.length - N + 1 + G, tb = bTrain.length - N + 1 + G;
  const llr = new Map<string, number>();
  for (const g of new Set([...ca.keys(), ...cb.keys()])) llr.set(g, Math.log(((ca.get(g) ?? 0) + 1) / ta) - Math.log(((cb.get(g) ?? 0) + 1) / tb));
  const unseen = Math.log(1 / ta) - Math.log(1 / tb);
  const scoreOne = (t: string) => {
    const gs = gramsOf(t);
    if (!gs.length) return 0;
    const s = gs.reduce((acc, g) => acc + (llr.get(g) ?? unseen), 0) / gs.length;
    return Math.max(-4, Math.min(4, s));
  };
  const windows = (t: string) => Array.from({ length: Math.floor(t.length / 200) }, (_, i) => t.slice(i * 200, (i + 1) * 200));
  const wa = windows(aTest), wb = windows(bTest);
  const right = wa.filter((w) => scoreOne(w) > 0).length + wb.filter((w) => scoreOne(w) < 0).length;
  return { name, heldOutAccuracy: right / (wa.length + wb.length), trigrams: G, score: (texts) => Float32Array.from(texts, scoreOne) };
}
