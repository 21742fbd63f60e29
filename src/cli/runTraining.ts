import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { disposeMap, loadCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import { createProgress } from '../train/progress.js';
import { Trainer, type TrainConfig, type TrainTask } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { commandLine } from './common.js';

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

/**
 * A run directory's training: `prepare` builds the model and task (from the checkpoint when
 * resuming), then the trainer runs; the model and the resumed state are freed however it ends.
 * A new run refuses a folder that holds a checkpoint; --resume needs one.
 */
export async function trainRunDir(o: { out: string; resume?: boolean; quiet?: boolean }, label: string, prepare: (resume?: CheckpointData) => { model: { dispose(): void }; task: TrainTask; train: TrainConfig; summary: string }): Promise<void> {
  const ckDir = join(o.out, 'checkpoint');
  let resume: CheckpointData | undefined;
  if (o.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
    resume = loadCheckpoint(ckDir);
  } else if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
  try {
    const run = prepare(resume);
    process.stderr.write((resume ? `resuming ${label} from step ${resume.meta.step} of ${o.out}` : `${label}: ${run.summary}`) + '\n');
    try {
      await runTraining(new Trainer(run.task, run.train, { outDir: o.out, resume, command: commandLine(), progress: createProgress({ every: run.train.logEvery, quiet: o.quiet }) }));
    } finally {
      run.model.dispose();
    }
  } finally {
    if (resume) { disposeMap(resume.optimizer); disposeMap(resume.ema); }
  }
}
