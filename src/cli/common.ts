// Shared CLI plumbing: error reporting, number parsing, run-time setup.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { LOCK_FILE, refuseIfLocked } from '../checkpoint/lock.js';
import { enclosingCheckpoint, realOrResolved } from '../util/files.js';
import { ConfigError } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { NonFiniteLossError } from '../train/trainer.js';
import { initBackend, type BackendInfo } from '../tensor/backend.js';

/** Errors a user can act on: printed as one line, exit code 1. */
export function isUserFacing(e: unknown): e is Error {
  return e instanceof UserError || e instanceof ConfigError || e instanceof NonFiniteLossError;
}

export function fail(message: string, code = 1): never {
  process.stderr.write(`genlab: error: ${message}\n`);
  process.exit(code);
}

/** Wraps a command action: user errors become one clear line; anything else a short report. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (isUserFacing(e)) fail(e.message);
      if (process.env.GENLAB_DEBUG) throw e;
      fail(`${(e as Error).message ?? String(e)}\n(unexpected; run again with GENLAB_DEBUG=1 to see where)`);
    }
  };
}

export function int(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    // plain decimal digits only: Number() would also take '', ' ', '0x10' and '1e3'
    if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}.`);
    return n;
  };
}

export function num(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number.`);
    return n;
  };
}

export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export async function setup(): Promise<BackendInfo> {
  const info = await initBackend();
  if (process.env.GENLAB_VERBOSE) process.stderr.write(`backend ${info.backend} (${info.detail}), ${info.threads} thread(s)\n`);
  return info;
}

/** A run directory given as --out: refused early when it is a file or another process is writing it. */
export function checkRunDir(out: string): void {
  if (!out) throw new UserError('--out needs a folder name');
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UserError(`--out ${out} is a file, not a folder`);
  const ck = enclosingCheckpoint(out);
  if (ck) throw new UserError(`--out ${out} is ${ck === realOrResolved(out) ? '' : 'inside '}a genlab checkpoint (${ck}); a run directory holds its checkpoint/ itself: choose a new folder`);
  // a new or empty folder, or a genlab run directory (its checkpoint/, its metrics, its lock); never a folder of the user's files
  if (existsSync(out)) {
    const entries = readdirSync(out);
    const genlab = entries.some((e) => e === 'checkpoint' || e === 'metrics.jsonl' || e === LOCK_FILE);
    if (entries.length && !genlab) throw new UserError(`--out ${out} is a folder with other files in it (not a genlab run directory); choose a new folder`);
  }
  refuseIfLocked(out);
}

export function commandLine(): string {
  return ['genlab', ...process.argv.slice(2)].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
