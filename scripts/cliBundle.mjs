// What bin/genlab.js and scripts/build-cli.mjs share: the record of the sources a CLI bundle was
// built from (each file of src/ with its size and mtime), and the check that they are unchanged.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file under src/ (and the build's own inputs) as "path size mtime" lines, sorted. */
export function sourceRecord(root) {
  const lines = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else { const s = lstatSync(p); lines.push(`${relative(root, p)} ${s.size} ${s.mtimeMs}`); }
    }
  };
  walk(join(root, 'src'));
  for (const f of ['tsconfig.json', join('scripts', 'build-cli.mjs')]) { const s = lstatSync(join(root, f)); lines.push(`${f} ${s.size} ${s.mtimeMs}`); }
  return lines.sort().join('\n');
}

/** True when build/cli/main.js was built from exactly the sources there are now; any doubt is false. */
export function bundleFresh(root) {
  try {
    return readFileSync(join(root, 'build', 'cli', 'sources.txt'), 'utf8') === sourceRecord(root);
  } catch {
    return false;
  }
}
