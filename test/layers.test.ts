// The layers stay one-way (DESIGN.md): each folder of src/ imports only the folders below it.
// Training code never reaches pipelines (what the server will load), checkpoints and errors are
// their own modules, and nothing in src/ imports bench/ or test/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '..', 'src');
const below: Record<string, string[]> = {
  util: [],
  tensor: ['util'],
  data: ['util'],
  media: ['util'],
  checkpoint: ['util'],
  nn: ['tensor', 'util'],
  diffusion: ['tensor', 'util'],
  models: ['nn', 'tensor', 'data', 'diffusion', 'util'],
  train: ['models', 'nn', 'tensor', 'data', 'diffusion', 'checkpoint', 'util'],
  pipelines: ['models', 'nn', 'tensor', 'data', 'diffusion', 'checkpoint', 'media', 'util'],
  eval: ['pipelines', 'models', 'nn', 'tensor', 'data', 'diffusion', 'checkpoint', 'media', 'util'],
  bench: ['train', 'models', 'nn', 'tensor', 'data', 'diffusion', 'util'],
  rl: ['train', 'models', 'nn', 'tensor', 'data', 'diffusion', 'checkpoint', 'util'],
  server: ['pipelines', 'models', 'nn', 'tensor', 'data', 'diffusion', 'checkpoint', 'media', 'util'],
  cli: Object.keys({ util: 1, tensor: 1, data: 1, media: 1, checkpoint: 1, nn: 1, diffusion: 1, models: 1, train: 1, pipelines: 1, eval: 1, bench: 1, server: 1, rl: 1 }),
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('layers', () => {
  it('every import in src/ points down (or within its own folder)', () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const f of files(src)) {
      const layer = relative(src, f).split('/')[0];
      expect(Object.keys(below), `${relative(src, f)}: a folder the layer rules do not know`).toContain(layer);
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        seen += 1;
        const target = relative(src, resolve(dirname(f), m[1]));
        const to = target.split('/')[0];
        if (target.startsWith('..')) wrong.push(`${relative(src, f)} imports ${m[1]} (outside src/)`);
        else if (to !== layer && !below[layer].includes(to)) wrong.push(`${relative(src, f)} (${layer}) imports ${target} (${to})`);
      }
    }
    expect(seen).toBeGreaterThan(200); // the pattern does find the imports
    expect(wrong).toEqual([]);
  });
});
