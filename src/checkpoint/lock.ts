// One writer per run directory: a lock file holding the writer's pid and host, taken with an
// exclusive create. A lock whose process is gone (a crash, a kill -9) is stale and is taken over,
// so a crashed run never leaves its directory stuck.
import { hostname } from 'node:os';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { fsProblem, makeDirs } from '../util/files.js';

export const LOCK_FILE = '.genlab.lock';

interface LockInfo { pid: number; host: string; started: string; command?: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined; // unreadable or half-written: treated as stale below unless very recent
  }
}

/** Throws the "being written" UserError when a live process holds the lock of `dir` (a check before any work; acquireRunLock is the guarantee). */
export function refuseIfLocked(dir: string): void {
  const held = readLock(join(dir, LOCK_FILE));
  if (held && (held.host !== hostname() || alive(held.pid)) && held.pid !== process.pid) throw busy(dir, held);
}

function busy(dir: string, held: LockInfo | undefined): UserError {
  const who = held ? `pid ${held.pid}${held.host !== hostname() ? ` on ${held.host}` : ''}, since ${held.started}` : 'another process';
  return new UserError(`${dir} is being written by another genlab process (${who}); wait for it to finish or choose another --out`);
}

/** Takes the lock of `dir` (created if missing) for this process; returns its release. */
export function acquireRunLock(dir: string, command?: string): () => void {
  try {
    makeDirs(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'EEXIST' || code === 'ENOTDIR' ? `--out ${dir}: it (or a folder above it) is a file, not a folder` : `--out ${dir}: ${fsProblem(e, dir)}`);
  }
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`--out ${dir}: ${fsProblem(e, path)}`);
      const held = readLock(path);
      const fresh = (() => { try { return Date.now() - statSync(path).mtimeMs < 2000; } catch { return false; } })();
      const holderAlive = held ? held.host !== mine.host || alive(held.pid) : fresh;
      if (holderAlive) throw busy(dir, held);
      rmSync(path, { force: true }); // stale: its process is gone
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(mine) + '\n');
    } finally {
      closeSync(fd);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
      process.off('exit', release);
    };
    process.on('exit', release);
    return release;
  }
  throw new UserError(`${dir}: could not take its lock (${path}); remove it if no genlab process is running`);
}
