// The native kernel tests run only where the addon is built; this test makes sure that is
// everywhere it should be: a machine with the build's prerequisites (a C++ compiler, make and python3; a BLAS is
// optional since genlab has its own GEMM) must have a working addon, so a broken build turns the
// suite red instead of silently skipping the ~90 native tests.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/tensor/native.js';

// node-gyp needs all three
const compiler = ['g++', 'make', 'python3'].every((c) => spawnSync(c, ['--version']).status === 0);
const expected = process.env.GENLAB_EXPECT_NATIVE === '1' || (process.platform === 'linux' && process.env.GENLAB_NO_NATIVE !== '1' && compiler);

describe('native addon', () => {
  it(expected ? 'is built and loads (its prerequisites are installed)' : 'is absent, and the reason is reported', () => {
    const { addon, reason } = loadAddon();
    if (expected) expect(addon, reason).toBeDefined();
    else expect(reason).toMatch(/native addon/);
  });
  // CI's second pass loads the build with genlab's own GEMM (scripts/build-native-own.mjs)
  it.runIf(process.env.GENLAB_EXPECT_OWN_GEMM === '1')("is the build with genlab's own GEMM", () => {
    expect(loadAddon().addon!.info().blas).toMatch(/genlab GEMM/);
  });
});
