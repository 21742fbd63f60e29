import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, disposeMap, loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';

const root = mkdtempSync(join(tmpdir(), 'genlab-ck-'));
const meta = { format: CHECKPOINT_FORMAT, family: 'test', model: { a: 1 }, step: 7, rng: [1, 2, 3, 4], created: 'now' };

async function write(name: string): Promise<string> {
  const dir = join(root, name);
  const w = { w: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([0.5, -1e-7]) };
  const o = { 'm/w': tf.ones([2, 2]), 'v/w': tf.zeros([2, 2]) };
  await saveCheckpoint(dir, { meta, weights: w, optimizer: o });
  disposeMap(w); disposeMap(o);
  return dir;
}

describe('checkpoints', () => {
  it('round-trips weights, optimizer state and metadata exactly', async () => {
    const dir = await write('ok');
    expect(readdirSync(dir).sort()).toEqual(['MANIFEST', 'config.json', 'optimizer.bin', 'optimizer.json', 'weights.bin', 'weights.json']);
    const ck = loadCheckpoint(dir);
    expect(ck.meta.step).toBe(7);
    expect(ck.meta.rng).toEqual([1, 2, 3, 4]);
    expect(Array.from(ck.weights.w.dataSync())).toEqual([1, 2, 3, 4]);
    expect(ck.weights.b.dataSync()[1]).toBe(Math.fround(-1e-7));
    expect(Array.from(ck.optimizer!['m/w'].dataSync())).toEqual([1, 1, 1, 1]);
    disposeMap(ck.weights); disposeMap(ck.optimizer);
  });

  it('lists a sha256 of every file in MANIFEST', async () => {
    const dir = await write('manifest');
    const lines = readFileSync(join(dir, 'MANIFEST'), 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split('  ')[1]).sort()).toEqual(['config.json', 'optimizer.bin', 'optimizer.json', 'weights.bin', 'weights.json']);
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]{64} {2}\S+$/);
  });

  it('replaces an existing checkpoint atomically, leaving no temporary directory', async () => {
    await write('replace');
    const dir = await write('replace');
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(root).filter((n) => n.includes('.tmp-') || n.includes('.old-'))).toEqual([]);
  });

  it('refuses a corrupted weights file, naming it', async () => {
    const dir = await write('corrupt');
    const p = join(dir, 'weights.bin');
    const buf = readFileSync(p); buf[3] ^= 0xff; writeFileSync(p, buf);
    expect(() => loadCheckpoint(dir)).toThrow(/weights\.bin is corrupted or truncated/);
  });

  it('refuses a truncated optimizer file and an edited config, naming each', async () => {
    const dir = await write('trunc');
    truncateSync(join(dir, 'optimizer.bin'), 8);
    expect(() => loadCheckpoint(dir)).toThrow(/optimizer\.bin is corrupted or truncated/);
    const dir2 = await write('edited');
    appendFileSync(join(dir2, 'config.json'), ' ');
    expect(() => loadCheckpoint(dir2)).toThrow(/config\.json is corrupted/);
  });

  it('refuses a directory without MANIFEST or with a missing file', async () => {
    const dir = await write('missing');
    rmSync(join(dir, 'weights.json'));
    expect(() => loadCheckpoint(dir)).toThrow(/weights\.json is missing/);
    rmSync(join(dir, 'MANIFEST'));
    expect(() => loadCheckpoint(dir)).toThrow(/has no MANIFEST/);
    expect(() => loadCheckpoint(join(root, 'nothing'))).toThrow(/no checkpoint directory/);
  });
});

describe('half-precision checkpoints', () => {
  it('store weights as float16 that tf.io.decodeWeights reads back within half precision', async () => {
    const { toFloat16 } = await import('../../src/checkpoint/checkpoint.js');
    expect(Array.from(toFloat16(Float32Array.from([0, 1, -2, 65504, 1e6, 5.960464477539063e-8, 1e-9, 0.1])))).toEqual([0, 0x3c00, 0xc000, 0x7bff, 0x7c00, 1, 0, 0x2e66]);
    const dir = join(root, 'half');
    const values = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i) * 3);
    const w = { w: tf.tensor2d(values, [20, 10]) };
    await saveCheckpoint(dir, { meta, weights: w }, { half: true, extraFiles: { 'eval.md': Buffer.from('| a | b |\n') } });
    disposeMap(w);
    expect(readFileSync(join(dir, 'weights.bin')).length).toBe(400);
    expect(readFileSync(join(dir, 'MANIFEST'), 'utf8')).toMatch(/ {2}eval\.md$/m);
    const ck = loadCheckpoint(dir);
    expect(ck.weights.w.dtype).toBe('float32');
    const back = ck.weights.w.dataSync();
    for (let i = 0; i < values.length; i++) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11 + 1e-7);
    disposeMap(ck.weights);
  });
});
