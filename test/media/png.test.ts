import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeGrayPng, encodeGrayPng, imageGrid, readGrayPng } from '../../src/media/png.js';
import { writeFileAtomic } from '../../src/util/files.js';

const dir = mkdtempSync(join(tmpdir(), 'genlab-png-'));
const img = { width: 3, height: 2, pixels: Float32Array.of(0, 0.5, 1, 1, 0.25, 0) };

describe('PNG', () => {
  it('round-trips a grayscale image to 8-bit precision', () => {
    const back = decodeGrayPng(encodeGrayPng(img), 'mem');
    expect([back.width, back.height]).toEqual([3, 2]);
    back.pixels.forEach((v, i) => expect(Math.abs(v - img.pixels[i])).toBeLessThanOrEqual(0.5 / 255 + 1e-6));
  });
  it('refuses a file that is not a PNG, a damaged PNG, and a wrong size, clearly', () => {
    const notPng = join(dir, 'x.png');
    writeFileSync(notPng, 'hello');
    expect(() => readGrayPng(notPng)).toThrow(/x\.png is not a PNG file/);
    const damaged = join(dir, 'd.png');
    writeFileSync(damaged, encodeGrayPng(img).subarray(0, 30));
    expect(() => readGrayPng(damaged)).toThrow(/is a damaged PNG/);
    const ok = join(dir, 'ok.png');
    writeFileAtomic(ok, encodeGrayPng(img));
    expect(() => readGrayPng(ok, { width: 28, height: 28 })).toThrow(/ok\.png is 3x2; the model takes 28x28 images/);
    expect(() => readGrayPng(join(dir, 'missing.png'))).toThrow(/no such file/);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
  it('lays images out in a grid with padding', () => {
    const two = Float32Array.of(1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5); // two 2x2 images
    const g = imageGrid(two, 2, 2, 2, 2, 1);
    expect([g.width, g.height]).toEqual([7, 4]);
    expect(g.pixels[1 * 7 + 1]).toBe(1); // first image at (1, 1)
    expect(g.pixels[1 * 7 + 4]).toBe(0.5); // second image at (4, 1)
    expect(g.pixels[0]).toBe(0); // padding
  });
});
