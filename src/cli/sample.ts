import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { encodeGrayPng, imageGrid, readGrayPng } from '../media/png.js';
import { PNG_MAGIC, prepareOutputDir, writeOutputFile } from '../util/files.js';
import { checkStrength, loadGenerator, sampleImages, type Generator, type LoadedImageModel } from '../pipelines/images.js';
import { disposeLoaded, generateText, loadTextModel } from '../pipelines/text.js';
import { readCheckpointMeta, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { checkPictureCount } from '../models/memory.js';
import { action, int, num, setup } from './common.js';

interface SampleFlags {
  prompt: string; tokens: number; temperature?: number; topK?: number; topP?: number; seed: number; ema?: boolean;
  n: number; class?: number; guidance?: number; steps?: number; scheduler?: string; out?: string; seedImage?: string; strength?: number;
}

export const GENERATORS = ['diffusion', 'gan', 'vae'] as const;

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate from a trained model: text (prompt and continuation on stdout) or images (diffusion, gan, vae: PNGs in --out)')
    .argument('<dir>', 'run or checkpoint directory')
    .option('--prompt <text>', 'text: what to continue', '')
    .option('--tokens <n>', 'text: characters to generate', int('--tokens', 0), 200)
    .option('--temperature <t>', "text: divide logits by t (> 0, default 1); gan, vae: standard deviation of the latent draws (< 1: less variety, more fidelity; default: the checkpoint's recommended)", num('--temperature'))
    .option('--top-k <k>', 'text: sample among the k most likely characters', int('--top-k', 1))
    .option('--top-p <p>', 'text: sample from the smallest set with probability mass p', num('--top-p'))
    .option('--seed <n>', 'the same seed gives the same result', int('--seed', 0), 0)
    .option('--ema', 'text: use the EMA weights, when the run kept them (diffusion always does)')
    .option('--n <n>', 'images: how many', int('--n', 1), 16)
    .option('--class <c>', 'images: the class of every sample (default: cycle through the classes)', int('--class', 0))
    .option('--guidance <g>', "diffusion: classifier-free guidance scale (1: the conditional model; default: the checkpoint's recommended, else 1.75)", num('--guidance'))
    .option('--steps <n>', "diffusion: DDIM steps (default: the checkpoint's recommended, else 25)", int('--steps', 1))
    .option('--scheduler <s>', 'diffusion: ddim or ddpm (1,000 steps)')
    .option('--seed-image <png>', 'diffusion: a sketch to start from (image-to-image)')
    .option('--strength <s>', 'diffusion, with --seed-image: in (0, 1]; how far from the sketch the samples may go', num('--strength'))
    .option('--out <dir>', 'images: directory for <class>_<index>.png (or <index>.png) and grid.png')
    .action(action(async (dir: string, o: SampleFlags) => {
      const family = readCheckpointMeta(resolveCheckpointDir(dir)).family;
      if ((GENERATORS as readonly string[]).includes(family)) {
        if (!o.out) throw new UserError('--out DIR is required for image samples');
        if (o.scheduler !== undefined && o.scheduler !== 'ddim' && o.scheduler !== 'ddpm') throw new UserError(`--scheduler must be ddim or ddpm, got "${o.scheduler}"`);
        if (o.strength !== undefined && !o.seedImage) throw new UserError('--strength goes with --seed-image');
        if (o.seedImage) checkStrength(o.strength ?? 0.6, '--strength');
        checkPictureCount(o.n, '--n');
        prepareOutputDir(o.out, { inputs: [dir, ...(o.seedImage ? [o.seedImage] : [])] });
        await setup();
        return sampleImagesCmd(loadGenerator(dir), o, o.out);
      }
      await setup();
      const loaded = loadTextModel(dir, { ema: o.ema });
      try {
        const text = generateText(loaded.model, loaded.tokenizer, o.prompt, o);
        process.stdout.write(o.prompt + text + '\n');
      } finally {
        disposeLoaded(loaded);
      }
    }));
}

/** Writes each image as a PNG (`<class>_<index>.png`, or `<index>.png` when unconditional) and grid.png; returns the grid's path. */
export function writeImages(out: string, images: Float32Array, labels: number[], h: number, w: number, cols?: number): string {
  prepareOutputDir(out);
  const png = { magic: PNG_MAGIC, kind: 'PNG' };
  labels.forEach((c, i) => {
    const name = c >= 0 ? `${c}_${i}.png` : `${i}.png`;
    writeOutputFile(join(out, name), encodeGrayPng({ width: w, height: h, pixels: images.subarray(i * h * w, (i + 1) * h * w) }), png);
  });
  const grid = join(out, 'grid.png');
  writeOutputFile(grid, encodeGrayPng(imageGrid(images, labels.length, h, w, cols)), png);
  return grid;
}

function sampleImagesCmd(l: LoadedImageModel<Generator>, o: SampleFlags, out: string): void {
  try {
    const { height: h, width: w } = l.image;
    const seedImage = o.seedImage ? readGrayPng(o.seedImage, { width: w, height: h }).pixels : undefined;
    const { images, labels } = sampleImages(l, {
      n: o.n, classLabel: o.class, guidance: o.guidance, temperature: o.temperature, steps: o.steps, scheduler: o.scheduler as 'ddim' | 'ddpm' | undefined, seed: o.seed,
      seedImage, strength: seedImage ? o.strength ?? 0.6 : undefined,
    });
    // conditional samples cycle through the classes: one column per class lines them up
    const classes = l.image.classes, cols = labels[0] >= 0 && o.class === undefined && o.n > classes ? classes : undefined;
    process.stdout.write(writeImages(out, images, labels, h, w, cols) + '\n');
  } finally {
    l.model.dispose();
  }
}
