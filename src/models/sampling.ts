// Sampling as small composable logits processors (temperature, top-k, top-p) over one row of
// logits, then a draw from the softmax with a seeded RNG.
import type { Rng } from '../util/rng.js';

export type LogitsProcessor = (logits: Float32Array) => Float32Array;

export function temperature(t: number): LogitsProcessor {
  if (!(t > 0)) throw new RangeError(`temperature must be > 0, got ${t}`);
  return (l) => l.map((v) => v / t);
}

/** Keeps the k largest logits. */
export function topK(k: number): LogitsProcessor {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k must be a positive integer, got ${k}`);
  return (l) => {
    if (k >= l.length) return l;
    const kth = Float32Array.from(l).sort().reverse()[k - 1];
    return l.map((v) => (v >= kth ? v : -Infinity));
  };
}

/** Keeps the smallest set of tokens whose probability mass reaches p (nucleus sampling, Holtzman et al. 2020). */
export function topP(p: number): LogitsProcessor {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
  return (l) => {
    const probs = softmax(l);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
    const keep = new Uint8Array(l.length);
    let mass = 0;
    for (const i of order) {
      keep[i] = 1;
      mass += probs[i];
      if (mass >= p) break;
    }
    return l.map((v, i) => (keep[i] ? v : -Infinity));
  };
}

export function softmax(l: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of l) if (v > max) max = v;
  const out = new Float64Array(l.length);
  let sum = 0;
  for (let i = 0; i < l.length; i++) { out[i] = Math.exp(l[i] - max); sum += out[i]; }
  for (let i = 0; i < l.length; i++) out[i] /= sum;
  return out;
}

/** Draws an index from softmax(logits). */
export function drawToken(logits: Float32Array, rng: Rng): number {
  const probs = softmax(logits);
  let u = rng.next();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u < 0) return i;
  }
  for (let i = probs.length - 1; i >= 0; i--) if (probs[i] > 0) return i;
  return 0;
}

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
}

export function processors(o: SamplingOptions): LogitsProcessor[] {
  const ps: LogitsProcessor[] = [];
  if (o.temperature !== undefined && o.temperature !== 1) ps.push(temperature(o.temperature));
  if (o.topK !== undefined) ps.push(topK(o.topK));
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${o.topP}`);
  if (o.topP !== undefined && o.topP < 1) ps.push(topP(o.topP));
  return ps;
}
