import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../data/errors.js';
import { encodeGrayPng, imageGrid, writeFileAtomic } from '../media/png.js';
import { loadDiffusion, loadVae, sampleImages, sampleVae, type LoadedDiffusion, type LoadedVae } from '../pipelines/images.js';
import { Vae } from '../models/vae.js';
import { disposeLoaded, generateText, loadTextModel } from '../pipelines/text.js';
import { readCheckpointMeta, resolveCheckpointDir } from '../train/checkpoint.js';
import { action, int, num, setup } from './common.js';

interface SampleFlags {
  prompt: string; tokens: number; temperature: number; topK?: number; topP?: number; seed: number; ema?: boolean;
  n: number; class?: number; guidance: number; steps: number; scheduler: string; out?: string;
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('generate from a trained model: text (prompt and continuation on stdout) or images (diffusion, vae: PNGs in --out)')
    .argument('<dir>', 'run or checkpoint directory')
    .option('--prompt <text>', 'text: what to continue', '')
    .option('--tokens <n>', 'text: characters to generate', int('--tokens', 0), 200)
    .option('--temperature <t>', 'text: divide logits by t (> 0)', num('--temperature'), 1)
    .option('--top-k <k>', 'text: sample among the k most likely characters', int('--top-k', 1))
    .option('--top-p <p>', 'text: sample from the smallest set with probability mass p', num('--top-p'))
    .option('--seed <n>', 'the same seed gives the same result', int('--seed', 0), 0)
    .option('--ema', 'text: use the EMA weights, when the run kept them (images always do)')
    .option('--n <n>', 'images: how many', int('--n', 1), 16)
    .option('--class <c>', 'images: the class of every sample (default: cycle through the classes)', int('--class', 0))
    .option('--guidance <g>', 'images: classifier-free guidance scale (1: the conditional model)', num('--guidance'), 1)
    .option('--steps <n>', 'images: DDIM steps', int('--steps', 1), 50)
    .option('--scheduler <s>', 'images: ddim or ddpm (1,000 steps)', 'ddim')
    .option('--out <dir>', 'images: directory for <class>_<index>.png (or <index>.png) and grid.png')
    .action(action(async (dir: string, o: SampleFlags) => {
      await setup();
      const family = readCheckpointMeta(resolveCheckpointDir(dir)).family;
      if (family === 'diffusion' || family === 'vae') return sampleImagesCmd(dir, family, o);
      const loaded = loadTextModel(dir, { ema: o.ema });
      try {
        const text = generateText(loaded.model, loaded.tokenizer, o.prompt, o);
        process.stdout.write(o.prompt + text + '\n');
      } finally {
        disposeLoaded(loaded);
      }
    }));
}

function sampleImagesCmd(dir: string, family: string, o: SampleFlags): void {
  if (!o.out) throw new UserError('--out DIR is required for image samples');
  if (o.scheduler !== 'ddim' && o.scheduler !== 'ddpm') throw new UserError(`--scheduler must be ddim or ddpm, got "${o.scheduler}"`);
  const l = family === 'vae' ? loadVae(dir) : loadDiffusion(dir);
  try {
    let images: Float32Array, labels: number[];
    if (l.model instanceof Vae) {
      if (o.class !== undefined) throw new UserError('this VAE is unconditional: it takes no --class');
      images = sampleVae(l as LoadedVae, o.n, o.seed);
      labels = new Array<number>(o.n).fill(-1);
    } else {
      ({ images, labels } = sampleImages(l as LoadedDiffusion, { n: o.n, classLabel: o.class, guidance: o.guidance, steps: o.steps, scheduler: o.scheduler, seed: o.seed }));
    }
    const { height: h, width: w } = l.image;
    mkdirSync(o.out, { recursive: true });
    labels.forEach((c, i) => {
      const name = c >= 0 ? `${c}_${i}.png` : `${i}.png`;
      writeFileAtomic(join(o.out!, name), encodeGrayPng({ width: w, height: h, pixels: images.subarray(i * h * w, (i + 1) * h * w) }));
    });
    const grid = join(o.out, 'grid.png');
    writeFileAtomic(grid, encodeGrayPng(imageGrid(images, labels.length, h, w)));
    process.stdout.write(grid + '\n');
  } finally {
    l.model.dispose();
  }
}
