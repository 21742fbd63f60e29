// `genlab train diffusion|gan|vae|classifier --data mnist|fashion|DIR`: flags to prepareImageRun, then the trainer.
import { loadImageData } from '../data/mnist.js';
import { countParams } from '../nn/layers.js';
import { prepareImageRun } from '../train/imageRun.js';
import { trainRunDir } from './runTraining.js';

export { IMAGE_FAMILIES, type ImageFamily } from '../models/images.js';
import type { ImageFamily } from '../models/images.js';

export async function trainImage(family: ImageFamily, o: { data: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean }): Promise<void> {
  const log = (s: string) => process.stderr.write(s + '\n');
  await trainRunDir(o, family, (resume) => {
    const run = prepareImageRun(family, loadImageData(o.data), { sets: o.set, seed: o.seed, steps: o.steps, dataSpec: o.data, resume, log });
    return { ...run, summary: `${countParams(run.model.params).toLocaleString('en-US')} weights, ${run.summary}` };
  });
}
