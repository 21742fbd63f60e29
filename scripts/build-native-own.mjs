// Builds the native addon with genlab's own GEMM (native/src/gemm.h, what `npm ci` builds where no
// BLAS is found) into DIR, beside the usual build: CI runs the kernel tests on it, and the speed
// section measures it against OpenBLAS. Use: node scripts/build-native-own.mjs DIR, then
// GENLAB_NATIVE_ADDON=DIR/build/Release/genlab_native.node.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2];
if (!out) { console.error('usage: node scripts/build-native-own.mjs DIR'); process.exit(2); }
const dir = resolve(out);
mkdirSync(dir, { recursive: true });
cpSync(join(root, 'native', 'binding.gyp'), join(dir, 'binding.gyp'));
cpSync(join(root, 'native', 'src'), join(dir, 'src'), { recursive: true });
if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  try { gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'); } catch { gyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'); }
}
const nodedir = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, GENLAB_OWN_GEMM: '1' } });
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(join(dir, 'build', 'Release', 'genlab_native.node'));
