// `genlab translate "TEXT" [--from fr|es|de]`: a prompt in French, Spanish or German to the
// English of the clip world, with the attributes the English parses to. And the training of the
// translators (`genlab train translator`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { LANGUAGES } from '../data/clips/languages.js';
import { loadTranslator, translatePrompt } from '../pipelines/translate.js';
import { prepareTranslatorRun } from '../train/translatorRun.js';
import { UserError } from '../util/errors.js';
import { action, int, setup } from './common.js';
import { trainRunDir } from './runTraining.js';

export const SHIPPED_TRANSLATOR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'translate');

export async function trainTranslator(o: { out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }): Promise<void> {
  await trainRunDir(o, 'the translator', (resume) => prepareTranslatorRun({ sets: o.set, seed: o.seed, steps: o.steps, resume }));
}

export function registerTranslate(program: Command): void {
  program
    .command('translate')
    .description('translate a clip prompt from French, Spanish or German into English; prints one JSON line')
    .argument('<text>', 'the prompt')
    .option('--from <lang>', `${LANGUAGES.join(', ')} (default: detected)`)
    .option('--checkpoint <dir>', 'a translator checkpoint (default: models/translate)')
    .option('--beam <n>', 'beam width (1: greedy)', int('--beam', 1), 4)
    .action(action(async (text: string, o: { from?: string; checkpoint?: string; beam: number }) => {
      if (o.from !== undefined && !(LANGUAGES as readonly string[]).includes(o.from)) throw new UserError(`--from: ${o.from} is not a language genlab translates; choose ${LANGUAGES.join(', ')}`);
      if (o.beam > 16) throw new UserError('--beam: at most 16');
      const dir = o.checkpoint ?? SHIPPED_TRANSLATOR;
      if (!existsSync(dir)) throw new UserError(`no translator at ${dir} yet (README: what is not done); train one with genlab train translator and pass --checkpoint`);
      await setup();
      const t = loadTranslator(dir);
      try {
        process.stdout.write(JSON.stringify(translatePrompt(t, text, { from: o.from as never, beam: o.beam })) + '\n');
      } finally {
        t.model.dispose();
      }
    }));
}
