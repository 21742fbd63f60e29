// Corpus BLEU (Papineni et al. 2002): the geometric mean of modified n-gram precisions for
// n = 1..4 over the whole corpus, times the brevity penalty exp(1 - r/c) when the candidates are
// shorter than the references; one reference per sentence, no smoothing (sacrebleu's
// smooth_method='none'; its default smooths zero counts).

function ngrams(words: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= words.length; i++) {
    const k = words.slice(i, i + n).join('\u0001');
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** BLEU-N in [0, 1] of candidate word lists against one reference each. */
export function corpusBleu(candidates: readonly (readonly string[])[], references: readonly (readonly string[])[], maxN = 4): number {
  if (candidates.length !== references.length) throw new RangeError(`BLEU: ${candidates.length} candidates, ${references.length} references`);
  const match = new Array<number>(maxN).fill(0), total = new Array<number>(maxN).fill(0);
  let c = 0, r = 0;
  candidates.forEach((cand, i) => {
    const ref = references[i];
    c += cand.length; r += ref.length;
    for (let n = 1; n <= maxN; n++) {
      const rc = ngrams(ref, n);
      for (const [k, v] of ngrams(cand, n)) match[n - 1] += Math.min(v, rc.get(k) ?? 0);
      total[n - 1] += Math.max(0, cand.length - n + 1);
    }
  });
  if (match.some((m) => m === 0) || c === 0) return 0;
  const logP = match.reduce((s, m, k) => s + Math.log(m / total[k]), 0) / maxN;
  const bp = c >= r ? 1 : Math.exp(1 - r / c);
  return bp * Math.exp(logP);
}
