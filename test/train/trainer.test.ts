import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Gpt, initGptWeights, type GptConfig } from '../../src/models/gpt.js';
import { ownVariable } from '../../src/nn/layers.js';
import { loadCheckpoint, disposeMap } from '../../src/checkpoint/checkpoint.js';
import { createProgress } from '../../src/train/progress.js';
import { textTask } from '../../src/train/textTask.js';
import { Ema } from '../../src/train/optim.js';
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

  it('runs named phases with one optimizer each: a phase moves only its weights; resume restores both optimizers', async () => {
    const make = () => {
      const a = ownVariable(tf.tensor1d([1, -2]), true), b = ownVariable(tf.tensor1d([3]), true);
      const task: TrainTask = {
        params: new Map([['a', a], ['b', b]]),
        phases: {
          // b is in the first phase's loss but not trained by it
          first: { trainable: ['a'], decay: new Set(), loss: () => tf.sum(tf.square(tf.sub(a, b))) as tf.Scalar },
          second: { trainable: ['b'], decay: new Set(), loss: () => tf.sum(tf.square(tf.add(b, 1))) as tf.Scalar },
        },
        meta: () => ({ family: 'toy', model: {} }),
      };
      return { a, b, task };
    };
    const c = cfg({ steps: 4, emaDecay: 0, lr: 0.1, minLr: 0.1, warmupSteps: 0, gradClip: 0 }); // a constant rate: the 2-step run follows the same schedule
    const full = make(), fullLosses: number[] = [];
    const t1 = new Trainer(full.task, c, { outDir: join(root, 'phases-full'), progress: quiet, onStep: (_, l) => fullLosses.push(l) });
    const first = t1.trainStep();
    expect(Object.keys(t1.parts)).toEqual(['first', 'second']);
    // step 1 losses before any update: |a - b|^2 = (1-3)^2 + (-2-3)^2 = 29, |b + 1|^2 = 16
    expect(t1.parts.first).toBeCloseTo(29, 5);
    expect(t1.parts.second).toBeCloseTo(16, 5);
    expect(first).toBeCloseTo(45, 5);
    await t1.run();
    t1.dispose();
    // only the first phase's optimizer could have moved a; b went towards -1 by its own loss only
    expect(full.b.dataSync()[0]).toBeLessThan(3);
    const rec = readFileSync(join(root, 'phases-full', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rec[0]).toHaveProperty('loss_first');
    expect(rec[0]).toHaveProperty('loss_second');

    const part = make(), partLosses: number[] = [];
    const t2 = new Trainer(part.task, cfg({ ...c, steps: 2 }), { outDir: join(root, 'phases-part'), progress: quiet });
    t2.trainStep();
    await t2.run();
    t2.dispose();
    const ck = loadCheckpoint(join(root, 'phases-part', 'checkpoint'));
    expect(Object.keys(ck.optimizer!).sort()).toEqual(['m/a', 'm/b', 'v/a', 'v/b']);
    const again = make();
    for (const k of ['a', 'b'] as const) { // own buffers, as a loaded model's (the in-place Adam needs them)
      const t = tf.tensor(ck.weights[k].dataSync());
      again[k].assign(t);
      t.dispose();
    }
    const t3 = new Trainer(again.task, c, { outDir: join(root, 'phases-part'), resume: ck, progress: quiet, onStep: (_, l) => partLosses.push(l) });
    await t3.run();
    t3.dispose(); disposeMap(ck.weights); disposeMap(ck.optimizer);
    expect(Array.from(again.a.dataSync())).toEqual(Array.from(full.a.dataSync()));
    expect(Array.from(again.b.dataSync())).toEqual(Array.from(full.b.dataSync()));
    for (const x of [full, part, again]) { x.a.dispose(); x.b.dispose(); }
  });

  it('refuses a weight trained by two phases', () => {
    const a = ownVariable(tf.tensor1d([1]), true);
    const loss = () => tf.sum(a) as tf.Scalar;
    const task: TrainTask = { params: new Map([['a', a]]), phases: { x: { trainable: ['a'], decay: new Set(), loss }, y: { trainable: ['a'], decay: new Set(), loss } }, meta: () => ({ family: 'toy', model: {} }) };
    expect(() => new Trainer(task, cfg(), { outDir: join(root, 'twice'), progress: quiet })).toThrow(/weight a is trained by two phases/);
    a.dispose();
  });
});

describe('EMA of the weights', () => {
  it("warms up as diffusers' EMAModel: decay min(d, (1 + step) / (10 + step)), the plain decay without a step", () => {
    const v = tf.variable(tf.zeros([3])), params = new Map([['w', v]]);
    const ema = new Ema(params, 0.999);
    v.assign(tf.ones([3]));
    ema.update(params, 0); // d = 0.1
    expect(ema.shadow.get('w')!.dataSync()[0]).toBeCloseTo(0.9, 6);
    ema.update(params, 1000); // d = 1001 / 1010
    expect(ema.shadow.get('w')!.dataSync()[0]).toBeCloseTo(1 - 0.1 * (1001 / 1010), 6);
    v.assign(tf.zeros([3]));
    const before = ema.shadow.get('w')!.dataSync()[0];
    ema.update(params);
    expect(ema.shadow.get('w')!.dataSync()[0]).toBeCloseTo(before * 0.999, 6);
    ema.dispose(); v.dispose();
  });
  it('a weight no optimizer trains (a frozen encoder, running statistics set by assign) has its current value as its EMA', () => {
    const w = tf.variable(tf.zeros([2])), stat = tf.variable(tf.fill([2], 0.1234567)), params = new Map([['w', w], ['stat', stat]]);
    const ema = new Ema(params, 0.999, new Set(['stat']));
    for (let i = 0; i < 5; i++) ema.update(params, i);
    expect(Array.from(ema.shadow.get('stat')!.dataSync())).toEqual(Array.from(stat.dataSync())); // no rounding drift
    stat.assign(tf.fill([2], 3));
    w.assign(tf.ones([2]));
    ema.update(params, 100);
    expect(Array.from(ema.shadow.get('stat')!.dataSync())).toEqual([3, 3]);
    expect(ema.shadow.get('w')!.dataSync()[0]).toBeLessThan(1); // a trained weight is averaged
    ema.dispose(); w.dispose(); stat.dispose();
  });
});

describe('gradient accumulation', () => {
  // a phase with `accumulate: 3` whose k-th loss call is (w - c_k)^2 makes the update a single call of their mean makes
  const toy = (accumulate: boolean): { task: TrainTask; calls: () => number; w: tf.Variable } => {
    const w = ownVariable(tf.tensor1d([0.5, -1]), true), params = new Map([['w', w]]), c = [1, 2, 6];
    let calls = 0;
    const sq = (k: number) => tf.sum(tf.square(tf.sub(w, c[k]))) as tf.Scalar;
    return {
      w, calls: () => calls,
      task: {
        params, trainable: ['w'], decay: new Set(), meta: () => ({ family: 'toy', model: {} }),
        ...(accumulate ? { accumulate: 3, loss: () => sq(calls++ % 3) } : { loss: () => { calls++; return tf.div(tf.addN([sq(0), sq(1), sq(2)]), 3) as tf.Scalar; } }),
      },
    };
  };
  it('averages the gradients of its loss calls into one update, and reports their mean loss; no leak', async () => {
    const a = toy(true), b = toy(false);
    const ta = new Trainer(a.task, cfg({ emaDecay: 0, gradClip: 0, lr: 0.1, warmupSteps: 0 }), { outDir: join(root, 'acc-a'), progress: quiet });
    const tb = new Trainer(b.task, cfg({ emaDecay: 0, gradClip: 0, lr: 0.1, warmupSteps: 0 }), { outDir: join(root, 'acc-b'), progress: quiet });
    for (let s = 0; s < 3; s++) {
      expect(ta.trainStep()).toBeCloseTo(tb.trainStep(), 5);
      expect(ta.gradNorm).toBeCloseTo(tb.gradNorm, 5); // the mean of the calls' gradients, not their sum or the last
    }
    expect([a.calls(), b.calls()]).toEqual([9, 3]);
    expect(Array.from(a.w.dataSync())).toEqual(Array.from(b.w.dataSync()).map((v) => expect.closeTo(v, 6)));
    await expectNoLeak(() => ta.trainStep());
    ta.dispose(); tb.dispose();
  });
});
