import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript shared by bin/genlab.js and the build script, no types
import { bundleFresh, sourceRecord } from '../../scripts/cliBundle.mjs';
import { bin } from './fixtures.js';

const fresh = bundleFresh as (root: string) => boolean, record = sourceRecord as (root: string) => string;

describe('the CLI bundle is used only while src/ is what it was built from', () => {
  it('any added, changed, touched or deleted source makes it stale; a broken link does not throw', () => {
    const root = mkdtempSync(join(tmpdir(), 'genlab-bundle-'));
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    mkdirSync(join(root, 'scripts'));
    mkdirSync(join(root, 'build', 'cli'), { recursive: true });
    for (const f of ['src/cli/main.ts', 'src/a.ts', 'tsconfig.json', 'scripts/build-cli.mjs']) writeFileSync(join(root, f), 'x');
    const built = () => writeFileSync(join(root, 'build', 'cli', 'sources.txt'), record(root));
    expect(fresh(root)).toBe(false); // no record yet
    built();
    expect(fresh(root)).toBe(true);
    writeFileSync(join(root, 'src', 'a.ts'), 'y'); // same size, new mtime
    utimesSync(join(root, 'src', 'a.ts'), new Date(2020, 0, 1), new Date(2020, 0, 1)); // even an older one
    expect(fresh(root)).toBe(false);
    built();
    writeFileSync(join(root, 'src', 'b.ts'), 'new');
    expect(fresh(root)).toBe(false);
    built();
    rmSync(join(root, 'src', 'b.ts'));
    expect(fresh(root)).toBe(false);
    built();
    symlinkSync(join(root, 'nowhere'), join(root, 'src', '.#lock'));
    expect(fresh(root)).toBe(false);
    built();
    expect(fresh(root)).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });

  it('GENLAB_CLI=tsx runs the TypeScript itself, with the same result', () => {
    const r = spawnSync(process.execPath, [bin, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, GENLAB_CLI: 'tsx' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tfjs).toMatch(/^4\./);
  }, 60_000);
});
