// Memory a model or a request needs, estimated before anything is allocated, so that a request
// too large is refused with the setting to lower instead of growing until the process dies.
// Tensors live in the WebAssembly heap (4 GiB at most; tfjs's wasm kernels fail with "memory
// access out of bounds" near it): a request may plan on 2 GiB of tensors.
import { ConfigError } from '../util/config.js';
import type { GptConfig } from './gpt.js';
import type { LstmConfig } from './lstm.js';

export const TENSOR_BUDGET_BYTES = 2 * 1024 ** 3;

export function formatBytes(b: number): string {
  if (!Number.isFinite(b) || b >= 1024 ** 5) return `${b.toExponential(1)} bytes`;
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i += 1; }
  return `${b.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Throws a ConfigError naming `lower` when `bytes` exceeds the budget. */
export function checkBudget(bytes: number, what: string, lower: string, budget = TENSOR_BUDGET_BYTES): void {
  if (!(bytes <= budget)) throw new ConfigError(`${what} would need about ${formatBytes(bytes)} of memory, more than the ${formatBytes(budget)} genlab can use; lower ${lower}`);
}

/** GPT weights (nanoGPT's layout: tied head unless untied). */
export function gptParams(c: GptConfig): number {
  const C = c.nEmbd;
  return c.vocabSize * C * (c.untiedHead ? 2 : 1) + c.blockSize * C + c.nLayer * (12 * C * C + 13 * C) + 2 * C;
}

export function lstmParams(c: LstmConfig): number {
  const G = c.cell === 'gru' ? 3 : 4, H = c.hidden;
  let p = c.vocabSize * c.embed + H * c.vocabSize + c.vocabSize;
  for (let l = 0; l < c.layers; l++) p += G * H * ((l === 0 ? c.embed : H) + H + 2);
  return p;
}

/**
 * Training a text model: weights, gradients, two Adam moments and an EMA (5 copies), plus the
 * activations a step keeps for its backward pass (GPT: ~20 floats per token and width per layer
 * and the attention maps; LSTM: ~12 per token and hidden unit per layer), plus the logits.
 */
export function checkTextTraining(family: 'gpt' | 'lstm', c: GptConfig | LstmConfig, batchSize: number): void {
  const B = batchSize, T = c.blockSize, V = c.vocabSize;
  const weights = 5 * 4 * (family === 'gpt' ? gptParams(c as GptConfig) : lstmParams(c as LstmConfig));
  const acts = family === 'gpt'
    ? 4 * ((c as GptConfig).nLayer * (20 * B * T * (c as GptConfig).nEmbd + 3 * B * (c as GptConfig).nHead * T * T) + 3 * B * T * V)
    : 4 * ((c as LstmConfig).layers * 12 * B * T * (c as LstmConfig).hidden + 3 * B * T * V);
  const sizeKeys = family === 'gpt' ? 'nLayer or nEmbd' : 'layers, hidden or embed';
  checkBudget(weights, `a ${family} of ${(weights / 20).toExponential(2)} weights`, sizeKeys);
  checkBudget(weights + acts, `training this ${family} with batchSize ${B} and blockSize ${T}`, acts > weights ? 'batchSize or blockSize' : sizeKeys);
}

/** Per image, what a training step of each image family keeps (the UNet's 32x32 maps dominate); measured order of magnitude, generous. */
const IMAGE_STEP_BYTES: Record<string, number> = { diffusion: 8 << 20, gan: 2 << 20, vae: 1 << 20, classifier: 1 << 19 };

export function checkImageTraining(family: string, batchSize: number): void {
  checkBudget(batchSize * (IMAGE_STEP_BYTES[family] ?? 8 << 20), `a ${family} training step with batchSize ${batchSize}`, 'batchSize');
}

/** The most images one strip or grid PNG may hold (a strip of 1,000 28x28 digits is 30,000 pixels wide). */
export const MAX_IMAGES_PER_PICTURE = 1000;
export function checkPictureCount(n: number, flag: string): void {
  if (n > MAX_IMAGES_PER_PICTURE) throw new ConfigError(`${flag} ${n} is more than the ${MAX_IMAGES_PER_PICTURE} images one picture may hold; lower ${flag}`);
}
