import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { DEFAULT_PEER, benchNames, profileOne, runOne, runPeer, type BenchOptions } from '../bench/run.js';
import { action, int, setup } from './common.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time the BENCHMARKS.md workloads (JSON lines on stdout); --peer runs PyTorch side by side')
    .option('--only <names>', 'comma-separated workloads', '')
    .option('--reps <n>', 'timed repetitions (a quarter for generation workloads)', int('--reps', 2), 10)
    .option('--warmup <n>', 'untimed repetitions first', int('--warmup', 0), 3)
    .option('--peer', 'also run the PyTorch peer in this run and print project/peer ratios')
    .option('--peer-script <file>', 'the peer script', DEFAULT_PEER)
    .option('--profile <name>', 'print the top kernels by time for one workload instead')
    .action(action(async (o: { only: string; reps: number; warmup: number; peer?: boolean; peerScript: string; profile?: string }) => {
      const info = await setup();
      const opts: BenchOptions = { only: o.only.split(',').filter(Boolean), reps: o.reps, warmup: o.warmup, peer: Boolean(o.peer), peerScript: o.peerScript };
      let names: string[];
      try {
        names = benchNames(o.profile ? [o.profile] : opts.only);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      if (o.profile) {
        process.stdout.write((await profileOne(names[0])).join('\n') + '\n');
        return;
      }
      // With --peer, each workload runs on both sides back to back, so that the machine's slow
      // drifts (other tenants) touch both halves of a ratio alike.
      for (const n of names) {
        const line = runOne(n, opts, info);
        process.stdout.write(JSON.stringify(line) + '\n');
        if (!opts.peer) continue;
        for (const p of runPeer(opts, [n])) {
          process.stdout.write(JSON.stringify(p) + '\n');
          if (p.workload === n) process.stdout.write(JSON.stringify({ workload: n, ratio_project_over_peer: Math.round((line.ms_median / p.ms_median) * 1000) / 1000 }) + '\n');
        }
      }
    }));
}
