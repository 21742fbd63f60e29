// `genlab train frame-ae|clip-diffusion --out DIR`: the clip engine's models, trained on the clip world (spec/CLIPS.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { disposeMap, loadCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import { prepareClipRun, type ClipFamily } from '../train/clipRun.js';
import { createProgress } from '../train/progress.js';
import { Trainer } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { commandLine } from './common.js';
import { runTraining } from './runTraining.js';

export async function trainClip(family: ClipFamily, o: { data?: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean; frameAe?: string; textEncoder?: string }): Promise<void> {
  if (o.data !== undefined && o.data !== 'clips') throw new UserError(`${family} trains on the clip world; --data may only be "clips" (or left out), got "${o.data}"`);
  const ckDir = join(o.out, 'checkpoint');
  let resume: CheckpointData | undefined;
  if (o.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
    resume = loadCheckpoint(ckDir);
  } else if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
  try {
    if (o.frameAe !== undefined && (family !== 'clip-diffusion' || resume)) throw new UserError(resume ? '--frame-ae: a resumed run keeps the autoencoder it was started with' : `--frame-ae is for the latent generators, not ${family}`);
    if (o.textEncoder !== undefined && (!(family === 'clip-gan' || family === 'clip-vae') || resume)) throw new UserError(resume ? '--text-encoder: a resumed run keeps the encoder it was started with' : `--text-encoder is for clip-gan and clip-vae, not ${family}`);
    const run = prepareClipRun(family, { sets: o.set, seed: o.seed, steps: o.steps, resume, frameAe: o.frameAe, textEncoder: o.textEncoder, log: (l) => { if (!o.quiet) process.stderr.write(l + '\n'); } });
    process.stderr.write((resume ? `resuming ${family} from step ${resume.meta.step} of ${o.out}` : `${family}: ${run.summary}`) + '\n');
    try {
      await runTraining(new Trainer(run.task, run.train, { outDir: o.out, resume, command: commandLine(), progress: createProgress({ every: run.train.logEvery, quiet: o.quiet }) }));
    } finally {
      run.model.dispose();
    }
  } finally {
    if (resume) { disposeMap(resume.optimizer); disposeMap(resume.ema); }
  }
}
