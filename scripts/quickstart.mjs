// `npm start`: train a small GPT on the bundled Shakespeare (about a minute with the native
// kernels) and print samples. Reruns continue the same run instead of starting over.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'genlab.js');
const out = join(root, 'runs', 'quickstart');
const data = join(root, 'data', 'tinyshakespeare.txt');
const steps = Number(process.env.QUICKSTART_STEPS ?? 600);
const genlab = (...args) => {
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

genlab('info');
const config = join(out, 'checkpoint', 'config.json');
const done = existsSync(config) ? JSON.parse(readFileSync(config, 'utf8')).step : -1;
if (done < 0) genlab('train', 'gpt', '--data', data, '--out', out, '--steps', String(steps), '--set', 'warmupSteps=50', '--set', 'evalEvery=100');
else if (done < steps) genlab('train', 'gpt', '--data', data, '--out', out, '--steps', String(steps), '--resume');
for (const [prompt, seed] of [['ROMEO:', 1], ['JULIET:\nO ', 2]]) {
  process.stdout.write(`\n--- genlab sample ${out} --prompt ${JSON.stringify(prompt)} --tokens 200 --seed ${seed} --top-k 20\n`);
  genlab('sample', out, '--prompt', prompt, '--tokens', '200', '--seed', String(seed), '--top-k', '20');
}
genlab('eval', out, '--data', data);
