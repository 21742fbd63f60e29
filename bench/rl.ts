// RL on the text models, measured: a GPT trained on Shakespeare is pulled toward the King James
// Bible's style by the learned style reward (a character-trigram classifier of the two corpora),
// once per KL coefficient, and each run's policy and reference are sampled and measured by
// `genlab rl` itself (rl-eval.json: reward, KL to the reference, distinct-2). Prints a markdown
// table and one sample per run. Without the KL term the reward is expected to be gamed: the
// policy finds a few high-scoring character patterns and repeats them (distinct-2 collapses).
// Usage: tsx bench/rl.ts [--kl 0,0.05,0.2] [--steps 200] [--base runs/rl-bench/base]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'genlab.js');
const { values: o } = parseArgs({
  options: {
    kl: { type: 'string', default: '0,0.05,0.2' },
    steps: { type: 'string', default: '200' },
    'base-steps': { type: 'string', default: '1500' },
    base: { type: 'string', default: join(root, 'runs', 'rl-bench', 'base') },
    out: { type: 'string', default: join(root, 'runs', 'rl-bench') },
    reward: { type: 'string', default: 'style' },
  },
});

function genlab(...args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`genlab ${args.join(' ')} failed (${r.status})`);
  return r.stdout;
}

const shakespeare = join(root, 'data', 'tinyshakespeare.txt'), kjv = join(root, 'runs', 'kjv.txt');
if (!existsSync(join(o.base, 'checkpoint'))) genlab('train', 'gpt', '--data', shakespeare, '--out', o.base, '--steps', o['base-steps'], '--seed', '1');
if (o.reward === 'style' && !existsSync(kjv)) {
  const r = spawnSync(join(root, 'scripts', 'prepare-kjv.sh'), [kjv], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

interface Eval { reward: number; kl: number; distinct2: number; texts: string[] }
const rows: string[] = [], samples: string[] = [];
let before: Eval | undefined;
for (const kl of o.kl.split(',')) {
  const out = join(o.out, `${o.reward}-kl${kl}`);
  const rewardArgs = o.reward === 'style' ? ['--reward', 'style', '--toward', kjv, '--away', shakespeare] : ['--reward', o.reward];
  if (!existsSync(join(out, 'rl-eval.json'))) genlab('rl', o.base, ...rewardArgs, '--kl', kl, '--out', out, '--steps', o.steps, '--seed', '1', '--quiet');
  const e = JSON.parse(readFileSync(join(out, 'rl-eval.json'), 'utf8')) as { before: Eval; after: Eval };
  const meta = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')) as { trainSeconds: number };
  before ??= e.before;
  rows.push(`| ${kl} | ${e.before.reward.toFixed(3)} → ${e.after.reward.toFixed(3)} | ${e.after.kl.toFixed(1)} | ${e.before.distinct2.toFixed(3)} → ${e.after.distinct2.toFixed(3)} | ${meta.trainSeconds.toFixed(0)} |`);
  samples.push(`kl ${kl}: ${JSON.stringify(e.after.texts[0])}`);
}
console.log(`reward ${o.reward}, ${o.steps} steps, 64 eval samples of 64 characters\n`);
console.log('| KL coefficient | reward before → after | KL to reference (nats/sample) | distinct-2 before → after | train s |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nbefore: ${JSON.stringify(before?.texts[0])}`);
for (const s of samples) console.log(s);
