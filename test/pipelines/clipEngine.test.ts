import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { SamplingCancelled } from '../../src/diffusion/loop.js';
import { generateClip, loadClipGenerator } from '../../src/pipelines/clipEngine.js';
import { UserError } from '../../src/util/errors.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';
import { tinyClipDiffusion } from '../models/clipFixtures.js';

/** A tiny clip-diffusion checkpoint with random weights, as `genlab train clip-diffusion` writes one. */
export async function tinyClipCheckpoint(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'genlab-clipck-')), 'checkpoint'), m = tinyClipDiffusion(3);
  const weights: tf.NamedTensorMap = Object.fromEntries(m.params);
  await saveCheckpoint(dir, { meta: { format: CHECKPOINT_FORMAT, family: 'clip-diffusion', model: { ...m.config }, step: 0, created: new Date().toISOString() }, weights });
  m.dispose();
  return dir;
}

describe('clip engine (library entry point)', () => {
  it('gives 16 frames of 64x64x3 in [0, 1], the same clip for the same seed, the report of the words, progress and previews, and leaks nothing', async () => {
    const g = loadClipGenerator(await tinyClipCheckpoint());
    const steps: number[] = [];
    let preview: Float32Array | undefined;
    const a = await generateClip(g, 'a big red 3 moving left, sparkling', { seed: 4, steps: 3, guidance: 2, preview: true, onProgress: (p) => { steps.push(p.step); expect(p.steps).toBe(3); preview = p.preview; } });
    expect(a.frames.length).toBe(16 * 64 * 64 * 3);
    expect(a.frames.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(steps).toEqual([1, 2, 3]);
    expect(preview?.length).toBe(64 * 64 * 3);
    expect(a.report).toMatchObject({ attributes: [{ digit: 3, colour: 'red', direction: 'left', size: 'large', speed: 'slow' }], defaults: [{ speed: 'slow' }], ignored: ['sparkling'], seed: 4, steps: 3, guidance: 2, model: 'diffusion' });
    expect(a.report.encoderText).toBe('a big red 3 moving left slow');
    const b = await generateClip(g, 'a big red 3 moving left, sparkling', { seed: 4, steps: 3, guidance: 2 });
    expect(maxAbsDiff(a.frames, b.frames)).toBe(0);
    const c = await generateClip(g, 'a big red 3 moving left, sparkling', { seed: 5, steps: 3, guidance: 2 });
    expect(maxAbsDiff(a.frames, c.frames)).toBeGreaterThan(0);
    await expectNoLeak(async () => { await generateClip(g, 'a small 5', { seed: 1, steps: 2, preview: true, onProgress: () => {} }); });
    g.model.dispose();
  }, 120_000);
  it('stops between steps when the signal is aborted, leaking nothing', async () => {
    const g = loadClipGenerator(await tinyClipCheckpoint());
    const ctl = new AbortController();
    const seen: number[] = [];
    await expectNoLeak(async () => {
      await expect(generateClip(g, 'a 3', { steps: 10, signal: ctl.signal, onProgress: (p) => { seen.push(p.step); if (p.step === 2) ctl.abort(); } })).rejects.toBeInstanceOf(SamplingCancelled);
    });
    expect(seen).toEqual([1, 2]);
    g.model.dispose();
  }, 120_000);
  it('refuses bad text, seeds, steps and guidance with clear errors', async () => {
    const g = loadClipGenerator(await tinyClipCheckpoint());
    for (const [text, o, msg] of [
      ['', {}, /empty/], ['a red blue 3', {}, /two colours/], ['x'.repeat(501), {}, /at most 500/],
      ['a 3', { seed: -1 }, /seed/], ['a 3', { seed: 2 ** 31 }, /seed/], ['a 3', { seed: 1.5 }, /seed/],
      ['a 3', { steps: 0 }, /steps/], ['a 3', { steps: 1001 }, /steps/], ['a 3', { guidance: -1 }, /guidance/], ['a 3', { guidance: Number.NaN }, /guidance/],
    ] as const) {
      await expect(generateClip(g, text, o), `${text.slice(0, 20)} ${JSON.stringify(o)}`).rejects.toThrow(msg);
      await expect(generateClip(g, text, o)).rejects.toBeInstanceOf(UserError);
    }
    g.model.dispose();
  }, 60_000);
});
