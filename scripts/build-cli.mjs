// Bundles the CLI's TypeScript into build/cli/main.js with esbuild (at `npm ci` and before `npm test`):
// a command then starts in about half the time it takes through tsx's loader. bin/genlab.js runs the
// bundle only while src/ holds exactly the files it was built from (build/cli/sources.txt).
// build/cli sits as deep as src/cli, so paths that modules take from import.meta.url still hold.
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceRecord } from './cliBundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..'), out = join(root, 'build', 'cli');
const record = join(out, 'sources.txt');
try {
  rmSync(record, { force: true }); // no record, no bundle: a failed build leaves genlab on tsx
  const sources = sourceRecord(root); // before esbuild reads them: an edit during the build makes it stale
  const r = await build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')], outdir: out, write: false,
    bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: 'error',
  });
  mkdirSync(out, { recursive: true });
  for (const f of r.outputFiles) { writeFileSync(f.path + '.tmp', f.contents); renameSync(f.path + '.tmp', f.path); }
  writeFileSync(record + '.tmp', sources);
  renameSync(record + '.tmp', record);
} catch (e) {
  // never fails the install: without the bundle genlab runs through tsx
  console.error(`genlab CLI bundle: not built (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); genlab runs through tsx`);
}
