// The project's clip judge (spec/CLIPS.md, "What accurate means"): it looks only at a clip's
// pixels. Per frame it finds the lit object (its bounding box, centre of mass and mean colour)
// and reads the digit with the digit classifier on the object's crop, prepared as MNIST's
// digits are (the larger side scaled to 20 pixels, centred by mass in 28 x 28). Then:
// digit = the classifier's most frequent answer; colour = the nearest of the five tints;
// direction and speed = the centre of mass's displacement over the clip, its axis, sign and
// pixels per frame (threshold halfway between the speeds); size = the box nearer the digit height
// of a small or a large digit.
import * as tf from '@tensorflow/tfjs-core';
import { ATTRIBUTE_NAMES, COLOUR_RGB, COLOURS, DIGITS, FRAMES, SIDE, SIZE_PIXELS, SPEED_PIXELS, type AttributeName, type Colour, type Digit, type Direction, type ObjectAttributes, type Size, type Speed } from '../data/clips/world.js';
import type { Classifier } from '../models/classifier.js';

/** A pixel counts as the object's when its brightest channel reaches this. */
const LIT = 0.2;

export interface FrameMeasure {
  /** lit pixels */
  lit: number;
  /** [x0, y0, x1, y1], inclusive */
  box: [number, number, number, number];
  cx: number;
  cy: number;
  /** mean colour of the lit pixels, scaled so that its largest channel is 1 */
  rgb: [number, number, number];
}

/** Measures each frame of [FRAMES, SIDE, SIDE, 3]. A frame with nothing lit has lit 0 and the canvas centre. */
export function measureFrames(frames: Float32Array): FrameMeasure[] {
  return Array.from({ length: FRAMES }, (_, f) => {
    let x0 = SIDE, y0 = SIDE, x1 = -1, y1 = -1, m = 0, cx = 0, cy = 0, lit = 0;
    const rgb: [number, number, number] = [0, 0, 0];
    for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) {
      const p = (f * SIDE * SIDE + y * SIDE + x) * 3, g = Math.max(frames[p], frames[p + 1], frames[p + 2]);
      if (g < LIT) continue;
      lit += 1; m += g; cx += g * x; cy += g * y;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      for (let c = 0; c < 3; c++) rgb[c] += frames[p + c];
    }
    const top = Math.max(...rgb) || 1;
    return lit ? { lit, box: [x0, y0, x1, y1], cx: cx / m, cy: cy / m, rgb: rgb.map((v) => v / top) as [number, number, number] }
      : { lit: 0, box: [0, 0, -1, -1], cx: SIDE / 2, cy: SIDE / 2, rgb: [0, 0, 0] };
  });
}

/** The object of frame f as an MNIST-style 28x28 digit: grey = the brightest channel, the crop's larger side scaled to 20, centred by mass. */
export function digitCrop(frames: Float32Array, f: number, m: FrameMeasure): Float32Array {
  const out = new Float32Array(784);
  if (!m.lit) return out;
  const [x0, y0, x1, y1] = m.box, w = x1 - x0 + 1, h = y1 - y0 + 1, k = 20 / Math.max(w, h);
  const W = Math.max(1, Math.round(w * k)), H = Math.max(1, Math.round(h * k));
  const grey = (x: number, y: number) => { const p = (f * SIDE * SIDE + y * SIDE + x) * 3; return Math.max(frames[p], frames[p + 1], frames[p + 2]); };
  // box-filter resampling of the crop to W x H
  const small = new Float32Array(W * H), rx = w / W, ry = h / H;
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    const sy0 = y * ry, sy1 = (y + 1) * ry, sx0 = x * rx, sx1 = (x + 1) * rx;
    for (let sy = Math.floor(sy0); sy < Math.ceil(sy1); sy++) {
      const wy = Math.min(sy1, sy + 1) - Math.max(sy0, sy);
      for (let sx = Math.floor(sx0); sx < Math.ceil(sx1); sx++) s += wy * (Math.min(sx1, sx + 1) - Math.max(sx0, sx)) * grey(x0 + Math.min(sx, w - 1), y0 + Math.min(sy, h - 1));
    }
    const v = s / (rx * ry);
    small[y * W + x] = v; mass += v; mx += v * x; my += v * y;
  }
  const ox = Math.round(14 - (mass ? mx / mass : W / 2)), oy = Math.round(14 - (mass ? my / mass : H / 2));
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const tx = x + ox, ty = y + oy;
    if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = Math.min(1, small[y * W + x]);
  }
  return out;
}

export interface Judgement extends ObjectAttributes {
  /** the classifier's digit in each frame */
  frameDigits: Digit[];
  /** share of frames whose digit is the clip's */
  digitConsistency: number;
  /** centre-of-mass pixels per frame along the motion's axis */
  pixelsPerFrame: number;
  /** mean bounding-box side (the larger of width and height), pixels */
  boxSide: number;
}

// an MNIST digit fills about 20 of its 28 pixels; scaled, a small one spans ~14 and a large one ~23
const EXPECTED_SIDE: Record<Size, number> = { small: (SIZE_PIXELS.small * 20) / 28, large: (SIZE_PIXELS.large * 20) / 28 };

/** Judges one clip [FRAMES, SIDE, SIDE, 3] with the digit classifier. */
export function judgeClip(frames: Float32Array, classifier: Classifier): Judgement {
  const ms = measureFrames(frames);
  const crops = new Float32Array(FRAMES * 784);
  ms.forEach((m, f) => crops.set(digitCrop(frames, f, m), f * 784));
  const pred = tf.tidy(() => tf.argMax(classifier.logits(tf.tensor4d(crops, [FRAMES, 28, 28, 1])), 1).dataSync());
  const frameDigits = Array.from(pred, (d) => DIGITS[d]);
  const counts = new Array<number>(10).fill(0);
  frameDigits.forEach((d) => { counts[d] += 1; });
  const digit = DIGITS[counts.indexOf(Math.max(...counts))];
  const lit = ms.filter((m) => m.lit);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const rgb = [0, 1, 2].map((c) => mean(lit.map((m) => m.rgb[c])));
  const colour = COLOURS.reduce<Colour>((best, c) => (dist(COLOUR_RGB[c], rgb) < dist(COLOUR_RGB[best], rgb) ? c : best), 'white');
  const first = ms[0], last = ms[FRAMES - 1], dx = last.cx - first.cx, dy = last.cy - first.cy;
  const horizontal = Math.abs(dx) >= Math.abs(dy);
  const direction: Direction = horizontal ? (dx < 0 ? 'left' : 'right') : dy < 0 ? 'up' : 'down';
  const pixelsPerFrame = Math.abs(horizontal ? dx : dy) / (FRAMES - 1);
  const speed: Speed = pixelsPerFrame > (SPEED_PIXELS.slow + SPEED_PIXELS.fast) / 2 ? 'fast' : 'slow';
  const boxSide = mean(lit.map((m) => Math.max(m.box[2] - m.box[0] + 1, m.box[3] - m.box[1] + 1)));
  const size: Size = Math.abs(boxSide - EXPECTED_SIDE.small) <= Math.abs(boxSide - EXPECTED_SIDE.large) ? 'small' : 'large';
  return { digit, colour, direction, speed, size, frameDigits, digitConsistency: counts[digit] / FRAMES, pixelsPerFrame, boxSide };
}

function dist(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);
}

/** Which of the requested attributes the judge found, and whether all of them were. */
export function agreement(judged: ObjectAttributes, asked: Partial<ObjectAttributes>): { perAttribute: Partial<Record<AttributeName, boolean>>; exact: boolean } {
  const perAttribute: Partial<Record<AttributeName, boolean>> = {};
  for (const a of ATTRIBUTE_NAMES) if (asked[a] !== undefined) perAttribute[a] = judged[a] === asked[a];
  return { perAttribute, exact: Object.values(perAttribute).every(Boolean) };
}
