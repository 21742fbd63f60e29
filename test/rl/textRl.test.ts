import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CharTokenizer } from '../../src/data/text.js';
import { defaultGptConfig, Gpt, initGptWeights } from '../../src/models/gpt.js';
import { rhymeOf, rhymeReward, styleReward, type Reward } from '../../src/rl/rewards.js';
import { distinct2, evaluateTextRl, sampleContinuations, textRlTask } from '../../src/rl/textRl.js';
import { Trainer, defaultTrainConfig } from '../../src/train/trainer.js';
import { createProgress } from '../../src/train/progress.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';
import { expectUserError, run, workspace } from '../cli/fixtures.js';

const tok = new CharTokenizer(['\n', ' ', 'a', 'b', 'c', 'd']);
const tinyGpt = (seed: number) => {
  const c = { ...defaultGptConfig(), vocabSize: tok.vocabSize, nLayer: 1, nEmbd: 16, nHead: 2, blockSize: 24 };
  return new Gpt(c, initGptWeights(c, new Rng(seed)));
};
/** share of the characters that are "a" */
const shareOfA: Reward = { name: 'a', score: (texts) => Float32Array.from(texts, (t) => [...t].filter((ch) => ch === 'a').length / Math.max(1, t.length)) };

describe('rewards for text RL', () => {
  it('rhyme: the share of adjacent lines whose last words differ and rhyme', () => {
    expect(rhymeOf('night')).toBe('ight');
    expect(rhymeOf('day')).toBe('ay');
    const r = rhymeReward().score(['by the light\nof the night', 'by the light\nof the day', 'the light\nthe light', 'one word\nonly', 'a b c\nd e day\nf g away\nh i sun']);
    expect(Array.from(r.subarray(0, 4))).toEqual([1, 0, 0, 0]);
    expect(r[4]).toBeCloseTo(1 / 3); // day-away rhymes; c-day and away-sun do not
  });

  it('style: a naive Bayes on character trigrams, right on held-out text, its sign says which corpus', () => {
    const rng = new Rng(3), gen = (letters: string, n: number) => Array.from({ length: n }, () => letters[rng.int(letters.length)]).join('');
    const a = gen('abcde ', 20000), b = gen('vwxyz ', 20000);
    const r = styleReward(a, b);
    expect(r.heldOutAccuracy).toBe(1);
    const [toA, toB] = r.score([gen('abcde ', 100), gen('vwxyz ', 100)]);
    expect(toA).toBeGreaterThan(0);
    expect(toB).toBeLessThan(0);
    expect(Math.abs(toA)).toBeLessThanOrEqual(4); // clipped
    expect(() => styleReward('short', b)).toThrow(/2,000 characters/);
  });

  it('distinct-2 falls to near 0 for repeated text and is 1 for text without repeated bigrams', () => {
    expect(distinct2(['the cat sat on the mat'])).toBe(1);
    expect(distinct2(['la la la la la la la la'])).toBeCloseTo(1 / 7);
  });
});

describe('text RL on a tiny GPT', () => {
  it('the first step measures KL 0 (the policy is the reference), the reward rises over steps toward the rewarded character, and nothing leaks', async () => {
    const policy = tinyGpt(1), reference = tinyGpt(1);
    const task = textRlTask({ policy, reference, tokenizer: tok, prompt: '', tokens: 16, reward: shareOfA, kl: 0 });
    const dir = workspace('genlab-rl-').dir;
    const cfg = { ...defaultTrainConfig(), steps: 60, batchSize: 16, lr: 1e-2, minLr: 1e-2, warmupSteps: 0, weightDecay: 0, evalEvery: 0, checkpointEvery: 0, logEvery: 1 };
    const trainer = new Trainer(task, cfg, { outDir: dir, progress: createProgress({ quiet: true }) });
    const rewards: number[] = [];
    trainer.trainStep();
    expect(task.stats().kl).toBe(0);
    rewards.push(task.stats().reward);
    const before = tf.memory().numTensors;
    for (let i = 1; i < cfg.steps; i++) { trainer.trainStep(); rewards.push(task.stats().reward); }
    expect(tf.memory().numTensors).toBe(before);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    // chance is 1/6; after 60 steps at a high rate the policy writes mostly "a"
    expect(mean(rewards.slice(0, 5))).toBeLessThan(0.35);
    expect(mean(rewards.slice(-5))).toBeGreaterThan(0.6);
    expect(task.stats().kl).toBeGreaterThan(0);
    trainer.dispose();
    policy.dispose(); reference.dispose();
  });

  it('a KL coefficient holds the policy nearer the reference than no KL term, at equal steps', () => {
    const klAfter = (kl: number) => {
      const policy = tinyGpt(2), reference = tinyGpt(2);
      const task = textRlTask({ policy, reference, tokenizer: tok, prompt: 'a', tokens: 12, reward: shareOfA, kl });
      const trainer = new Trainer(task, { ...defaultTrainConfig(), steps: 40, batchSize: 16, lr: 1e-2, minLr: 1e-2, warmupSteps: 0, weightDecay: 0, evalEvery: 0, checkpointEvery: 0 }, { outDir: workspace('genlab-rl-').dir, progress: createProgress({ quiet: true }) });
      for (let i = 0; i < 40; i++) trainer.trainStep();
      const e = evaluateTextRl({ policy, reference, tokenizer: tok, prompt: 'a', tokens: 12, reward: shareOfA }, 32, new Rng(5));
      trainer.dispose(); policy.dispose(); reference.dispose();
      return e.kl;
    };
    expect(klAfter(1)).toBeLessThan(klAfter(0) * 0.7);
  });

  it('samples continue the prompt, are reproducible by seed, and evaluating the reference against itself gives KL 0', async () => {
    const m = tinyGpt(3);
    await expectNoLeak(() => {
      const a = sampleContinuations(m, tok, tok.encode('ab'), 8, 3, new Rng(9)), b = sampleContinuations(m, tok, tok.encode('ab'), 8, 3, new Rng(9));
      expect(a.texts).toEqual(b.texts);
      expect(a.texts.every((t) => t.length === 8)).toBe(true);
      expect(Array.from(a.ids.subarray(0, 2))).toEqual([2, 3]);
      expect(evaluateTextRl({ policy: m, reference: m, tokenizer: tok, prompt: 'ab', tokens: 8, reward: shareOfA }, 5, new Rng(1)).kl).toBe(0);
    });
    m.dispose();
  });
});

describe('genlab rl', () => {
  const ws = workspace('genlab-rlcli-');

  it('fine-tunes a GPT on a few steps, logs reward, KL and entropy per step, measures before and after, and resumes', () => {
    const base = ws.gpt(), out = join(ws.dir, 'rl');
    const r = run('rl', base, '--reward', 'word:the', '--out', out, '--steps', '2', '--tokens', '10', '--set', 'batchSize=4', '--eval-samples', '4', '--quiet');
    expect(r.code, r.err).toBe(0);
    const line = JSON.parse(r.out.trim()) as { before: { kl: number; reward: number }; after: { kl: number } };
    expect(line.before.kl).toBe(0);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(metrics).toHaveLength(2);
    for (const k of ['reward', 'kl', 'entropy']) expect(Number.isFinite(metrics[0][k])).toBe(true);
    expect(existsSync(join(out, 'rl-eval.json'))).toBe(true);
    const cfg = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')) as { family: string; rl: { reward: { name: string }; kl: number } };
    expect(cfg.family).toBe('gpt');
    expect(cfg.rl.reward.name).toBe('word:the');
    expect(cfg.rl.kl).toBe(0.05);
    const again = run('rl', base, '--out', out, '--resume', '--steps', '3', '--eval-samples', '2', '--quiet');
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')).step).toBe(3);
    expectUserError(run('rl', base, '--out', out, '--resume', '--kl', '0.5', '--steps', '4'), /--resume keeps the run's --kl/);
    // the RL run is a text model: genlab sample reads it
    const s = run('sample', out, '--tokens', '5', '--seed', '1');
    expect(s.code, s.err).toBe(0);
  });

  it('the style reward trains its classifier from two corpora and reports its held-out accuracy', () => {
    const away = join(ws.dir, 'b.txt');
    writeFileSync(away, 'spring queen cards of the king '.repeat(200).split('').reverse().join(''));
    const r = run('rl', ws.gpt(), '--reward', 'style', '--toward', ws.corpus, '--away', away, '--out', join(ws.dir, 'style'), '--steps', '1', '--tokens', '8', '--set', 'batchSize=2', '--eval-samples', '2', '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/style classifier: [\d,]+ trigrams, 100\.0% right on held-out/);
  });

  it('bad input: a clear error, nothing written', () => {
    const base = ws.gpt();
    expectUserError(run('rl', base, '--out', join(ws.dir, 'x1')), /--reward is required/);
    expectUserError(run('rl', base, '--reward', 'loud', '--out', join(ws.dir, 'x2')), /--reward must be one of/);
    expectUserError(run('rl', base, '--reward', 'style', '--out', join(ws.dir, 'x3')), /--toward FILE/);
    expectUserError(run('rl', base, '--reward', 'word:two words', '--out', join(ws.dir, 'x4')), /one word/);
    expectUserError(run('rl', base, '--reward', 'rhyme', '--kl', '-1', '--out', join(ws.dir, 'x5')), /--kl must be/);
    expectUserError(run('rl', base, '--reward', 'rhyme', '--tokens', '40', '--out', join(ws.dir, 'x6')), /the GPT reads at most 16/);
    expectUserError(run('rl', base, '--reward', 'rhyme', '--out', join(base, 'inner')), /overlaps the input/);
    expectUserError(run('rl', base, '--reward', 'rhyme', '--prompt', '§', '--out', join(ws.dir, 'x7')), /outside the model's vocabulary/);
    for (const k of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']) expect(existsSync(join(ws.dir, k, 'checkpoint'))).toBe(false);
  });
});
