#!/usr/bin/env node
// Runs the CLI: the bundle that scripts/build-cli.mjs makes while src/ is exactly what it was built
// from (it starts ~1.5 s sooner), else the TypeScript through tsx's loader (no build step needed).
// GENLAB_CLI=tsx forces the TypeScript.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleFresh } from '../scripts/cliBundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

if (process.env.GENLAB_CLI !== 'tsx' && bundleFresh(root)) {
  if (process.env.GENLAB_DEBUG) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(join(root, 'build', 'cli', 'main.js')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
