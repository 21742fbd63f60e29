// Generating a clip from a loaded generator: the part of the clip engine that needs no file
// system, so that the page's in-browser draft (web/draft.ts) runs this same code. clipEngine.ts
// loads checkpoints from disk and re-exports all of this.
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointMeta } from '../checkpoint/checkpoint.js';
import { parseText, resolveText } from '../data/clips/words.js';
import { FPS, FRAMES, SIDE } from '../data/clips/world.js';
import { classifierFreeText } from '../diffusion/guidance.js';
import { denoiseLoop, SamplingCancelled } from '../diffusion/loop.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../diffusion/schedules.js';
import { DdimScheduler } from '../diffusion/schedulers.js';
import { ClipDiffusion, savedClipDiffusionConfig } from '../models/clipDiffusion.js';
import type { TextEncoding } from '../models/textEncoder.js';
import { ClipLatent, savedClipLatentConfig } from '../models/clipLatent.js';
import { savedSpriteDiffusionConfig, SpriteDiffusion } from '../models/spriteDiffusion.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { Clip, ClipReport } from './clips.js';

export const CLIP_MODELS = ['diffusion', 'gan', 'vae'] as const;
export type ClipModelKind = (typeof CLIP_MODELS)[number];
export const FAMILY_OF: Record<ClipModelKind, string> = { diffusion: 'clip-diffusion', gan: 'clip-gan', vae: 'clip-vae' };

/** Without a checkpoint's own recommendation: DDIM 20 steps, guidance 3 (not yet measured). */
export const DEFAULT_CLIP_SAMPLING = { steps: 20, guidance: 3 };
export const MAX_SEED = 2 ** 31 - 1;

export interface LoadedClipGenerator {
  kind: ClipModelKind;
  model: ClipDiffusion | SpriteDiffusion | ClipLatent;
  meta: CheckpointMeta;
  dir: string;
}

/** A generator from a checkpoint's meta and weights (read from disk, or fetched by a page). */
export function clipGeneratorFrom(meta: CheckpointMeta, weights: tf.NamedTensorMap, dir: string, want?: ClipModelKind, label = dir): LoadedClipGenerator {
  const kind = (Object.keys(FAMILY_OF) as ClipModelKind[]).find((k) => FAMILY_OF[k] === meta.family);
  if (!kind || (want && kind !== want)) throw new UserError(`${label} holds a "${meta.family}" model, not a clip ${want ?? 'generator'} (${want ? FAMILY_OF[want] : Object.values(FAMILY_OF).join(', ')})`);
  const w = new Map(Object.entries(weights));
  try {
    const sprite = kind === 'diffusion' && (meta.model as { arch?: unknown }).arch === 'sprite';
    const model = sprite ? new SpriteDiffusion(savedSpriteDiffusionConfig(meta.model), w) : kind === 'diffusion' ? new ClipDiffusion(savedClipDiffusionConfig(meta.model), w) : new ClipLatent(savedClipLatentConfig(meta.model), w);
    return { kind, model, meta, dir };
  } catch (e) {
    throw new UserError(`${label}: ${(e as Error).message}`);
  }
}

export interface GenerateOptions {
  seed?: number;
  /** diffusion: DDIM steps and guidance (default: the checkpoint's recommendation) */
  steps?: number;
  guidance?: number;
  /** step k of n done; `preview` (when asked for) is the middle frame [64, 64, 3] of the current estimate */
  onProgress?: (p: { step: number; steps: number; preview?: Float32Array }) => void;
  preview?: boolean;
  signal?: AbortSignal;
}

export interface GeneratedClip extends Clip {
  /** `caption`: what the clip captioner reads in the clip, where the caller (the platform) has one */
  report: ClipReport & { model: ClipModelKind; checkpoint: string; steps: number; guidance: number; ms: number; encoderText: string; caption?: string };
}

/** The options a generation would use, checked (UserErrors), without generating: for callers that check before other work. */
export function checkGenerateOptions(g: LoadedClipGenerator, o: Pick<GenerateOptions, 'seed' | 'steps' | 'guidance'>): { seed: number; steps: number; guidance: number } {
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new UserError(`the seed must be a whole number from 0 to ${MAX_SEED}, got ${o.seed}`);
  if (g.kind !== 'diffusion') {
    if (o.steps !== undefined || o.guidance !== undefined) throw new UserError(`steps and guidance are for the diffusion model; the ${g.kind} makes a clip in one pass`);
    return { seed, steps: 1, guidance: 0 };
  }
  const rec = g.meta.sampling ?? {};
  const steps = o.steps ?? rec.steps ?? DEFAULT_CLIP_SAMPLING.steps, guidance = o.guidance ?? rec.guidance ?? DEFAULT_CLIP_SAMPLING.guidance;
  const T = scheduleFrom(g.meta.schedule ?? DEFAULT_SCHEDULE).betas.length;
  if (!Number.isInteger(steps) || steps < 1 || steps > 200 || steps > T) throw new UserError(`steps must be a whole number from 1 to ${Math.min(200, T)}, got ${o.steps}`);
  // below 1 the text counts for less than nothing would: 0 is the unconditional model, which ignores the words
  if (!(Number.isFinite(guidance) && guidance >= 1 && guidance <= 20)) throw new UserError(`guidance must be a number from 1 to 20 (below 1 the words are ignored), got ${o.guidance}`);
  return { seed, steps, guidance };
}

/** One clip from a description: parse (errors for bad text), resolve defaults and seeded draws, generate, decode. */
export async function generateClip(g: LoadedClipGenerator, text: string, o: GenerateOptions = {}): Promise<GeneratedClip> {
  const t0 = performance.now();
  const resolved = resolveText(parseText(text), o.seed ?? 0);
  const { seed, steps, guidance } = checkGenerateOptions(g, o);
  const report = (frames: Float32Array): GeneratedClip => ({
    frames,
    shape: { frames: FRAMES, height: SIDE, width: SIDE, fps: FPS },
    report: {
      attributes: resolved.objects, defaults: resolved.defaults, drawn: resolved.drawn, ignored: resolved.ignored, seed,
      model: g.kind, checkpoint: g.dir, steps, guidance, ms: Math.round(performance.now() - t0), encoderText: resolved.encoderText,
    },
  });
  const m = g.model;
  if (m instanceof ClipLatent) {
    // one pass: noise (GAN) or a prior draw (VAE) and the text's pooled reading to 16 latent frames
    if (o.signal?.aborted) throw new SamplingCancelled('sampling was cancelled');
    const frames = tf.tidy(() => {
      const eps = tf.tensor2d(new Rng(seed).normalArray(m.config.gen.zDim), [1, m.config.gen.zDim]), pooled = m.condition([resolved.encoderText]);
      return tf.clipByValue(m.frames(m.code(eps, pooled), pooled), 0, 1).dataSync() as Float32Array;
    });
    o.onProgress?.({ step: 1, steps: 1, preview: o.preview ? frames.slice((FRAMES >> 1) * SIDE * SIDE * 3, ((FRAMES >> 1) + 1) * SIDE * SIDE * 3) : undefined });
    return report(frames);
  }
  if (m instanceof SpriteDiffusion) return report(sampleSprite(m, g.meta, resolved.encoderText, { seed, steps, guidance }, o));
  const L = m.config.unet.latent, T = m.config.frames;
  const schedule = scheduleFrom(g.meta.schedule ?? DEFAULT_SCHEDULE), scheduler = new DdimScheduler(schedule, false);
  scheduler.setTimesteps(steps);
  const rng = new Rng(seed);
  const both = tf.tidy(() => m.encodeText([resolved.encoderText, '']));
  try {
    const x = tf.tensor4d(rng.normalArray(T * 16 * 16 * L), [T, 16, 16, L]);
    const predict = classifierFreeText<TextEncoding>((xx, tt, text) => m.predictNoise(xx as tf.Tensor4D, tt, text, schedule.alphasCumprod), both, guidance);
    const z = denoiseLoop({
      scheduler, x, predict, rng, signal: o.signal,
      onStep: (k, n, x0) => {
        const preview = o.preview ? tf.tidy(() => m.decode(tf.slice(x0, [T >> 1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D).dataSync() as Float32Array) : undefined;
        o.onProgress?.({ step: k, steps: n, preview });
      },
    });
    const frames = tf.tidy(() => m.decode(z as tf.Tensor4D).dataSync() as Float32Array);
    z.dispose();
    return report(frames);
  } finally {
    for (const t of [both.tokens, both.keyBias, both.pooled]) t.dispose();
  }
}

/** Sprite diffusion: DDIM over one sprite latent [1, 792] with classifier-free guidance, then the paste; frames [16 * 64 * 64 * 3]. */
function sampleSprite(m: SpriteDiffusion, meta: CheckpointMeta, text: string, s: { seed: number; steps: number; guidance: number }, o: GenerateOptions): Float32Array {
  const schedule = scheduleFrom(meta.schedule ?? DEFAULT_SCHEDULE), both = m.condition([text, '']);
  const [c, u] = [tf.slice(both, 0, 1), tf.slice(both, 1, 1)];
  try {
    const z = m.sampleLatents(c, u, { schedule, steps: s.steps, guidance: s.guidance }, new Rng(s.seed), {
      signal: o.signal,
      onStep: (k, n, x0) => {
        const preview = o.preview ? tf.tidy(() => tf.slice(m.decode(x0 as tf.Tensor2D), [FRAMES >> 1, 0, 0, 0], [1, -1, -1, -1]).dataSync() as Float32Array) : undefined;
        o.onProgress?.({ step: k, steps: n, preview });
      },
    });
    const frames = tf.tidy(() => tf.clipByValue(m.decode(z), 0, 1).dataSync() as Float32Array);
    z.dispose();
    return frames;
  } finally {
    tf.dispose([both, c, u]);
  }
}
