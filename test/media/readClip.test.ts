import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipSampler } from '../../src/data/clips/dataset.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { encodeMp4 } from '../../src/media/clip.js';
import { encodeGif } from '../../src/media/gif.js';
import { readClipFile } from '../../src/media/readClip.js';
import { Rng } from '../../src/util/rng.js';

const F = { frames: 16, side: 64 };
const dir = mkdtempSync(join(tmpdir(), 'genlab-readclip-'));
const { frames } = new ClipSampler(loadMnistPackage().test, 'eval', new Rng(2)).batch(1);
const meanAbs = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('reading clips back', () => {
  it('a GIF at scale 1 and 3 reads back to the same 16 frames of 64x64 (up to the palette)', () => {
    for (const scale of [1, 3]) {
      const p = join(dir, `c${scale}.gif`);
      writeFileSync(p, encodeGif(frames, { frames: 16, height: 64, width: 64, fps: 8, scale }));
      const back = readClipFile(p, F);
      expect(back).toHaveLength(frames.length);
      expect(meanAbs(back, frames)).toBeLessThan(0.01);
    }
  });

  it('an MP4 reads back through ffmpeg (H.264 is lossy: close, not equal)', () => {
    const p = join(dir, 'c.mp4');
    writeFileSync(p, encodeMp4(frames, { frames: 16, height: 64, width: 64, fps: 8 }, 2));
    const back = readClipFile(p, F);
    expect(back).toHaveLength(frames.length);
    expect(meanAbs(back, frames)).toBeLessThan(0.03);
  });

  it('anything else is a clear error', () => {
    const eight = join(dir, 'eight.gif'), odd = join(dir, 'odd.gif'), junk = join(dir, 'junk.gif'), txt = join(dir, 'a.txt'), sub = join(dir, 'sub.gif');
    writeFileSync(eight, encodeGif(frames.subarray(0, 8 * 64 * 64 * 3), { frames: 8, height: 64, width: 64, fps: 8 }));
    writeFileSync(odd, encodeGif(new Float32Array(16 * 50 * 50 * 3), { frames: 16, height: 50, width: 50, fps: 8 }));
    writeFileSync(junk, 'GIF89a not really');
    writeFileSync(txt, 'hello');
    mkdirSync(sub);
    expect(() => readClipFile(eight, F)).toThrow(/has 8 frame\(s\); a clip of the clip world has 16/);
    expect(() => readClipFile(odd, F)).toThrow(/is 50x50; a clip of the clip world is 64x64/);
    expect(() => readClipFile(junk, F)).toThrow(/not a readable GIF|cannot be decoded/);
    expect(() => readClipFile(txt, F)).toThrow(/give a \.gif or \.mp4 clip/);
    expect(() => readClipFile(join(dir, 'missing.gif'), F)).toThrow(/no such file/);
    expect(() => readClipFile(sub, F)).toThrow(/is a directory/);
    writeFileSync(join(dir, 'junk.mp4'), 'not a video');
    expect(() => readClipFile(join(dir, 'junk.mp4'), F)).toThrow(/is not a readable video/);
  });
});
