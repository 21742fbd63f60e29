// k-means (Lloyd's algorithm with k-means++ seeding) over rows of a flat Float32Array. The GAN's
// self-conditioning clusters the training images with it: pixels only, never the labels.
import type { Rng } from '../util/rng.js';

export interface KMeansResult {
  /** [k * d] cluster centres */
  centers: Float32Array;
  /** cluster of each row */
  assign: Int32Array;
  /** rows per cluster */
  sizes: number[];
}

function sqDist(x: Float32Array, i: number, c: Float32Array, k: number, d: number): number {
  let s = 0;
  const xo = i * d, co = k * d;
  for (let j = 0; j < d; j++) { const v = x[xo + j] - c[co + j]; s += v * v; }
  return s;
}

/** Clusters the n rows of x [n * d] into k groups; deterministic for a given rng state. Stops when no row changes cluster. */
export function kmeans(x: Float32Array, n: number, d: number, k: number, rng: Rng, maxIters = 30): KMeansResult {
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kmeans: k must be a whole number in [1, ${n}], got ${k}`);
  if (x.length !== n * d) throw new RangeError(`kmeans: ${x.length} values are not ${n} rows of ${d}`);
  const centers = new Float32Array(k * d), best = new Float64Array(n).fill(Infinity);
  // k-means++: each next centre is a row drawn with probability proportional to its squared distance to the nearest centre so far
  let pick = rng.int(n);
  for (let c = 0; c < k; c++) {
    centers.set(x.subarray(pick * d, pick * d + d), c * d);
    if (c === k - 1) break;
    let total = 0;
    for (let i = 0; i < n; i++) { best[i] = Math.min(best[i], sqDist(x, i, centers, c, d)); total += best[i]; }
    let r = rng.next() * total;
    pick = 0;
    while (pick < n - 1 && (r -= best[pick]) > 0) pick++;
  }
  const assign = new Int32Array(n).fill(-1), sizes = new Array<number>(k).fill(0);
  for (let it = 0; it < maxIters; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let a = 0, bd = Infinity;
      for (let c = 0; c < k; c++) { const s = sqDist(x, i, centers, c, d); if (s < bd) { bd = s; a = c; } }
      if (assign[i] !== a) { assign[i] = a; changed++; }
    }
    sizes.fill(0);
    const sums = new Float64Array(k * d);
    for (let i = 0; i < n; i++) { sizes[assign[i]]++; for (let j = 0; j < d; j++) sums[assign[i] * d + j] += x[i * d + j]; }
    // an emptied cluster keeps its centre (k-means++ seeds make that rare)
    for (let c = 0; c < k; c++) if (sizes[c] > 0) for (let j = 0; j < d; j++) centers[c * d + j] = sums[c * d + j] / sizes[c];
    if (changed === 0) break;
  }
  return { centers, assign, sizes };
}
