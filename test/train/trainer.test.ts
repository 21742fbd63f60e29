import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Gpt, initGptWeights, type GptConfig } from '../../src/models/gpt.js';
import { ownVariable } from '../../src/nn/layers.js';
import { loadCheckpoint, disposeMap } from '../../src/train/checkpoint.js';
import { createProgress } from '../../src/train/progress.js';
import { textTask } from '../../src/train/textTask.js';
import { NonFiniteLossError, Trainer, defaultTrainConfig, type TrainConfig, type TrainTask } from '../../src/train/trainer.js';
import { CharTokenizer, splitTrainVal } from '../../src/data/text.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'genlab-trainer-'));
const quiet = createProgress({ quiet: true });
const tiny: GptConfig = { vocabSize: 8, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, untiedHead: false };
const text = 'abcdefg\n'.repeat(60);
const tok = CharTokenizer.fromText(text);
const { train, val } = splitTrainVal(tok.encode(text));

function cfg(over: Partial<TrainConfig> = {}): TrainConfig {
  return { ...defaultTrainConfig(), steps: 6, batchSize: 4, warmupSteps: 2, evalEvery: 0, evalBatches: 2, checkpointEvery: 0, logEvery: 1, seed: 3, emaDecay: 0.9, ...over };
}

function gptTask(model: Gpt): TrainTask {
  return textTask({ model, tokenizer: tok, train, val, block: 8 });
}

describe('trainer', () => {
  it('resumed from a checkpoint, gives the same loss at every later step as an uninterrupted run', async () => {
    const full: number[] = [];
    const m1 = new Gpt({ ...tiny }, initGptWeights(tiny, new Rng(3)));
    const t1 = new Trainer(gptTask(m1), cfg(), { outDir: join(root, 'full'), progress: quiet, onStep: (_, l) => full.push(l) });
    await t1.run();
    t1.dispose(); m1.dispose();

    const part: number[] = [];
    const m2 = new Gpt({ ...tiny }, initGptWeights(tiny, new Rng(3)));
    const t2 = new Trainer(gptTask(m2), cfg({ steps: 3 }), { outDir: join(root, 'part'), progress: quiet, onStep: (_, l) => part.push(l) });
    await t2.run();
    t2.dispose(); m2.dispose();

    const ck = loadCheckpoint(join(root, 'part', 'checkpoint'));
    expect(ck.meta.step).toBe(3);
    const m3 = new Gpt({ ...(ck.meta.model as GptConfig) }, new Map(Object.entries(ck.weights)));
    const t3 = new Trainer(gptTask(m3), cfg(), { outDir: join(root, 'part'), resume: ck, progress: quiet, onStep: (_, l) => part.push(l) });
    await t3.run();
    t3.dispose(); m3.dispose(); disposeMap(ck.optimizer); disposeMap(ck.ema);

    expect(part).toHaveLength(6);
    expect(part).toEqual(full);
    const steps = readFileSync(join(root, 'part', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'loss' in r).map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('learns: the loss falls on a repetitive text', async () => {
    const losses: number[] = [];
    const m = new Gpt({ ...tiny }, initGptWeights(tiny, new Rng(1)));
    const t = new Trainer(gptTask(m), cfg({ steps: 40, lr: 3e-3, emaDecay: 0 }), { outDir: join(root, 'learn'), progress: quiet, onStep: (_, l) => losses.push(l) });
    await t.run();
    t.dispose(); m.dispose();
    expect(losses.slice(-5).reduce((a, b) => a + b) / 5).toBeLessThan(losses.slice(0, 5).reduce((a, b) => a + b) / 5 - 0.5);
  });

  it('leaks no tensor over a train step (with clipping and EMA)', async () => {
    const m = new Gpt({ ...tiny }, initGptWeights(tiny, new Rng(1)));
    const t = new Trainer(gptTask(m), cfg(), { outDir: join(root, 'leak'), progress: quiet });
    t.trainStep();
    await expectNoLeak(() => t.trainStep());
    t.dispose(); m.dispose();
  });

  it('stops on a NaN loss with a clear message, applies no update and keeps the last good checkpoint', async () => {
    const w = ownVariable(tf.tensor1d([1, 2, 3]), true);
    let calls = 0;
    const task: TrainTask = {
      params: new Map([['w', w]]),
      trainable: ['w'],
      decay: new Set(),
      loss: () => { calls += 1; const l = tf.sum(tf.square(w)); return (calls === 4 ? tf.mul(l, NaN) : l) as tf.Scalar; },
      meta: () => ({ family: 'toy', model: {} }),
    };
    const out = join(root, 'nan');
    let afterStep3: number[] = [];
    const t = new Trainer(task, cfg({ steps: 10, checkpointEvery: 2, emaDecay: 0 }), {
      outDir: out, progress: quiet, onStep: (s) => { if (s === 3) afterStep3 = Array.from(w.dataSync()); },
    });
    const err = await t.run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/the loss became NaN at step 4; the last good checkpoint \(step 2\) is kept/);
    expect(t.currentStep).toBe(3);
    expect(Array.from(w.dataSync())).toEqual(afterStep3); // the NaN step updated nothing
    const ck = loadCheckpoint(join(out, 'checkpoint'));
    expect(ck.meta.step).toBe(2);
    expect(Array.from(ck.weights.w.dataSync()).every(Number.isFinite)).toBe(true);
    expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true);
    disposeMap(ck.weights); disposeMap(ck.optimizer);
    t.dispose(); w.dispose();
    expect(existsSync(join(out, 'checkpoint', 'MANIFEST'))).toBe(true);
  });
});
