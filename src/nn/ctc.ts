// Connectionist temporal classification (Graves et al., 2006): the loss sums over every alignment of
// a label sequence to the frames (blank = 0 between and around labels) by the forward recursion
// in log space, batched over utterances of different lengths; decoding is greedy or prefix beam search.
import * as tf from '@tensorflow/tfjs-core';

const NEG = -1e4; // log of "impossible": finite, so that logSumExp and its gradient stay finite

/**
 * Mean over the batch of -log p(labels | frames), divided by each label length.
 * logProbs [B, T, V] (log-softmax over V, blank = 0); labels: ids 1..V-1; frames: each utterance's length T_b <= T.
 */
export function ctcLoss(logProbs: tf.Tensor3D, labels: readonly number[][], frames: readonly number[]): tf.Scalar {
  const [B, T, V] = logProbs.shape;
  if (labels.length !== B || frames.length !== B) throw new RangeError(`ctcLoss: ${B} utterances but ${labels.length} label lists and ${frames.length} lengths`);
  const S = 2 * Math.max(1, ...labels.map((l) => l.length)) + 1;
  const ext = new Int32Array(B * S), skip = new Float32Array(B * S).fill(NEG), last = new Float32Array(B * S).fill(0);
  labels.forEach((l, b) => {
    if (l.some((id) => !Number.isInteger(id) || id < 1 || id >= V)) throw new RangeError(`ctcLoss: label ids must be 1..${V - 1}`);
    if (!(frames[b] >= 1 && frames[b] <= T)) throw new RangeError(`ctcLoss: utterance ${b} has ${frames[b]} frames of ${T}`);
    l.forEach((id, k) => {
      ext[b * S + 2 * k + 1] = id;
      // a label may follow the label two back directly (skipping the blank) unless both are the same
      if (k > 0 && l[k - 1] !== id) skip[b * S + 2 * k + 1] = 0;
    });
    const Sb = 2 * l.length + 1;
    last[b * S + Sb - 1] = 1;
    if (Sb > 1) last[b * S + Sb - 2] = 1;
  });
  return tf.tidy(() => {
    // emit[b, t, s] = logProbs[b, t, ext[b, s]] by a one-hot matmul
    const emit = tf.matMul(logProbs, tf.transpose(tf.oneHot(tf.tensor2d(ext, [B, S], 'int32'), V), [0, 2, 1])) as tf.Tensor3D;
    const steps = tf.unstack(emit, 1) as tf.Tensor2D[];
    const skipT = tf.tensor2d(skip, [B, S]), negs1 = tf.fill([B, 1], NEG), negs2 = tf.fill([B, 2], NEG);
    const init = new Float32Array(B * S).fill(NEG);
    for (let b = 0; b < B; b++) { init[b * S] = 0; if (S > 1) init[b * S + 1] = 0; }
    let alpha = tf.add(steps[0], tf.tensor2d(init, [B, S])) as tf.Tensor2D;
    for (let t = 1; t < T; t++) {
      const a1 = tf.concat([negs1, tf.slice(alpha, [0, 0], [B, S - 1])], 1);
      const a2 = tf.add(tf.concat([negs2, tf.slice(alpha, [0, 0], [B, S - 2])], 1), skipT);
      const next = tf.add(tf.logSumExp(tf.stack([alpha, a1, a2], 2), 2), steps[t]) as tf.Tensor2D;
      const live = tf.tensor2d(frames.map((f) => (t < f ? 1 : 0)), [B, 1]);
      alpha = tf.add(tf.mul(next, live), tf.mul(alpha, tf.sub(1, live))) as tf.Tensor2D;
    }
    const ll = tf.logSumExp(tf.add(alpha, tf.mul(tf.sub(1, tf.tensor2d(last, [B, S])), NEG)), 1);
    const norm = tf.tensor1d(labels.map((l) => Math.max(1, l.length)));
    return tf.neg(tf.mean(tf.div(ll, norm))) as tf.Scalar;
  });
}

/** Greedy decoding: the best id per frame, repeats merged, blanks dropped. probs rows [T][V]. */
export function ctcGreedy(rows: readonly ArrayLike<number>[]): number[] {
  const out: number[] = [];
  let prev = -1;
  for (const r of rows) {
    let best = 0;
    for (let v = 1; v < r.length; v++) if (r[v] > r[best]) best = v;
    if (best !== prev && best !== 0) out.push(best);
    prev = best;
  }
  return out;
}

/**
 * A prior over transcripts for beam search (shallow fusion): `prefix` scores a prefix of label ids
 * (added to its CTC log-probability when the beam is ranked; -Infinity drops it), `final` a whole
 * transcript when the best is chosen. Both are log-scores.
 */
export interface BeamPrior {
  prefix?(ids: readonly number[]): number;
  final?(ids: readonly number[]): number;
  /** the most that `final` can gain from one more label (the search's floor drops by as much) */
  bonus?: number;
}

/**
 * Prefix beam search (Hannun et al., 2014) over log-probability rows [T][V], with an optional prior
 * (a language model or a grammar). In each frame only the `beam` likeliest labels above `floor`
 * minus the prior's `bonus` are tried (a label at e^-16 cannot outweigh the path without it,
 * unless the prior rewards it).
 */
export function ctcBeam(logRows: readonly ArrayLike<number>[], beam: number, prior: BeamPrior = {}, floor = -16): number[] {
  if (!Number.isInteger(beam) || beam < 1 || beam > 64) throw new RangeError(`beam must be a whole number from 1 to 64, got ${beam}`);
  const lse = (a: number, b: number) => (a === -Infinity ? b : b === -Infinity ? a : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));
  const score = (ids: number[]) => (prior.prefix ? prior.prefix(ids) : 0), lowest = floor - (prior.bonus ?? 0);
  // each prefix: log p ending in blank, log p ending in its last label, the prior's score, and the
  // prior's scores of its extensions (kept while the prefix stays in the beam, so memory stays beam x V)
  type Entry = { ids: number[]; pb: number; pnb: number; lm: number; kids: Map<number, number> };
  let beams = new Map<string, Entry>([['', { ids: [], pb: 0, pnb: -Infinity, lm: score([]), kids: new Map() }]]);
  for (const r of logRows) {
    const next = new Map<string, Entry>();
    const at = (k: string, ids: number[], lm: number, kids?: Map<number, number>) => {
      let e = next.get(k);
      if (!e) { e = { ids, pb: -Infinity, pnb: -Infinity, lm, kids: kids ?? new Map() }; next.set(k, e); } else if (kids && !e.kids.size) e.kids = kids;
      return e;
    };
    const labels: number[] = [];
    for (let v = 1; v < r.length; v++) if (r[v] >= lowest) labels.push(v);
    if (labels.length > beam) labels.sort((a, b) => r[b] - r[a]).length = beam;
    for (const [key, { ids, pb, pnb, lm, kids }] of beams) {
      const total = lse(pb, pnb), lastId = ids.length ? ids[ids.length - 1] : -1;
      const same = at(key, ids, lm, kids);
      same.pb = lse(same.pb, total + r[0]);
      if (lastId >= 0) same.pnb = lse(same.pnb, pnb + r[lastId]);
      for (const v of labels) {
        let klm = kids.get(v);
        if (klm === undefined) { klm = score([...ids, v]); kids.set(v, klm); }
        if (klm === -Infinity) continue;
        const ext = at(key ? `${key},${v}` : String(v), [...ids, v], klm);
        ext.pnb = lse(ext.pnb, (v === lastId ? pb : total) + r[v]);
      }
    }
    const live = [...next.entries()].filter(([, e]) => e.lm > -Infinity && lse(e.pb, e.pnb) > -Infinity);
    beams = new Map(live.sort((a, b) => lse(b[1].pb, b[1].pnb) + b[1].lm - lse(a[1].pb, a[1].pnb) - a[1].lm).slice(0, beam));
  }
  const ends = [...beams.values()].map((e) => ({ ids: e.ids, s: lse(e.pb, e.pnb) + e.lm + (prior.final ? prior.final(e.ids) : 0) }));
  if (!ends.length) return [];
  return ends.reduce((a, b) => (b.s > a.s ? b : a)).ids;
}
