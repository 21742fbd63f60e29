import type { Command } from 'commander';
import { disposeLoaded, generateText, loadTextModel } from '../pipelines/text.js';
import { action, int, num, setup } from './common.js';

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate text from a trained model (prompt and continuation on stdout)')
    .argument('<dir>', 'run or checkpoint directory')
    .option('--prompt <text>', 'text to continue', '')
    .option('--tokens <n>', 'characters to generate', int('--tokens', 0), 200)
    .option('--temperature <t>', 'divide logits by t (> 0)', num('--temperature'), 1)
    .option('--top-k <k>', 'sample among the k most likely characters', int('--top-k', 1))
    .option('--top-p <p>', 'sample from the smallest set with probability mass p', num('--top-p'))
    .option('--seed <n>', 'sampling seed: the same seed gives the same text', int('--seed', 0), 0)
    .option('--ema', 'use the EMA weights, when the run kept them')
    .action(action(async (dir: string, o: { prompt: string; tokens: number; temperature: number; topK?: number; topP?: number; seed: number; ema?: boolean }) => {
      await setup();
      const loaded = loadTextModel(dir, { ema: o.ema });
      try {
        const t0 = performance.now();
        const text = generateText(loaded.model, loaded.tokenizer, o.prompt, o);
        process.stdout.write(o.prompt + text + '\n');
        const s = (performance.now() - t0) / 1000;
        if (process.env.GENLAB_VERBOSE) process.stderr.write(`${o.tokens} characters in ${s.toFixed(2)} s (${(o.tokens / s).toFixed(0)}/s)\n`);
      } finally {
        disposeLoaded(loaded);
      }
    }));
}
