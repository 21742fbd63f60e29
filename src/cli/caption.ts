// `genlab caption CLIP.gif|CLIP.mp4`: the trained clip captioner's caption of a clip, and the
// attributes the caption parses to, as one JSON line.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { FRAMES, SIDE } from '../data/clips/world.js';
import { readClipFile } from '../media/readClip.js';
import { captionClips, loadCaptioner } from '../pipelines/caption.js';
import { UserError } from '../util/errors.js';
import { action, int, setup } from './common.js';

export const SHIPPED_CAPTIONER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'captions');

export function registerCaption(program: Command): void {
  program
    .command('caption')
    .description('caption a clip (16 frames of 64x64, or a whole multiple) with the clip captioner; prints one JSON line: the caption and the attributes it parses to')
    .argument('<clip>', 'a .gif or .mp4 clip (MP4 through ffmpeg)')
    .option('--checkpoint <dir>', 'a captioner checkpoint (default: models/captions)')
    .option('--beam <n>', 'beam width (1: greedy)', int('--beam', 1), 4)
    .action(action(async (clip: string, o: { checkpoint?: string; beam: number }) => {
      if (o.beam > 16) throw new UserError('--beam: at most 16');
      const dir = o.checkpoint ?? SHIPPED_CAPTIONER;
      if (!existsSync(dir)) throw new UserError(`no clip captioner at ${dir}${o.checkpoint ? '' : ' (none ships yet: README, what is not done)'}; train one with genlab train captioner and pass --checkpoint`);
      const frames = readClipFile(clip, { frames: FRAMES, side: SIDE });
      await setup();
      const t0 = performance.now(), c = loadCaptioner(dir);
      try {
        const [r] = captionClips(c, frames, 1, o.beam);
        process.stdout.write(JSON.stringify({ clip, ...r, checkpoint: dir, beam: o.beam, ms: Math.round(performance.now() - t0) }) + '\n');
      } finally {
        c.model.dispose();
      }
    }));
}
