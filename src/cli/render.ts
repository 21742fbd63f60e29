// `genlab render "TEXT" --out FILE.gif|.png|.mp4`: the clip world's true clip of a description.
import type { Command } from 'commander';
import { checkClipOutput, writeClip } from '../media/clip.js';
import { renderText } from '../pipelines/clips.js';
import { action, int } from './common.js';

export function registerRender(program: Command): void {
  program
    .command('render')
    .description("draw the clip world's true clip of a description (the ground truth the clip generators are judged against): 16 frames of 64x64 at 8 fps; one JSON line on stdout")
    .argument('<text>', 'the description, e.g. "a big red 3 moving left quickly"')
    .requiredOption('--out <file>', '.gif (looping), .png (the frames as a strip) or .mp4 (needs ffmpeg)')
    .option('--seed <n>', 'seed of the defaults drawn (digit, direction), the digit image and the start', int('--seed', 0), 0)
    .option('--scale <k>', 'each pixel k times larger, for viewing', int('--scale', 1), 1)
    .action(action((text: string, o: { out: string; seed: number; scale: number }) => {
      checkClipOutput(o.out);
      const t0 = performance.now();
      const clip = renderText(text, { seed: o.seed });
      writeClip(o.out, clip.frames, clip.shape, { scale: o.scale });
      process.stdout.write(JSON.stringify({ ...clip.report, out: o.out, ms: Math.round(performance.now() - t0) }) + '\n');
    }));
}
