// Builds genlab's optional native kernels at `npm ci`. Never fails the install: when no compiler
// or no BLAS is found, it writes the reason to native/build/STATUS and genlab runs on wasm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const statusFile = join(nativeDir, 'build', 'STATUS');

function done(ok, reason) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, (ok ? 'ok' : 'unavailable') + ': ' + reason + '\n');
  console.error(`genlab native kernels: ${ok ? 'built' : 'not built'} (${reason})`);
  process.exit(0);
}

if (process.env.GENLAB_NO_NATIVE === '1') done(false, 'GENLAB_NO_NATIVE=1 was set at install');
// Without a BLAS (no cblas.h), the addon is built with genlab's own GEMM (native/src/gemm.h);
// GENLAB_OWN_GEMM=1 forces it, to measure it beside OpenBLAS.
let ownGemm = process.env.GENLAB_OWN_GEMM === '1';
if (process.platform === 'linux' && !ownGemm) {
  const headers = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h'];
  ownGemm = !headers.some((h) => existsSync(h));
}
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const npmGyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    gyp = existsSync(npmGyp) ? npmGyp : undefined;
  }
}
if (!gyp) done(false, 'node-gyp not found');
const args = [gyp, 'rebuild'];
// Build against the headers of the running Node (never download them).
const localNode = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(localNode, 'include', 'node', 'node.h')) ? localNode : '');
if (!nodedir) done(false, "Node's headers not found (set npm_config_nodedir)");
args.push(`--nodedir=${nodedir}`);
const build = (own) => spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', env: { ...process.env, GENLAB_OWN_GEMM: own ? '1' : '0' } });
let r = build(ownGemm);
// a BLAS header without its library (or a broken one): genlab's own GEMM instead
if (r.status !== 0 && !ownGemm) { ownGemm = true; r = build(true); }
if (r.status !== 0) {
  const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-6).join(' | ');
  done(false, `compile failed: ${tail}`);
}
done(true, `native/build/Release/genlab_native.node${ownGemm ? ", with genlab's own GEMM (no BLAS found)" : ''}`);
