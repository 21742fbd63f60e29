// `genlab train frame-ae|clip-text|clip-diffusion|clip-gan|clip-vae --out DIR`: the clip engine's models, trained on the clip world (spec/CLIPS.md).
import { existsSync } from 'node:fs';
import { loadCheckpoint, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { prepareClipRun, type ClipFamily } from '../train/clipRun.js';
import { UserError } from '../util/errors.js';
import { trainRunDir } from './runTraining.js';

export async function trainClip(family: ClipFamily, o: { data?: string; out: string; steps?: number; seed?: number; resume?: boolean; set: string[]; quiet?: boolean; frameAe?: string; textEncoder?: string; init?: string }): Promise<void> {
  if (o.data !== undefined && o.data !== 'clips') throw new UserError(`${family} trains on the clip world; --data may only be "clips" (or left out), got "${o.data}"`);
  if (o.frameAe !== undefined && (family !== 'clip-diffusion' || o.resume)) throw new UserError(o.resume ? '--frame-ae: a resumed run keeps the autoencoder it was started with' : `--frame-ae is for the latent generators, not ${family}`);
  if (o.textEncoder !== undefined && (!(family === 'clip-diffusion' || family === 'clip-gan' || family === 'clip-vae') || o.resume)) throw new UserError(o.resume ? '--text-encoder: a resumed run keeps the encoder it was started with' : `--text-encoder is for clip-diffusion, clip-gan and clip-vae, not ${family}`);
  if (o.init !== undefined) {
    if (family !== 'clip-diffusion' && family !== 'clip-gan') throw new UserError(`--init is for clip-diffusion and clip-gan, not ${family}`);
    if (o.resume) throw new UserError('--init starts a new run from a checkpoint\'s weights; --resume continues a run: give one of them');
    if (!o.init || !existsSync(resolveCheckpointDir(o.init))) throw new UserError(`--init: no checkpoint at "${o.init}"`);
  }
  const init = o.init === undefined ? undefined : { dir: o.init, data: loadCheckpoint(resolveCheckpointDir(o.init)) };
  await trainRunDir(o, family, (resume) => prepareClipRun(family, { sets: o.set, seed: o.seed, steps: o.steps, resume, init, frameAe: o.frameAe, textEncoder: o.textEncoder, log: (l) => { if (!o.quiet) process.stderr.write(l + '\n'); } }));
}
