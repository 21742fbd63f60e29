// The native kernel tests run only where the addon is built; this test makes sure that is
// everywhere it should be: a machine with the build's prerequisites (a BLAS header, as CI
// installs) must have a working addon, so a broken build turns the suite red instead of
// silently skipping the ~90 native tests.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/tensor/native.js';

const headers = ['/usr/include/cblas.h', '/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h'];
const expected = process.env.GENLAB_EXPECT_NATIVE === '1' || (process.platform === 'linux' && process.env.GENLAB_NO_NATIVE !== '1' && headers.some((h) => existsSync(h)));

describe('native addon', () => {
  it(expected ? 'is built and loads (its prerequisites are installed)' : 'is absent, and the reason is reported', () => {
    const { addon, reason } = loadAddon();
    if (expected) expect(addon, reason).toBeDefined();
    else expect(reason).toMatch(/native addon/);
  });
});
