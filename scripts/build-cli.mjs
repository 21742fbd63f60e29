// Bundles the CLI's TypeScript into build/cli/main.js with esbuild (at `npm ci` and before `npm test`):
// a command then starts in about half the time it takes through tsx's loader. bin/genlab.js runs the
// bundle only while it is newer than every file of src/, else the TypeScript itself.
// build/cli sits as deep as src/cli, so paths that modules take from import.meta.url still hold.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  await build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')], outfile: join(root, 'build', 'cli', 'main.js'),
    bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: 'error',
  });
} catch (e) {
  // never fails the install: without the bundle genlab runs through tsx
  console.error(`genlab CLI bundle: not built (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); genlab runs through tsx`);
}
