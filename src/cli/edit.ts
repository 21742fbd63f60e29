// Image verbs that start from a user's picture: `vary` and `interpolate` (VAE), `restore` (diffusion).
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { encodeGrayPng, imageGrid, readGrayPng } from '../media/png.js';
import { checkOutputFile, PNG_MAGIC, writeOutputFile } from '../util/files.js';
import type { Unet } from '../models/unet.js';
import type { Vae } from '../models/vae.js';
import { interpolateImages, loadImageModel, restoreImage, varyImage, type LoadedImageModel } from '../pipelines/images.js';
import { action, int, num, setup } from './common.js';

/** The --out PNG of a verb, checked before any work: not one of the inputs, not another kind of file. */
function outPng(path: string, inputs: (string | undefined)[]): string {
  checkOutputFile(path, { extensions: ['.png'], magic: PNG_MAGIC, kind: 'PNG', inputs: inputs.filter((x): x is string => !!x) });
  return path;
}

function writePng(path: string, png: Buffer, inputs: (string | undefined)[]): void {
  writeOutputFile(path, png, { extensions: ['.png'], magic: PNG_MAGIC, kind: 'PNG', inputs: inputs.filter((x): x is string => !!x) });
}

export function registerEdit(program: Command): void {
  program
    .command('vary')
    .description('a range of outputs from one input: encode an image with a VAE and decode n draws from its posterior, as one strip')
    .argument('<dir>', 'VAE run or checkpoint directory')
    .requiredOption('--image <png>', 'the input image (the model\'s size, e.g. 28x28)')
    .requiredOption('--out <png>', 'where the strip of variations goes')
    .option('--n <n>', 'how many variations', int('--n', 1), 8)
    .option('--class <c>', 'conditional VAE: the class of the image (default: the class the model finds likeliest)', int('--class', 0))
    .option('--seed <n>', 'seed of the draws', int('--seed', 0), 0)
    .action(action(async (dir: string, o: { image: string; out: string; n: number; class?: number; seed: number }) => {
      const out = outPng(o.out, [o.image]);
      await setup();
      const l = loadImageModel(dir, ['vae']) as LoadedImageModel<Vae>;
      try {
        const { height: h, width: w } = l.image;
        const img = readGrayPng(o.image, { width: w, height: h }).pixels;
        const r = varyImage(l, img, { n: o.n, classLabel: o.class, seed: o.seed });
        writePng(out, encodeGrayPng(imageGrid(r.images, o.n, h, w, o.n)), [o.image]);
        process.stdout.write(`${out}${r.label >= 0 ? ` (class ${r.label})` : ''}\n`);
      } finally {
        l.model.dispose();
      }
    }));

  program
    .command('interpolate')
    .description('decode images along the line between the latent codes of two images (VAE), as one strip')
    .argument('<dir>', 'VAE run or checkpoint directory')
    .requiredOption('--from <png>', 'first image')
    .requiredOption('--to <png>', 'last image')
    .requiredOption('--out <png>', 'where the strip goes')
    .option('--steps <n>', 'images in the strip, both ends included', int('--steps', 2), 10)
    .action(action(async (dir: string, o: { from: string; to: string; out: string; steps: number }) => {
      const out = outPng(o.out, [o.from, o.to]);
      await setup();
      const l = loadImageModel(dir, ['vae']) as LoadedImageModel<Vae>;
      try {
        const { height: h, width: w } = l.image;
        const a = readGrayPng(o.from, { width: w, height: h }).pixels, b = readGrayPng(o.to, { width: w, height: h }).pixels;
        const r = interpolateImages(l, a, b, { steps: o.steps });
        writePng(out, encodeGrayPng(imageGrid(r.images, o.steps, h, w, o.steps)), [o.from, o.to]);
        process.stdout.write(`${out}${r.labels[0] >= 0 ? ` (classes ${r.labels[0]} to ${r.labels[1]})` : ''}\n`);
      } finally {
        l.model.dispose();
      }
    }));

  program
    .command('restore')
    .description('restore a damaged image with a diffusion model: inpaint a masked region (RePaint) and/or redraw noise and scratches (SDEdit)')
    .argument('<dir>', 'diffusion run or checkpoint directory')
    .requiredOption('--image <png>', 'the damaged image (the model\'s size)')
    .requiredOption('--out <png>', 'where the restored image goes')
    .option('--mask <png>', 'same size as the image: white where pixels are missing and must be filled in')
    .option('--denoise <s>', 'in (0, 1]: start the reverse process this far up (more redraws more)', num('--denoise'))
    .option('--class <c>', 'conditional model: the class the image shows (default: none)', int('--class', 0))
    .option('--guidance <g>', "with --class: classifier-free guidance scale (default: the checkpoint's recommended, else 1.75)", num('--guidance'))
    .option('--steps <n>', "DDIM steps of the whole reverse process (default: the checkpoint's recommended, else 25)", int('--steps', 1))
    .option('--resample <r>', 'with --mask: RePaint resampling rounds per step', int('--resample', 1), 4)
    .option('--seed <n>', 'seed', int('--seed', 0), 0)
    .action(action(async (dir: string, o: { image: string; out: string; mask?: string; denoise?: number; class?: number; guidance?: number; steps?: number; resample: number; seed: number }) => {
      const out = outPng(o.out, [o.image, o.mask]);
      await setup();
      const l = loadImageModel(dir, ['diffusion']) as LoadedImageModel<Unet>;
      try {
        const { height: h, width: w } = l.image;
        const img = readGrayPng(o.image, { width: w, height: h }).pixels;
        let mask: Float32Array | undefined;
        if (o.mask) {
          const m = readGrayPng(o.mask);
          if (m.width !== w || m.height !== h) throw new UserError(`the mask ${o.mask} is ${m.width}x${m.height}; the image is ${w}x${h}`);
          mask = m.pixels;
        }
        const r = restoreImage(l, img, { mask, denoise: o.denoise, classLabel: o.class, guidance: o.guidance, steps: o.steps, resample: o.resample, seed: o.seed });
        writePng(out, encodeGrayPng({ width: w, height: h, pixels: r }), [o.image, o.mask]);
        process.stdout.write(out + '\n');
      } finally {
        l.model.dispose();
      }
    }));
}
