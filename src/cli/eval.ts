import type { Command } from 'commander';
import { UserError } from '../data/errors.js';
import { disposeLoaded, loadTextModel } from '../pipelines/text.js';
import { evaluateText } from '../train/textTask.js';
import { action, int, setup } from './common.js';
import { loadImageData } from '../data/mnist.js';
import { loadVae, vaeNll } from '../pipelines/images.js';
import { readCheckpointMeta, resolveCheckpointDir } from '../train/checkpoint.js';
import { loadCorpus } from './textData.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model (JSON on stdout): loss and perplexity of a text model on a file; the importance-weighted NLL bound of a VAE on held-out digits')
    .argument('<dir>', 'run or checkpoint directory')
    .option('--data <file>', 'text: UTF-8 text file (required); vae: mnist, fashion or an IDX directory (default: the training data)')
    .option('--k <n>', 'vae: importance samples per image', int('--k', 1), 100)
    .option('--images <n>', 'vae: held-out images to average over', int('--images', 1), 1000)
    .option('--split <part>', 'val: the last 10% of the file (as in training); all: the whole file', 'val')
    .option('--drop-unknown', "remove characters outside the model's vocabulary instead of failing")
    .option('--ema', 'evaluate the EMA weights, when the run kept them')
    .action(action(async (dir: string, o: { data?: string; split: string; dropUnknown?: boolean; ema?: boolean; k: number; images: number }) => {
      if (o.split !== 'val' && o.split !== 'all') throw new UserError(`--split must be val or all, got "${o.split}"`);
      await setup();
      const family = readCheckpointMeta(resolveCheckpointDir(dir)).family;
      if (family === 'vae') {
        const l = loadVae(dir);
        try {
          const t0 = performance.now();
          const { test, source } = loadImageData(o.data ?? l.data);
          const nll = vaeNll(l, test, o.k, o.images);
          process.stdout.write(JSON.stringify({ nll: Number(nll.toFixed(3)), unit: 'nats per image (importance-weighted bound)', k: o.k, images: Math.min(o.images, test.n), data: source, seconds: Math.round((performance.now() - t0) / 100) / 10 }) + '\n');
        } finally {
          l.model.dispose();
        }
        return;
      }
      if (family !== 'gpt' && family !== 'lstm') throw new UserError(`${dir} holds a "${family}" model; genlab eval evaluates text models and VAEs (diffusion and GAN evaluation is not built yet)`);
      if (!o.data) throw new UserError('--data FILE is required for a text model');
      const data = o.data;
      const loaded = loadTextModel(dir, { ema: o.ema });
      try {
        const corpus = loadCorpus(data, loaded.tokenizer, o.dropUnknown);
        const ids = o.split === 'val' ? corpus.val : corpus.ids;
        const block = loaded.model.config.blockSize as number;
        if (ids.length < block + 1) throw new UserError(`the ${o.split} part of ${data} has ${ids.length} characters, fewer than one window of ${block + 1}`);
        const loss = evaluateText(loaded.model, ids, block, 12);
        const out = { loss: Number(loss.toFixed(5)), perplexity: Number(Math.exp(loss).toFixed(4)), unit: 'nats/char', split: o.split, chars: ids.length, dropped: corpus.dropped, step: loaded.checkpoint.meta.step };
        process.stdout.write(JSON.stringify(out) + '\n');
      } finally {
        disposeLoaded(loaded);
      }
    }));
}
