// A small line-plot renderer to PNG (no canvas dependency): axes, ticks with labels in a 5x7
// bitmap font, one polyline per series and a legend.
import { PNG } from 'pngjs';

export interface Series {
  name: string;
  color: [number, number, number];
  points: [number, number][];
}

const GLYPHS: Record<string, string[]> = {
  '0': ['01110', '10001', '10011', '10101', '11001', '10001', '01110'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11110', '00001', '00001', '01110', '00001', '00001', '11110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
  '7': ['11111', '00001', '00010', '00100', '01000', '01000', '01000'],
  '8': ['01110', '10001', '10001', '01110', '10001', '10001', '01110'],
  '9': ['01110', '10001', '10001', '01111', '00001', '00010', '01100'],
  '.': ['00000', '00000', '00000', '00000', '00000', '01100', '01100'],
  '-': ['00000', '00000', '00000', '11111', '00000', '00000', '00000'],
  ' ': ['00000', '00000', '00000', '00000', '00000', '00000', '00000'],
  a: ['00000', '00000', '01110', '00001', '01111', '10001', '01111'],
  b: ['10000', '10000', '10110', '11001', '10001', '10001', '11110'],
  d: ['00001', '00001', '01101', '10011', '10001', '10001', '01111'],
  f: ['00110', '01001', '01000', '11100', '01000', '01000', '01000'],
  g: ['00000', '01111', '10001', '10001', '01111', '00001', '01110'],
  m: ['00000', '00000', '11010', '10101', '10101', '10001', '10001'],
  u: ['00000', '00000', '10001', '10001', '10001', '10011', '01101'],
  w: ['00000', '00000', '10001', '10001', '10101', '10101', '01010'],
  x: ['00000', '00000', '10001', '01010', '00100', '01010', '10001'],
  y: ['00000', '00000', '10001', '10001', '01111', '00001', '01110'],
  z: ['00000', '00000', '11111', '00010', '00100', '01000', '11111'],
  '%': ['11000', '11001', '00010', '00100', '01000', '10011', '00011'],
  ':': ['00000', '01100', '01100', '00000', '01100', '01100', '00000'],
  e: ['00000', '00000', '01110', '10001', '11111', '10000', '01110'],
  i: ['00100', '00000', '01100', '00100', '00100', '00100', '01110'],
  k: ['10000', '10000', '10010', '10100', '11000', '10100', '10010'],
  l: ['01100', '00100', '00100', '00100', '00100', '00100', '01110'],
  n: ['00000', '00000', '10110', '11001', '10001', '10001', '10001'],
  o: ['00000', '00000', '01110', '10001', '10001', '10001', '01110'],
  p: ['00000', '00000', '11110', '10001', '11110', '10000', '10000'],
  r: ['00000', '00000', '10110', '11001', '10000', '10000', '10000'],
  s: ['00000', '00000', '01111', '10000', '01110', '00001', '11110'],
  t: ['01000', '01000', '11100', '01000', '01000', '01001', '00110'],
  v: ['00000', '00000', '10001', '10001', '10001', '01010', '00100'],
  '(': ['00010', '00100', '01000', '01000', '01000', '00100', '00010'],
  ')': ['01000', '00100', '00010', '00010', '00010', '00100', '01000'],
  '/': ['00001', '00010', '00010', '00100', '01000', '01000', '10000'],
  c: ['00000', '00000', '01110', '10000', '10000', '10001', '01110'],
  h: ['10000', '10000', '10110', '11001', '10001', '10001', '10001'],
};

class Canvas {
  readonly png: PNG;
  constructor(readonly w: number, readonly h: number) {
    this.png = new PNG({ width: w, height: h });
    this.png.data.fill(255);
  }
  set(x: number, y: number, c: [number, number, number]): void {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.w || y >= this.h) return;
    const i = (y * this.w + x) * 4;
    this.png.data[i] = c[0]; this.png.data[i + 1] = c[1]; this.png.data[i + 2] = c[2]; this.png.data[i + 3] = 255;
  }
  line(x0: number, y0: number, x1: number, y1: number, c: [number, number, number], thick = 1): void {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= n; s++) {
      const x = x0 + ((x1 - x0) * s) / n, y = y0 + ((y1 - y0) * s) / n;
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) this.set(x + dx, y + dy, c);
    }
  }
  text(x: number, y: number, s: string, c: [number, number, number] = [40, 40, 40]): void {
    for (const ch of s) {
      const g = GLYPHS[ch] ?? GLYPHS[' '];
      g.forEach((row, r) => { for (let k = 0; k < 5; k++) if (row[k] === '1') this.set(x + k, y + r, c); });
      x += 6;
    }
  }
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return String(Math.round(v));
  return Number(v.toPrecision(3)).toString();
}

function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1, raw = span / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Renders the series as a PNG (x: step, y: loss). */
export function renderLinePlot(series: Series[], opts: { width?: number; height?: number; xLabel?: string; yLabel?: string } = {}): Buffer {
  const W = opts.width ?? 720, H = opts.height ?? 420;
  const cv = new Canvas(W, H);
  const left = 60, right = W - 20, top = 30, bottom = H - 40;
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (!all.length) throw new Error('nothing to plot: no finite points');
  let x0 = Math.min(...all.map((p) => p[0])), x1 = Math.max(...all.map((p) => p[0]));
  let y0 = Math.min(...all.map((p) => p[1])), y1 = Math.max(...all.map((p) => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const X = (v: number) => left + ((v - x0) / (x1 - x0)) * (right - left);
  const Y = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
  const grey: [number, number, number] = [225, 225, 225], axis: [number, number, number] = [60, 60, 60];
  for (const t of ticks(y0, y1)) { cv.line(left, Y(t), right, Y(t), grey); cv.text(left - 6 * fmt(t).length - 6, Y(t) - 3, fmt(t)); }
  for (const t of ticks(x0, x1)) { cv.line(X(t), top, X(t), bottom, grey); cv.text(X(t) - 3 * fmt(t).length, bottom + 8, fmt(t)); }
  cv.line(left, bottom, right, bottom, axis); cv.line(left, top, left, bottom, axis);
  for (const s of series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    for (let i = 1; i < pts.length; i++) cv.line(X(pts[i - 1][0]), Y(pts[i - 1][1]), X(pts[i][0]), Y(pts[i][1]), s.color, 2);
    if (pts.length === 1) cv.line(X(pts[0][0]) - 2, Y(pts[0][1]), X(pts[0][0]) + 2, Y(pts[0][1]), s.color, 3);
  }
  series.forEach((s, i) => { const y = top + 6 + i * 14; cv.line(right - 90, y + 3, right - 70, y + 3, s.color, 3); cv.text(right - 62, y, s.name); });
  if (opts.xLabel) cv.text((left + right) / 2 - 3 * opts.xLabel.length, H - 14, opts.xLabel);
  if (opts.yLabel) cv.text(8, 10, opts.yLabel);
  return PNG.sync.write(cv.png);
}

/** A grouped bar chart as a PNG: one group per label, one bar per series (values in [0, yMax]). */
export function renderBarChart(labels: string[], series: { name: string; color: [number, number, number]; values: number[] }[], opts: { width?: number; height?: number; yMax?: number; yLabel?: string } = {}): Buffer {
  const W = opts.width ?? 720, H = opts.height ?? 360, yMax = opts.yMax ?? 1;
  const cv = new Canvas(W, H);
  const left = 50, right = W - 20, top = 20 + 14 * series.length, bottom = H - 30;
  const Y = (v: number) => bottom - (Math.max(0, Math.min(yMax, v)) / yMax) * (bottom - top);
  for (const t of ticks(0, yMax)) { cv.line(left, Y(t), right, Y(t), [225, 225, 225]); cv.text(left - 6 * fmt(t).length - 6, Y(t) - 3, fmt(t)); }
  cv.line(left, bottom, right, bottom, [60, 60, 60]); cv.line(left, top, left, bottom, [60, 60, 60]);
  const gw = (right - left) / Math.max(1, labels.length), bw = Math.max(2, Math.floor((gw * 0.8) / Math.max(1, series.length)));
  labels.forEach((l, g) => {
    series.forEach((s, k) => {
      const x = left + g * gw + gw * 0.1 + k * bw, v = s.values[g];
      if (Number.isFinite(v)) for (let xx = x; xx < x + bw - 1; xx++) cv.line(xx, Y(v), xx, bottom, s.color);
    });
    cv.text(left + g * gw + gw / 2 - 3 * l.length, bottom + 8, l);
  });
  series.forEach((s, i) => { const y = 8 + i * 14; cv.line(right - 150, y + 3, right - 130, y + 3, s.color, 3); cv.text(right - 122, y, s.name); });
  if (opts.yLabel) cv.text(8, 8, opts.yLabel);
  return PNG.sync.write(cv.png);
}
