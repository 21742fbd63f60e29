// The image model families: default config for a dataset, fresh weights, construction from
// weights (old checkpoints get the config keys added since with their defaults).
import type { Weights } from '../nn/layers.js';
import type { Rng } from '../util/rng.js';
import { checkConfig, ConfigError, withDefaults } from '../util/config.js';
import { Classifier, ClassifierConfigSchema, defaultClassifierConfig, initClassifierWeights, type ClassifierConfig } from './classifier.js';
import { Dcgan, DcganConfigSchema, defaultDcganConfig, initDcganWeights, type DcganConfig } from './dcgan.js';
import { Unet, UnetConfigSchema, defaultUnetConfig, initUnetWeights, type UnetConfig } from './unet.js';
import { Vae, VaeConfigSchema, defaultVaeConfig, initVaeWeights, type VaeConfig } from './vae.js';

export const IMAGE_FAMILIES = ['diffusion', 'gan', 'vae', 'classifier'] as const;
export type ImageFamily = (typeof IMAGE_FAMILIES)[number];
export type ImageModel = Unet | Dcgan | Vae | Classifier;
export type AnyConfig = UnetConfig | DcganConfig | VaeConfig | ClassifierConfig;

/** Families that sample from the EMA of their weights when the run kept one (`--set emaDecay=...`). */
export function samplesFromEma(family: string): boolean {
  return family === 'diffusion' || family === 'gan' || family === 'clip-diffusion' || family === 'clip-gan';
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

/** The closed config schema of each family. */
export const IMAGE_CONFIG_SCHEMAS = { diffusion: UnetConfigSchema, gan: DcganConfigSchema, vae: VaeConfigSchema, classifier: ClassifierConfigSchema } as const;

/** Checks a config against its family's schema and against the data: classes must be 0 or the data's classes. */
export function validateImageConfig(family: ImageFamily, c: AnyConfig, dataClasses: number): void {
  checkConfig(IMAGE_CONFIG_SCHEMAS[family], c, family);
  const classes = c.classes;
  if (family === 'classifier') {
    if (classes !== dataClasses) throw new ConfigError(`the classifier has one output per class of the data (${dataClasses}); classes cannot be ${classes}`);
  } else if (classes !== 0 && classes !== dataClasses) {
    throw new ConfigError(`classes must be 0 (unconditional) or the number of classes of the data (${dataClasses}), got ${classes}`);
  }
  if (family === 'gan' && (c as DcganConfig).clusters > 0 && classes > 0) throw new ConfigError('clusters stand in for the labels of an unconditional GAN: set classes=0 with clusters');
  if (family === 'diffusion') {
    const u = c as UnetConfig;
    if (u.channels !== 1) throw new ConfigError(`channels is the images' channel count (1 for these grey images), got ${u.channels}`);
    if (32 % u.groups || 64 % u.groups) throw new ConfigError(`groups must divide the UNet's widths 32 and 64 (1, 2, 4, 8, 16 or 32), got ${u.groups}`);
    if (u.tembDim % 2) throw new ConfigError(`tembDim must be even (half sines, half cosines), got ${u.tembDim}`);
  }
}

export function initImageWeights(family: ImageFamily, c: AnyConfig, rng: Rng): Weights {
  switch (family) {
    case 'diffusion': return initUnetWeights(c as UnetConfig, rng);
    case 'gan': return initDcganWeights(c as DcganConfig, rng);
    case 'vae': return initVaeWeights(c as VaeConfig, rng);
    case 'classifier': return initClassifierWeights(c as ClassifierConfig, rng);
  }
}

/** A config a checkpoint recorded, with the keys added since at their defaults, checked. */
export function savedImageConfig(family: ImageFamily, saved: Record<string, unknown>): AnyConfig {
  switch (family) {
    case 'diffusion': return withDefaults(UnetConfigSchema, { ...defaultUnetConfig(), classes: 0 }, saved, family);
    case 'gan': return withDefaults(DcganConfigSchema, defaultDcganConfig(), saved, family);
    case 'vae': return withDefaults(VaeConfigSchema, defaultVaeConfig(), saved, family);
    case 'classifier': return withDefaults(ClassifierConfigSchema, defaultClassifierConfig(), saved, family);
  }
}

/** Builds a model that takes over `weights`; `saved` is the config a checkpoint recorded. */
export function buildImageModel(family: ImageFamily, saved: Record<string, unknown>, weights: Weights): ImageModel {
  const c = savedImageConfig(family, saved);
  switch (family) {
    case 'diffusion': return new Unet(c as UnetConfig, weights);
    case 'gan': return new Dcgan(c as DcganConfig, weights);
    case 'vae': return new Vae(c as VaeConfig, weights);
    case 'classifier': return new Classifier(c as ClassifierConfig, weights);
  }
}
