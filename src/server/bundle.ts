// The page's scripts: web/app.ts compiled as one file, and web/draft.ts bundled with the clip
// engine's generation code and TensorFlow.js for the in-browser draft. The native kernels' module
// (Node-only) becomes a stub that reports them inactive, so the same ops take their composite form.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, transformSync, type Plugin } from 'esbuild';

const noNative: Plugin = {
  name: 'genlab-no-native',
  setup(b) {
    b.onResolve({ filter: /(^|\/)native\.js$/ }, (a) => (a.importer.includes(`${join('src', 'tensor')}`) ? { path: 'native', namespace: 'genlab-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'genlab-stub' }, () => ({ contents: 'export function nativeKernelsActive() { return false; }', loader: 'js' }));
  },
};

export function pageScript(web: string): string {
  return transformSync(readFileSync(join(web, 'app.ts'), 'utf8'), { loader: 'ts', target: 'es2020', format: 'esm' }).code;
}

/** The draft bundle (~650 KB minified; about a second to build, so the server builds it on first request). */
export async function draftScript(web: string): Promise<string> {
  const r = await build({ entryPoints: [join(web, 'draft.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2020', minify: true, write: false, plugins: [noNative], logLevel: 'silent' });
  return r.outputFiles[0].text;
}
