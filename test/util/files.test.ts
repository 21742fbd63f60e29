import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireRunLock, LOCK_FILE } from '../../src/checkpoint/lock.js';
import { UserError } from '../../src/util/errors.js';
import { writeFileAtomic } from '../../src/util/files.js';

const dir = mkdtempSync(join(tmpdir(), 'genlab-files-'));

function failing(code: string): (p: string, d: Uint8Array) => void {
  return (p, d) => {
    writeFileSync(p, d.subarray(0, 3)); // half the file, then the device gives up
    throw Object.assign(new Error(`${code}: simulated`), { code });
  };
}

describe('writeFileAtomic', () => {
  for (const [code, message] of [['ENOSPC', /no space left on the device/], ['EROFS', /read-only file system/], ['EACCES', /permission denied/]] as [string, RegExp][]) {
    it(`on ${code}: one clear UserError, the old file untouched, no temporary file left`, () => {
      const path = join(dir, `${code}.bin`);
      writeFileSync(path, 'old contents');
      let err: unknown;
      try { writeFileAtomic(path, Buffer.from('new contents'), failing(code)); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(message);
      expect(readFileSync(path, 'utf8')).toBe('old contents');
      expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    });
  }
  it('replaces the file in one step when the write succeeds', () => {
    const path = join(dir, 'ok.bin');
    writeFileSync(path, 'old');
    writeFileAtomic(path, Buffer.from('new'));
    expect(readFileSync(path, 'utf8')).toBe('new');
  });
});

describe('run lock', () => {
  it('refuses a second holder while the first lives, and is free again after release', () => {
    const d = join(dir, 'run1');
    const release = acquireRunLock(d);
    expect(() => acquireRunLock(d)).toThrow(/being written by another genlab process \(pid \d+/); // this very process counts as alive
    release();
    acquireRunLock(d)();
    expect(readdirSync(d)).toEqual([]);
  });
  it('takes over a lock whose process is gone (a crash or kill -9)', () => {
    const d = join(dir, 'run2');
    acquireRunLock(d)();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), started: '2026-01-01T00:00:00Z' }));
    const release = acquireRunLock(d);
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    release();
  });
});
