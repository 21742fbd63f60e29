// The text model families: default config, fresh weights, and construction from weights.
import type { Weights } from '../nn/layers.js';
import type { Rng } from '../util/rng.js';
import { Gpt, defaultGptConfig, initGptWeights, validateGptConfig, type GptConfig } from './gpt.js';
import { Lstm, defaultLstmConfig, initLstmWeights, validateLstmConfig, type LstmConfig } from './lstm.js';
import type { TextModel } from './types.js';

export const TEXT_FAMILIES = ['gpt', 'lstm'] as const;
export type TextFamily = (typeof TEXT_FAMILIES)[number];
export type TextModelConfig = GptConfig | LstmConfig;

export function isTextFamily(s: string): s is TextFamily {
  return (TEXT_FAMILIES as readonly string[]).includes(s);
}

export function defaultTextConfig(family: TextFamily): TextModelConfig {
  return family === 'gpt' ? defaultGptConfig() : defaultLstmConfig();
}

export function validateTextConfig(family: TextFamily, c: TextModelConfig): void {
  if (family === 'gpt') validateGptConfig(c as GptConfig);
  else validateLstmConfig(c as LstmConfig);
}

export function initTextWeights(family: TextFamily, c: TextModelConfig, rng: Rng): Weights {
  return family === 'gpt' ? initGptWeights(c as GptConfig, rng) : initLstmWeights(c as LstmConfig, rng);
}

/** Builds a model that takes over `weights`. */
export function buildTextModel(family: TextFamily, c: TextModelConfig, weights: Weights): TextModel {
  return family === 'gpt' ? new Gpt(c as GptConfig, weights) : new Lstm(c as LstmConfig, weights);
}

/** The context length a model trains on. */
export function blockSizeOf(c: TextModelConfig): number {
  return c.blockSize as number;
}
