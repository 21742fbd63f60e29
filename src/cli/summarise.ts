// `genlab summarise "TEXT"`: a long, chatty description rewritten into the caption grammar by the
// summariser GPT, and the attributes that reading parses to, as one JSON line.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadSummariser, summarise } from '../pipelines/summarise.js';
import { UserError } from '../util/errors.js';
import { action, setup } from './common.js';

export const SHIPPED_SUMMARISER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'summarise');

export function registerSummarise(program: Command): void {
  program
    .command('summarise')
    .description('rewrite a long, chatty description of a clip ("hi! for my nephew... a 3, no wait, an 8... not green, blue please") into the caption grammar; prints one JSON line: the summary, the attributes it parses to, the words the summariser never saw')
    .argument('<text>', 'the description (at most 2,000 characters)')
    .option('--checkpoint <dir>', 'a summariser checkpoint (default: models/summarise)')
    .action(action(async (text: string, o: { checkpoint?: string }) => {
      const dir = o.checkpoint ?? SHIPPED_SUMMARISER;
      if (!existsSync(dir)) throw new UserError(`no summariser at ${dir}${o.checkpoint ? '' : ' (none ships yet)'}; train one with genlab train summariser and pass --checkpoint`);
      await setup();
      const t0 = performance.now(), s = loadSummariser(dir);
      try {
        const r = summarise(s, text);
        process.stdout.write(JSON.stringify({ ...r, checkpoint: dir, ms: Math.round(performance.now() - t0) }) + '\n');
      } finally {
        s.model.dispose();
      }
    }));
}
