// Quality benchmarks of the text models, each a command that prints JSON lines:
//   gpt:      nanoGPT's CPU recipe on a text file (2,000 steps), then the PyTorch peer's same recipe
//             in the same run (--peer): validation loss and training time side by side.
//   finetune: a trained GPT fine-tuned on a second corpus with --train head and --train all for
//             the same budget: validation loss on the second corpus before and after, trainable counts.
//   lstm:     the char-LSTM at its default config for a time budget: validation loss.
// Usage: tsx bench/textQuality.ts gpt|finetune|lstm [options]; see README "Results".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'genlab.js');
const { positionals, values: o } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: 'string', default: join(root, 'data', 'tinyshakespeare.txt') },
    second: { type: 'string' },
    model: { type: 'string', default: join(root, 'runs', 'gpt-shakespeare') },
    out: { type: 'string' },
    steps: { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1337' },
    peer: { type: 'boolean', default: false },
    'peer-script': { type: 'string', default: join(root, '..', 'shared', 'peer', 'torch_reference.py') },
  },
});

function genlab(...args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`genlab ${args.join(' ')} failed (${r.status})`);
  return r.stdout;
}

function meta(run: string): { trainSeconds: number; step: number } {
  return JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8'));
}

/** Validation loss (last 10% of `data`); characters outside the model's vocabulary are dropped. */
function evalLoss(run: string, data: string): number {
  return JSON.parse(genlab('eval', run, '--data', data, '--drop-unknown')).loss as number;
}

const print = (x: object) => process.stdout.write(JSON.stringify(x) + '\n');

const what = positionals[0];
if (what === 'gpt') {
  const out = o.out ?? o.model!;
  rmSync(out, { recursive: true, force: true });
  genlab('train', 'gpt', '--data', o.data!, '--out', out, '--steps', o.steps!, '--seed', o.seed!, '--set', 'evalEvery=0', '--set', 'checkpointEvery=0');
  const m = meta(out);
  print({ workload: 'gpt_quality', impl: 'genlab', steps: m.step, val_loss: evalLoss(out, o.data!), train_seconds: m.trainSeconds, unit: 'nats/char on the last 10% of the file' });
  if (o.peer) {
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const r = spawnSync(python, [o['peer-script']!, '--threads', '2', '--train-gpt', o.data!, '--steps', o.steps!], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error('the peer failed');
    const peer = JSON.parse(r.stdout.trim().split('\n').pop()!);
    print(peer);
    print({ workload: 'gpt_quality', time_ratio_project_over_peer: Math.round((m.trainSeconds / peer.train_seconds) * 1000) / 1000 });
  }
} else if (what === 'finetune') {
  if (!o.second) throw new Error('--second FILE: the second corpus');
  const before = evalLoss(o.model!, o.second);
  print({ workload: 'finetune', model: o.model, corpus: o.second, stage: 'before', val_loss: before });
  for (const part of ['head', 'all']) {
    const out = `${o.out ?? join(root, 'runs', 'gpt-finetune')}-${part}`;
    rmSync(out, { recursive: true, force: true });
    const r = spawnSync(process.execPath, [bin, 'finetune', o.model!, '--data', o.second, '--out', out, '--train', part, '--steps', o.steps!, '--seed', o.seed!, '--quiet', '--drop-unknown'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`finetune --train ${part} failed: ${r.stderr}`);
    const counts = /trainable weights: ([\d,]+) of ([\d,]+)/.exec(r.stderr)!;
    print({
      workload: 'finetune', train: part, steps: Number(o.steps), trainable: Number(counts[1].replace(/,/g, '')), total: Number(counts[2].replace(/,/g, '')),
      val_loss_before: before, val_loss_after: evalLoss(out, o.second), train_seconds: meta(out).trainSeconds,
    });
  }
} else if (what === 'lstm') {
  const out = o.out ?? join(root, 'runs', 'lstm-shakespeare');
  rmSync(out, { recursive: true, force: true });
  genlab('train', 'lstm', '--data', o.data!, '--out', out, '--steps', o.steps!, '--seed', o.seed!, '--set', 'evalEvery=0', '--set', 'checkpointEvery=0');
  const m = meta(out);
  print({ workload: 'lstm_quality', impl: 'genlab', steps: m.step, val_loss: evalLoss(out, o.data!), train_seconds: m.trainSeconds, unit: 'nats/char on the last 10% of the file' });
} else {
  process.stderr.write('usage: tsx bench/textQuality.ts gpt|finetune|lstm [--data F] [--second F] [--model DIR] [--steps N] [--peer]\n');
  process.exit(2);
}
