// `genlab worker`: a generation worker for a platform that runs with REDIS_URL. Start any number,
// on any machine that reaches the Redis and holds the same models; each takes jobs from the queue.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { runRedisWorker } from '../server/redisQueue.js';
import { action, fail, int } from './common.js';

const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take clip jobs from the platform\'s Redis queue (REDIS_URL) and generate them')
    .option('--redis <url>', 'the Redis the platform uses (default: REDIS_URL)')
    .option('--models <dir>', 'where clips-diffusion, clips-gan and clips-vae are (default: GENLAB_MODELS or the shipped models/)')
    .option('--concurrency <n>', 'jobs at once, one generation thread each', int('--concurrency', 1), 1)
    .action(action(async (o: { redis?: string; models?: string; concurrency: number }) => {
      const url = o.redis ?? process.env.REDIS_URL;
      if (!url) fail('genlab worker needs a Redis: --redis redis://HOST:PORT or REDIS_URL');
      if (!/^rediss?:\/\//.test(url)) fail(`--redis must be a redis:// or rediss:// URL, got "${url}"`);
      if (o.concurrency > 8) fail('--concurrency: at most 8 generation threads');
      const modelsDir = resolve(o.models ?? process.env.GENLAB_MODELS ?? MODELS_DIR);
      if (!existsSync(modelsDir)) fail(`--models: no folder at ${modelsDir}`);
      const log = (line: string) => process.stderr.write(line + '\n');
      const w = await runRedisWorker({ redisUrl: url, modelsDir, concurrency: o.concurrency, log });
      // Ctrl-C or SIGTERM: the job running now finishes or, if killed, runs again on another worker
      await new Promise<void>((res) => {
        const stop = () => void w.close().then(res, res);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.exit(0); // BullMQ's timers would keep the process alive
    }));
}
