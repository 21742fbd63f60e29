import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CharTokenizer, randomBatch, readTextFile, sequentialBatches, splitTrainVal } from '../../src/data/text.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'genlab-text-'));
const file = (name: string, data: string | Buffer) => { const p = join(dir, name); writeFileSync(p, data); return p; };

describe('character tokenizer', () => {
  it('has the sorted set of characters as vocabulary and round-trips text', () => {
    const t = CharTokenizer.fromText('hello, world\n');
    expect(t.chars).toEqual(['\n', ' ', ',', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    expect(t.decode(t.encode('hello world'))).toBe('hello world');
    expect(Array.from(t.encode('he'))).toEqual([5, 4]);
  });
  it('treats a character outside the basic plane as one token', () => {
    const t = CharTokenizer.fromText('a😀b');
    expect(t.vocabSize).toBe(3);
    expect(t.decode(t.encode('😀a'))).toBe('😀a');
  });
  it('lists unknown characters and refuses to encode them', () => {
    const t = CharTokenizer.fromText('abc');
    expect(t.unknown('abxyx')).toEqual(['x', 'y']);
    expect(() => t.encode('abz')).toThrow(/outside the model's vocabulary: "z"/);
  });
  it('survives a JSON round trip', () => {
    const t = CharTokenizer.fromText('the quick fox');
    const back = new CharTokenizer(JSON.parse(JSON.stringify(t.toJSON())).chars);
    expect(back.encode('quick')).toEqual(t.encode('quick'));
  });
});

describe('train/validation split', () => {
  it('keeps the first 90% for training and the last 10% for validation, by position', () => {
    const ids = Int32Array.from({ length: 100 }, (_, i) => i);
    const { train, val } = splitTrainVal(ids);
    expect(train.length).toBe(90);
    expect(val.length).toBe(10);
    expect(train[89]).toBe(89);
    expect(val[0]).toBe(90);
  });
  it('draws windows whose targets are the inputs shifted by one', () => {
    const ids = Int32Array.from({ length: 50 }, (_, i) => i);
    const b = randomBatch(ids, 3, 8, new Rng(1));
    for (let i = 0; i < 3 * 8; i++) expect(b.y[i]).toBe(b.x[i] + 1);
  });
  it('covers the text with consecutive windows in evaluation', () => {
    const ids = Int32Array.from({ length: 41 }, (_, i) => i);
    const bs = [...sequentialBatches(ids, 3, 8)];
    expect(bs.map((b) => b.batch)).toEqual([3, 2]);
    expect(bs[1].x[8]).toBe(32);
  });
});

describe('reading text files', () => {
  it('reads UTF-8', () => expect(readTextFile(file('ok.txt', 'héllo'))).toBe('héllo'));
  it('refuses an empty file', () => expect(() => readTextFile(file('empty.txt', ''))).toThrow(/is empty/));
  it('refuses a binary file', () => expect(() => readTextFile(file('bin.dat', Buffer.from([1, 0, 2, 3])))).toThrow(/looks binary/));
  it('refuses invalid UTF-8', () => expect(() => readTextFile(file('latin1.txt', Buffer.from([0x68, 0xe9, 0x6c])))).toThrow(/not valid UTF-8/));
  it('names a missing file', () => expect(() => readTextFile(join(dir, 'nope.txt'))).toThrow(/no such file: .*nope\.txt/));
  it('refuses a directory', () => expect(() => readTextFile(dir)).toThrow(UserError));
});
