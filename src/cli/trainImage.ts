// `genlab train diffusion|gan|vae|classifier --data mnist|fashion|DIR`: flags to prepareImageRun, then the trainer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { disposeMap, loadCheckpoint, type CheckpointData } from '../checkpoint/checkpoint.js';
import { loadImageData } from '../data/mnist.js';
import { countParams } from '../nn/layers.js';
import { prepareImageRun } from '../train/imageRun.js';
import { createProgress } from '../train/progress.js';
import { Trainer } from '../train/trainer.js';
import { UserError } from '../util/errors.js';
import { commandLine } from './common.js';
import { runTraining } from './runTraining.js';

export { IMAGE_FAMILIES, type ImageFamily } from '../models/images.js';
import type { ImageFamily } from '../models/images.js';

export async function trainImage(family: ImageFamily, o: { data: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }): Promise<void> {
  const ckDir = join(o.out, 'checkpoint');
  let resume: CheckpointData | undefined;
  if (o.resume) {
    if (!existsSync(ckDir)) throw new UserError(`--resume: no checkpoint in ${o.out}`);
    resume = loadCheckpoint(ckDir);
  } else if (existsSync(ckDir)) throw new UserError(`${o.out} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
  const log = (s: string) => process.stderr.write(s + '\n');
  try {
    const data = loadImageData(o.data);
    const run = prepareImageRun(family, data, { sets: o.set, seed: o.seed, steps: o.steps, dataSpec: o.data, resume, log });
    log(resume ? `resuming ${family} from step ${resume.meta.step} of ${o.out}` : `${family}: ${countParams(run.model.params).toLocaleString('en-US')} weights, ${run.summary}`);
    try {
      await runTraining(new Trainer(run.task, run.train, { outDir: o.out, resume, command: commandLine(), progress: createProgress({ every: run.train.logEvery, quiet: o.quiet }) }));
    } finally {
      run.model.dispose();
    }
  } finally {
    if (resume) { disposeMap(resume.optimizer); disposeMap(resume.ema); }
  }
}
