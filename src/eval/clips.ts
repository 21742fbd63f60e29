// Which clip generator gives accurate visuals (issue 12): clips made for prompts phrased with the
// evaluation templates (word orders and phrasings no training caption used, every synonym), judged
// from their pixels (src/eval/judge.ts), with the true renderer's clips of the same prompts as the
// reference row. Per-attribute and exact-match accuracy, exact match on held-out pairs, digit
// consistency across frames, diversity across seeds, temporal smoothness and time per clip.
import { fillTemplate, EVAL_TEMPLATES } from '../data/clips/captions.js';
import { ATTRIBUTE_NAMES, COLOURS, DIGITS, DIRECTIONS, FRAMES, isHeldOutPair, SIZES, SPEEDS, type AttributeName, type ObjectAttributes } from '../data/clips/world.js';
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../models/classifier.js';
import { fitGaussian, frechetDistance } from './frechet.js';
import { Rng } from '../util/rng.js';
import { agreement, digitCrop, judgeClip, measureFrames } from './judge.js';

export interface EvalPrompt { text: string; asked: ObjectAttributes; heldOut: boolean }

/** n prompts from the evaluation templates, the 40 digit-direction pairs in turn (a quarter of them held out), the other attributes drawn. */
export function evalPrompts(n: number, seed = 1): EvalPrompt[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const digit = DIGITS[i % 10], direction = DIRECTIONS[Math.floor(i / 10) % 4];
    const asked: ObjectAttributes = { digit, direction, colour: COLOURS[rng.int(COLOURS.length)], speed: SPEEDS[rng.int(2)], size: SIZES[rng.int(2)] };
    return { text: fillTemplate(EVAL_TEMPLATES[i % EVAL_TEMPLATES.length], asked, rng), asked, heldOut: isHeldOutPair(digit, direction) };
  });
}

export interface ClipMetrics {
  clips: number;
  heldOutClips: number;
  perAttribute: Record<AttributeName, number>;
  exact: number;
  exactHeldOut: number;
  exactSeen: number;
  /** share of frames whose digit is the clip's (mean over clips) */
  digitConsistency: number;
  /** RMS pixel distance between the digit crops of one prompt's clips across seeds */
  diversity: number;
  /** RMS deviation of the object's per-frame motion from its mean motion, pixels (0: constant velocity) */
  jitter: number;
  /** mean absolute change of the digit crop from frame to frame (0: the same digit in every frame) */
  flicker: number;
  /** median milliseconds per clip */
  msPerClip: number;
  /** the Frechet distance of the object crops' classifier features (4 frames a clip) to the true renderer's clips of the same prompts (fd on ClipFeatures) */
  frechet?: number;
  /** the second judge (the clip captioner's caption, parsed), where one was given */
  captionJudge?: {
    perAttribute: Record<AttributeName, number>;
    exact: number;
    /** share of (clip, attribute) verdicts, right or wrong, on which the two judges agree */
    agreement: number;
  };
}

/** What a second judge reads from a clip's frames: the attributes it sees (unsaid ones missing). */
export type SecondJudge = (frames: Float32Array) => Partial<ObjectAttributes>;

export type ClipMaker = (text: string, seed: number) => Promise<Float32Array>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : Number.NaN;
}

/** Motion jitter and crop flicker of one clip. */
export function smoothness(frames: Float32Array): { jitter: number; flicker: number } {
  const ms = measureFrames(frames), crops = ms.map((m, f) => digitCrop(frames, f, m));
  const dx = ms.slice(1).map((m, i) => m.cx - ms[i].cx), dy = ms.slice(1).map((m, i) => m.cy - ms[i].cy);
  const mx = dx.reduce((a, b) => a + b, 0) / dx.length, my = dy.reduce((a, b) => a + b, 0) / dy.length;
  const jitter = Math.sqrt(dx.reduce((s, v, i) => s + (v - mx) ** 2 + (dy[i] - my) ** 2, 0) / dx.length);
  let flicker = 0;
  for (let f = 1; f < FRAMES; f++) for (let p = 0; p < 784; p++) flicker += Math.abs(crops[f][p] - crops[f - 1][p]);
  return { jitter, flicker: flicker / ((FRAMES - 1) * 784) };
}

/**
 * Judges the clips `make` gives for `prompts` (clip i with seed i), and for diversity the first
 * `diversityPrompts` prompts again with `diversitySeeds` seeds each.
 */
export async function evaluateClips(make: ClipMaker, clf: Classifier, prompts: EvalPrompt[], o: { diversityPrompts?: number; diversitySeeds?: number; onClip?: (i: number, n: number) => void; secondJudge?: SecondJudge; features?: ClipFeatures } = {}): Promise<ClipMetrics> {
  const per = Object.fromEntries(ATTRIBUTE_NAMES.map((a) => [a, 0])) as Record<AttributeName, number>;
  const per2 = Object.fromEntries(ATTRIBUTE_NAMES.map((a) => [a, 0])) as Record<AttributeName, number>;
  let exact2 = 0, agree = 0;
  let exact = 0, exactHeld = 0, held = 0, consistency = 0, jitter = 0, flicker = 0;
  const times: number[] = [];
  for (let i = 0; i < prompts.length; i++) {
    const p = prompts[i], t0 = performance.now();
    const frames = await make(p.text, i);
    times.push(performance.now() - t0);
    const j = judgeClip(frames, clf), a = agreement(j, p.asked);
    for (const k of ATTRIBUTE_NAMES) per[k] += a.perAttribute[k] ? 1 : 0;
    exact += a.exact ? 1 : 0;
    if (o.secondJudge) {
      const seen = o.secondJudge(frames);
      let all = true;
      for (const k of ATTRIBUTE_NAMES) {
        const right = seen[k] === p.asked[k];
        per2[k] += right ? 1 : 0;
        agree += right === a.perAttribute[k] ? 1 : 0;
        all &&= right;
      }
      exact2 += all ? 1 : 0;
    }
    if (p.heldOut) { held += 1; exactHeld += a.exact ? 1 : 0; }
    consistency += j.digitConsistency;
    const s = smoothness(frames);
    jitter += s.jitter; flicker += s.flicker;
    o.features?.add(frames, clf);
    o.onClip?.(i + 1, prompts.length);
  }
  const D = Math.min(o.diversityPrompts ?? 10, prompts.length), S = o.diversitySeeds ?? 4;
  let div = 0, pairs = 0;
  for (let i = 0; i < D; i++) {
    const crops: Float32Array[] = [];
    for (let s = 0; s < S; s++) {
      const frames = await make(prompts[i].text, 1_000_000 + i * S + s), mid = FRAMES >> 1;
      crops.push(digitCrop(frames, mid, measureFrames(frames)[mid]));
    }
    for (let a = 0; a < S; a++) for (let b = a + 1; b < S; b++) {
      let d = 0;
      for (let p = 0; p < 784; p++) d += (crops[a][p] - crops[b][p]) ** 2;
      div += Math.sqrt(d / 784); pairs += 1;
    }
  }
  const n = prompts.length, seen = n - held;
  return {
    clips: n, heldOutClips: held,
    perAttribute: Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, per[k] / n])) as Record<AttributeName, number>,
    exact: exact / n, exactHeldOut: held ? exactHeld / held : Number.NaN, exactSeen: seen ? (exact - exactHeld) / seen : Number.NaN,
    digitConsistency: consistency / n, diversity: pairs ? div / pairs : Number.NaN, jitter: jitter / n, flicker: flicker / n, msPerClip: median(times),
    ...(o.secondJudge ? { captionJudge: { perAttribute: Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, per2[k] / n])) as Record<AttributeName, number>, exact: exact2 / n, agreement: agree / (n * ATTRIBUTE_NAMES.length) } } : {}),
  };
}

/** The frames whose object crops the Frechet distance reads: four spread over the clip. */
const FD_FRAMES = [0, 5, 10, 15];

/** The digit classifier's features of clips' object crops, collected as clips are judged, for a Frechet distance between two sets. */
export class ClipFeatures {
  private readonly rows: Float32Array[] = [];
  dim = 0;

  add(frames: Float32Array, clf: Classifier): void {
    const ms = measureFrames(frames), crops = new Float32Array(FD_FRAMES.length * 784);
    FD_FRAMES.forEach((f, i) => crops.set(digitCrop(frames, f, ms[f]), i * 784));
    const f = tf.tidy(() => clf.features(tf.tensor4d(crops, [FD_FRAMES.length, 28, 28, 1])));
    this.dim = f.shape[1];
    this.rows.push(f.dataSync() as Float32Array);
    f.dispose();
  }

  get n(): number {
    return this.rows.length * FD_FRAMES.length;
  }

  /** The Frechet distance between this set's features and another's. */
  fd(other: ClipFeatures): number {
    const flat = (c: ClipFeatures) => { const out = new Float32Array(c.n * c.dim); c.rows.forEach((r, i) => out.set(r, i * r.length)); return out; };
    return frechetDistance(fitGaussian(flat(this), this.n, this.dim), fitGaussian(flat(other), other.n, other.dim));
  }
}

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : 'n/a');

/** The comparison as a Markdown table, one row per model. */
export function clipTable(rows: { name: string; m: ClipMetrics }[]): string {
  const second = rows.some((r) => r.m.captionJudge);
  const head = ['model', 'clips', ...ATTRIBUTE_NAMES, 'exact', 'exact, held-out pairs', 'exact, seen pairs', 'digit consistency', 'diversity', 'jitter (px)', 'flicker', 'FD', 'ms/clip', ...(second ? ['caption judge: exact', 'judges agree'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const { name, m } of rows) {
    lines.push(`| ${[name, String(m.clips), ...ATTRIBUTE_NAMES.map((k) => pct(m.perAttribute[k])), pct(m.exact), pct(m.exactHeldOut), pct(m.exactSeen), pct(m.digitConsistency),
      m.diversity.toFixed(3), m.jitter.toFixed(2), m.flicker.toFixed(3), m.frechet === undefined ? 'n/a' : m.frechet.toFixed(2), String(Math.round(m.msPerClip)), ...(second ? [pct(m.captionJudge?.exact ?? NaN), pct(m.captionJudge?.agreement ?? NaN)] : [])].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
