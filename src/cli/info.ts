import type { Command } from 'commander';
import { action, setup } from './common.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('print the compute backend, its threads and the TensorFlow.js version')
    .option('--json', 'as JSON')
    .action(action(async (o: { json?: boolean }) => {
      const info = await setup();
      if (o.json) {
        process.stdout.write(JSON.stringify(info) + '\n');
        return;
      }
      const lines = [
        `backend:  ${info.backend} (${info.detail})`,
        `threads:  ${info.threads}`,
        `tfjs:     ${info.tfjs}`,
        `kernels genlab adds: ${info.ownKernels.join(', ') || 'none'}`,
        ...info.skipped.map((s) => `skipped:  ${s}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }));
}
