import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { renderLinePlot } from '../eval/plot.js';
import { checkOutputFile, PNG_MAGIC, writeOutputFile } from '../util/files.js';
import { action } from './common.js';

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description("draw a run's train and validation loss curves to a PNG (its path on stdout)")
    .argument('<run-dir>', 'run directory (with metrics.jsonl)')
    .option('--out <file>', 'PNG to write (default RUN_DIR/loss.png)')
    .action(action((dir: string, o: { out?: string }) => {
      const path = join(dir, 'metrics.jsonl');
      if (!existsSync(path)) throw new UserError(`no metrics.jsonl in ${dir}: is it a genlab run directory?`);
      const out = o.out ?? join(dir, 'loss.png');
      const target = { extensions: ['.png'], magic: PNG_MAGIC, kind: 'PNG', inputs: [path] };
      checkOutputFile(out, target);
      const train: [number, number][] = [], val: [number, number][] = [];
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let r: { step?: number; loss?: number; val_loss?: number };
        try { r = JSON.parse(line) as typeof r; } catch { continue; }
        if (typeof r.step !== 'number') continue;
        if (typeof r.loss === 'number') train.push([r.step, r.loss]);
        if (typeof r.val_loss === 'number') val.push([r.step, r.val_loss]);
      }
      if (!train.length && !val.length) throw new UserError(`${path} has no loss records yet`);
      const png = renderLinePlot(
        [{ name: 'train', color: [31, 119, 180], points: train }, { name: 'val', color: [214, 39, 40], points: val }],
        { xLabel: 'step', yLabel: 'loss (nats/char)' },
      );
      writeOutputFile(out, png, target);
      process.stdout.write(out + '\n');
    }));
}
