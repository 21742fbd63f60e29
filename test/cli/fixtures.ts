// Shared plumbing of the CLI tests: run the `genlab` command, assert one-line errors, and tiny runs
// made on first use by whichever test needs them (so that any test also runs alone).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

export const bin = join(import.meta.dirname, '..', '..', 'bin', 'genlab.js');

export function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GENLAB_DEBUG: '' } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function expectUserError(r: { code: number; err: string }, pattern: RegExp): void {
  expect(r.code, r.err).toBe(1);
  expect(r.err).toMatch(/^genlab: error: /m);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
}

export const gptSets = ['--set', 'nLayer=1', '--set', 'nEmbd=32', '--set', 'nHead=2', '--set', 'blockSize=16', '--set', 'batchSize=4', '--set', 'evalBatches=2'];
export const lstmSets = ['--set', 'embed=8', '--set', 'hidden=16', '--set', 'blockSize=16', '--set', 'batchSize=4', '--set', 'evalBatches=2'];

/** A scratch folder with a small text corpus, and runs trained on demand. */
export function workspace(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const corpus = join(dir, 'a.txt');
  const words = ['the', 'king', 'and', 'queen', 'of', 'hearts', 'play', 'cards', 'in', 'spring'];
  let s = 7;
  const pick = () => { s = (s * 1103515245 + 12345) % 2147483648; return words[s % words.length]; };
  writeFileSync(corpus, Array.from({ length: 1200 }, pick).join(' ') + '\n');
  const made = new Map<string, string>();
  /** The run `name`, trained by `args` the first time it is asked for. */
  const runDir = (name: string, args: string[]): string => {
    const out = join(dir, name);
    if (!made.has(name)) {
      if (!existsSync(join(out, 'checkpoint'))) {
        const r = run('train', ...args, '--out', out, '--quiet');
        expect(r.code, r.err).toBe(0);
      }
      made.set(name, out);
    }
    return out;
  };
  return {
    dir, corpus, runDir,
    gpt: () => runDir('gpt', ['gpt', '--data', corpus, '--steps', '4', ...gptSets]),
    diffusion: () => runDir('diffusion', ['diffusion', '--data', 'mnist', '--steps', '2', '--set', 'batchSize=4', '--set', 'evalBatches=1']),
    gan: () => runDir('gan', ['gan', '--data', 'mnist', '--steps', '2', '--set', 'batchSize=8']),
    vae: () => runDir('vae', ['vae', '--data', 'mnist', '--steps', '2', '--set', 'batchSize=16', '--set', 'evalBatches=1']),
    classifier: () => runDir('clf', ['classifier', '--data', 'mnist', '--steps', '2', '--set', 'batchSize=16', '--set', 'evalBatches=1']),
  };
}
