#!/usr/bin/env node
// Runs the CLI: the bundle that scripts/build-cli.mjs makes, while it is newer than every file of
// src/ (it starts ~1.5 s sooner), else the TypeScript through tsx's loader (no build step needed).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'build', 'cli', 'main.js');

function newest(dir) {
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) t = Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs);
  return t;
}

if (existsSync(bundle) && statSync(bundle).mtimeMs >= newest(join(root, 'src'))) {
  if (process.env.GENLAB_DEBUG) process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
