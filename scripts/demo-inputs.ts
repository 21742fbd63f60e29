// Writes the README's demo inputs from held-out digits (never trained on): a clean digit, a mask
// over its upper part, the digit with that part erased, a noisy and scratched copy, a sketch.
// Usage: npx tsx scripts/demo-inputs.ts [outdir=docs/inputs]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadImageData } from '../src/data/mnist.js';
import { encodeGrayPng } from '../src/media/png.js';
import { Rng } from '../src/util/rng.js';

const out = process.argv[2] ?? 'docs/inputs';
mkdirSync(out, { recursive: true });
const { test } = loadImageData('mnist');
const digit = (c: number, k = 0) => {
  const i = Array.from(test.labels).findIndex((l, j) => l === c && k-- === 0);
  return test.images.slice(i * 784, (i + 1) * 784);
};
const save = (name: string, pixels: Float32Array) => writeFileSync(join(out, name), encodeGrayPng({ width: 28, height: 28, pixels }));
const three = digit(3), seven = digit(7);
const mask = new Float32Array(784), damaged = three.slice();
for (let y = 5; y < 15; y++) for (let x = 3; x < 25; x++) { mask[y * 28 + x] = 1; damaged[y * 28 + x] = 0; }
const rng = new Rng(7), noisy = three.map((v) => Math.min(1, Math.max(0, v + 0.25 * rng.normal())));
for (let k = 2; k < 26; k++) noisy[k * 28 + Math.round(4 + k * 0.75)] = 1; // a scratch
// a rough sketch of a 2: three strokes
const sketch = new Float32Array(784);
const line = (x0: number, y0: number, x1: number, y1: number) => {
  for (let s = 0; s <= 40; s++) {
    const x = Math.round(x0 + ((x1 - x0) * s) / 40), y = Math.round(y0 + ((y1 - y0) * s) / 40);
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1]]) sketch[(y + dy) * 28 + x + dx] = 1;
  }
};
line(8, 8, 19, 7); line(19, 7, 9, 20); line(9, 20, 21, 20);
save('three.png', three); save('seven.png', seven); save('mask.png', mask); save('damaged.png', damaged); save('noisy.png', noisy); save('sketch.png', sketch);
process.stdout.write(`${out}: three.png seven.png mask.png damaged.png noisy.png sketch.png\n`);
