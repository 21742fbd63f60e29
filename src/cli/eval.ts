import type { Command } from 'commander';
import { UserError } from '../data/errors.js';
import { disposeLoaded, loadTextModel } from '../pipelines/text.js';
import { evaluateText } from '../train/textTask.js';
import { action, setup } from './common.js';
import { loadCorpus } from './textData.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('loss in nats per character and perplexity of a text model on a file (JSON on stdout)')
    .argument('<dir>', 'run or checkpoint directory')
    .requiredOption('--data <file>', 'UTF-8 text file')
    .option('--split <part>', 'val: the last 10% of the file (as in training); all: the whole file', 'val')
    .option('--drop-unknown', "remove characters outside the model's vocabulary instead of failing")
    .option('--ema', 'evaluate the EMA weights, when the run kept them')
    .action(action(async (dir: string, o: { data: string; split: string; dropUnknown?: boolean; ema?: boolean }) => {
      if (o.split !== 'val' && o.split !== 'all') throw new UserError(`--split must be val or all, got "${o.split}"`);
      await setup();
      const loaded = loadTextModel(dir, { ema: o.ema });
      try {
        const corpus = loadCorpus(o.data, loaded.tokenizer, o.dropUnknown);
        const ids = o.split === 'val' ? corpus.val : corpus.ids;
        const block = loaded.model.config.blockSize as number;
        if (ids.length < block + 1) throw new UserError(`the ${o.split} part of ${o.data} has ${ids.length} characters, fewer than one window of ${block + 1}`);
        const loss = evaluateText(loaded.model, ids, block, 12);
        const out = { loss: Number(loss.toFixed(5)), perplexity: Number(Math.exp(loss).toFixed(4)), unit: 'nats/char', split: o.split, chars: ids.length, dropped: corpus.dropped, step: loaded.checkpoint.meta.step };
        process.stdout.write(JSON.stringify(out) + '\n');
      } finally {
        disposeLoaded(loaded);
      }
    }));
}
