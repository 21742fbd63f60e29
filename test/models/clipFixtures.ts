// Tiny clip-engine models for tests.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { TrainPhase, TrainTask } from '../../src/train/trainer.js';
import { expectNoLeak } from '../helpers.js';
import { defaultClipDiffusionConfig, ClipDiffusion, type ClipDiffusionConfig } from '../../src/models/clipDiffusion.js';
import { ClipLatent, initClipLatentWeights, type ClipLatentConfig } from '../../src/models/clipLatent.js';
import { defaultFrameAeConfig, initFrameAeWeights } from '../../src/models/frameAe.js';
import { initTextEncoderWeights } from '../../src/models/textEncoder.js';
import { defaultClipTextConfig, initClipTextWeights } from '../../src/models/clipText.js';
import { defaultSpriteDiffusionConfig, initSpriteDiffusionWeights, SpriteDiffusion } from '../../src/models/spriteDiffusion.js';
import { initVideoUnetWeights } from '../../src/models/videoUnet.js';
import type { Weights } from '../../src/nn/layers.js';
import { Rng } from '../../src/util/rng.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES } from '../../src/data/clips/world.js';

/** A tiny clip diffusion model with random weights (frames 16, as the world has). */
export function tinyClipDiffusion(seed = 1): ClipDiffusion {
  const base = defaultClipDiffusionConfig();
  const config: ClipDiffusionConfig = {
    ...base, text: { vocabSize: 128, dim: 16, layers: 1, heads: 2, maxLen: 24 },
    unet: { latent: 4, c1: 8, c2: 16, tembDim: 16, textDim: 16, heads: 2, groups: 8 }, ae: defaultFrameAeConfig(), latentScale: 1.5,
  };
  const rng = new Rng(seed);
  const w: Weights = new Map([...initTextEncoderWeights(config.text, rng), ...initVideoUnetWeights(config.unet, rng)]);
  for (const [k, v] of initFrameAeWeights(config.ae, rng)) w.set(`ae.${k}`, v);
  return new ClipDiffusion(config, w);
}

/** A tiny sprite diffusion model with random weights over a tiny clip-text encoder and heads. */
export function tinySpriteDiffusion(seed = 1): SpriteDiffusion {
  const text = { vocabSize: 128, dim: 16, layers: 1, heads: 2, maxLen: 24 };
  const config = { ...defaultSpriteDiffusionConfig(text), unet: { channels: 1, groups: 8, tembDim: 16, classes: 0 }, pathHidden: 16, cond: 'heads' as const, reading: 'soft' as const };
  const rng = new Rng(seed);
  return new SpriteDiffusion(config, new Map([...initClipTextWeights({ ...defaultClipTextConfig(), text }, rng), ...initSpriteDiffusionWeights(config, rng)]));
}

/** A tiny GAN or VAE over a tiny diffusion model's text encoder and autoencoder. */
export function tinyClipLatent(kind: 'gan' | 'vae', seed = 2, arch: 'field' | 'sprite' = 'field', prior?: 'text'): ClipLatent {
  const d = tinyClipDiffusion(seed);
  const config: ClipLatentConfig = { kind, gen: { zDim: 8, c1: 8, c2: 16, embDim: 16, groups: 8, ...(arch === 'sprite' ? { arch } : {}), ...(prior ? { prior } : {}) }, text: d.config.text, ae: d.config.ae, frames: 16, latentScale: 1.5, vocab: d.config.vocab, beta: 0.01 };
  const w: Weights = new Map([...d.params].filter(([k]) => k.startsWith('text.') || k.startsWith('ae.')).map(([k, v]) => [k, tf.clone(v)]));
  d.dispose();
  for (const [k, v] of initClipLatentWeights(config, new Rng(seed + 1))) w.set(k, v);
  return new ClipLatent(config, w);
}

/** A GAN task's D phase moves only `disc.*` and G only `gen.*` (never the frozen text encoder or autoencoder); each phase's step gives every weight a gradient, a finite loss and no leak. */
export async function expectGanPhases(m: ClipLatent, task: TrainTask): Promise<void> {
  if (!('phases' in task)) throw new Error('a two-phase task expected');
  const { D, G } = task.phases as Record<string, TrainPhase>;
  expect(D.trainable.length > 0 && D.trainable.every((k) => k.startsWith('disc.'))).toBe(true);
  expect(G.trainable.length > 0 && G.trainable.every((k) => k.startsWith('gen.'))).toBe(true);
  const rng = new Rng(4);
  for (const ph of [D, G]) {
    const vars = ph.trainable.map((k) => m.params.get(k)!);
    // no tidy around the step: what the loss leaks must show in the leak check
    const step = () => {
      const { value, grads } = tf.variableGrads(() => ph.loss(rng, 2), vars);
      expect(Object.keys(grads).length).toBe(vars.length);
      const v = value.dataSync()[0];
      value.dispose(); tf.dispose(Object.values(grads));
      return v;
    };
    expect(Number.isFinite(step())).toBe(true);
    await expectNoLeak(() => { step(); });
  }
}

/** A VAE task trains encoder and decoder (only them) on one loss that falls over a few steps on a fixed batch, without a leak; its validation repeats. */
export async function expectVaeLearns(m: ClipLatent, task: TrainTask): Promise<void> {
  if (!('loss' in task)) throw new Error('a one-phase task expected');
  expect(task.trainable.some((k) => k.startsWith('enc.')) && task.trainable.some((k) => k.startsWith('gen.'))).toBe(true);
  expect(task.trainable.every((k) => k.startsWith('enc.') || k.startsWith('gen.'))).toBe(true);
  const vars = task.trainable.map((k) => m.params.get(k)!), opt = tf.train.adam(3e-3);
  // no tidy around the step: what the loss leaks must show in the leak check
  const step = (seed: number) => {
    const { value, grads } = tf.variableGrads(() => task.loss(new Rng(seed), 2), vars);
    expect(Object.keys(grads).length).toBe(vars.length);
    opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
    const v = value.dataSync()[0];
    value.dispose(); tf.dispose(Object.values(grads));
    return v;
  };
  const first = step(7);
  await expectNoLeak(() => { step(7); });
  let last = first;
  for (let i = 0; i < 8; i++) last = step(7);
  expect(last).toBeLessThan(first);
  expect(task.validate!(1)).toBe(task.validate!(1));
  opt.dispose();
}

/** A tiny latent GAN (arch=latent) over a tiny clip-text encoder and random heads (read hard, as the default). */
export function tinyLatentGan(seed = 3): ClipLatent {
  const base = tinyClipLatent('gan', seed, 'sprite'), D = base.config.text.dim;
  const config: ClipLatentConfig = { ...base.config, gen: { zDim: 8, c1: 8, c2: 16, embDim: 16, groups: 8, arch: 'latent', cond: 'heads', headScale: 4 } };
  const w: Weights = new Map([...base.params].filter(([k]) => k.startsWith('text.') || k.startsWith('ae.')).map(([k, v]) => [k, tf.clone(v)]));
  base.dispose();
  const rng = new Rng(seed + 5);
  for (const [k, v] of initClipLatentWeights(config, rng)) w.set(k, v);
  for (const k of ATTRIBUTE_NAMES) {
    const n = ATTRIBUTE_VALUES[k].length;
    w.set(`head.${k}.w`, tf.tensor2d(rng.normalArray(D * n), [D, n]));
    w.set(`head.${k}.b`, tf.zeros([n]));
  }
  return new ClipLatent(config, w);
}
