import type { Trainer } from '../train/trainer.js';

/** Runs a trainer with Ctrl-C handling: the first SIGINT saves and stops, a second one exits at once. */
export async function runTraining(trainer: Trainer): Promise<void> {
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) {
      process.stderr.write('\ngenlab: second Ctrl-C, exiting without saving\n');
      process.exit(130);
    }
    process.stderr.write('\ngenlab: Ctrl-C: saving a checkpoint after this step (Ctrl-C again to quit now)\n');
    trainer.requestStop();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const r = await trainer.run();
    const val = r.valLoss !== undefined ? `, validation loss ${r.valLoss.toFixed(4)}` : '';
    if (r.status === 'interrupted') {
      process.stderr.write(`interrupted at step ${r.step}; checkpoint saved in ${r.checkpointDir}; continue with --resume\n`);
      process.exitCode = 130;
    } else {
      process.stderr.write(`done: step ${r.step}, train loss ${r.lastLoss.toFixed(4)}${val}, ${r.seconds.toFixed(1)} s; checkpoint in ${r.checkpointDir}\n`);
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    trainer.dispose();
  }
}
