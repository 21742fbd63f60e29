// The image model families: default config for a dataset, fresh weights, construction from
// weights (old checkpoints get the config keys added since with their defaults).
import type { Weights } from '../nn/layers.js';
import type { Rng } from '../util/rng.js';
import { ConfigError } from '../util/config.js';
import { Classifier, defaultClassifierConfig, initClassifierWeights, type ClassifierConfig } from './classifier.js';
import { Dcgan, defaultDcganConfig, initDcganWeights, type DcganConfig } from './dcgan.js';
import { Unet, defaultUnetConfig, initUnetWeights, type UnetConfig } from './unet.js';
import { Vae, defaultVaeConfig, initVaeWeights, type VaeConfig } from './vae.js';

export const IMAGE_FAMILIES = ['diffusion', 'gan', 'vae', 'classifier'] as const;
export type ImageFamily = (typeof IMAGE_FAMILIES)[number];
export type ImageModel = Unet | Dcgan | Vae | Classifier;
type AnyConfig = UnetConfig | DcganConfig | VaeConfig | ClassifierConfig;

/** Families that sample from the EMA of their weights when the run kept one (`--set emaDecay=...`). */
export function samplesFromEma(family: string): boolean {
  return family === 'diffusion' || family === 'gan';
}

export function isImageFamily(s: string): s is ImageFamily {
  return (IMAGE_FAMILIES as readonly string[]).includes(s);
}

/** The default config for data with `classes` classes: every generator is class-conditional by default (classes: 0 switches it off). */
export function defaultImageConfig(family: ImageFamily, classes: number): AnyConfig {
  switch (family) {
    case 'diffusion': return { ...defaultUnetConfig(), classes };
    case 'gan': return { ...defaultDcganConfig(), classes };
    case 'vae': return { ...defaultVaeConfig(), classes };
    case 'classifier': return { ...defaultClassifierConfig(), classes };
  }
}

export function validateImageConfig(family: ImageFamily, c: AnyConfig, dataClasses: number): void {
  const classes = c.classes;
  if (family === 'classifier') {
    if (classes !== dataClasses) throw new ConfigError(`the classifier has one output per class of the data (${dataClasses}); classes cannot be ${classes}`);
  } else if (!Number.isInteger(classes) || (classes !== 0 && classes !== dataClasses)) {
    throw new ConfigError(`classes must be 0 (unconditional) or the number of classes of the data (${dataClasses}), got ${classes}`);
  }
  // classes and the GAN's mbstd and clusters (0 = off) may be 0; every other size is a positive integer
  const zeroOk = new Set(['classes', 'mbstd', 'clusters']);
  for (const [k, v] of Object.entries(c)) if (!Number.isInteger(v) || v < (zeroOk.has(k) ? 0 : 1)) throw new ConfigError(`${k} must be a ${zeroOk.has(k) ? 'non-negative' : 'positive'} integer, got ${v}`);
  if (family === 'gan' && c.clusters > 0 && classes > 0) throw new ConfigError('clusters stand in for the labels of an unconditional GAN: set classes=0 with clusters');
}

export function initImageWeights(family: ImageFamily, c: AnyConfig, rng: Rng): Weights {
  switch (family) {
    case 'diffusion': return initUnetWeights(c as UnetConfig, rng);
    case 'gan': return initDcganWeights(c as DcganConfig, rng);
    case 'vae': return initVaeWeights(c as VaeConfig, rng);
    case 'classifier': return initClassifierWeights(c as ClassifierConfig, rng);
  }
}

/** Builds a model that takes over `weights`; `saved` is the config a checkpoint recorded. */
export function buildImageModel(family: ImageFamily, saved: Record<string, unknown>, weights: Weights): ImageModel {
  switch (family) {
    case 'diffusion': return new Unet({ ...defaultUnetConfig(), classes: 0, ...saved } as UnetConfig, weights);
    case 'gan': return new Dcgan({ ...defaultDcganConfig(), ...saved } as DcganConfig, weights);
    case 'vae': return new Vae({ ...defaultVaeConfig(), ...saved } as VaeConfig, weights);
    case 'classifier': return new Classifier({ ...defaultClassifierConfig(), ...saved } as ClassifierConfig, weights);
  }
}
