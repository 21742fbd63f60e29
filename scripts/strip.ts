// Lays PNGs side by side, scaled up (for the README's figures).
// Usage: npx tsx scripts/strip.ts OUT.png SCALE IN1.png IN2.png ...
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeGrayPng, encodeGrayPng } from '../src/media/png.js';

const [out, scaleArg, ...inputs] = process.argv.slice(2);
const S = Number(scaleArg), pad = 2;
const imgs = inputs.map((n) => decodeGrayPng(readFileSync(n), n));
const H = Math.max(...imgs.map((i) => i.height)), W = imgs.reduce((s, i) => s + i.width + pad, pad);
const strip = new Float32Array(W * (H + 2 * pad));
let x0 = pad;
for (const im of imgs) {
  for (let y = 0; y < im.height; y++) strip.set(im.pixels.subarray(y * im.width, (y + 1) * im.width), (y + pad) * W + x0);
  x0 += im.width + pad;
}
const h = H + 2 * pad, big = new Float32Array(W * S * h * S);
for (let y = 0; y < h * S; y++) for (let x = 0; x < W * S; x++) big[y * W * S + x] = strip[Math.floor(y / S) * W + Math.floor(x / S)];
writeFileSync(out, encodeGrayPng({ width: W * S, height: h * S, pixels: big }));
