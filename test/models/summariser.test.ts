import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { chattyDescription, randomChatty } from '../../src/data/clips/chatty.js';
import { parseText, tokenize } from '../../src/data/clips/words.js';
import { Summariser, initSummariserWeights } from '../../src/models/summariser.js';
import { defaultSummariserConfig, summariserTask } from '../../src/train/summariserRun.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

const tiny = () => { const d = defaultSummariserConfig(), c = { ...d, gpt: { ...d.gpt, nLayer: 1, nEmbd: 32 } }; return new Summariser(c, initSummariserWeights(c, new Rng(1))); };

describe('the summariser', () => {
  it('chatty descriptions: the target parses to what is wanted, every word is in the vocabulary, and each fits the context', () => {
    const c = defaultSummariserConfig(), vocab = new Set(c.vocab), r = new Rng(8);
    for (let i = 0; i < 400; i++) {
      const e = randomChatty(r, i % 2 ? 'eval' : 'train');
      expect(parseText(e.target).objects[0]).toEqual(e.named);
      const words = tokenize(e.text);
      expect(words.filter((w) => !vocab.has(w))).toEqual([]);
      expect(words.length + 2 + c.maxSummary).toBeLessThanOrEqual(c.gpt.blockSize);
    }
    // a second thought names the unwanted value first: the parser alone calls it a contradiction
    const a = { digit: 3, colour: 'red', direction: 'left', speed: 'fast', size: 'large' } as const;
    const withFix = chattyDescription(a, new Rng(1), 'train', [], 1);
    expect(withFix.target).toBe('a large red 3 moving left fast');
    expect(() => parseText(withFix.text)).toThrow(/names two/);
  });

  it('learns a fixed batch (the loss falls by half), summarises into known words, and leaks nothing', async () => {
    const m = tiny(), opt = tf.train.adam(3e-3), r = new Rng(2);
    const ex = Array.from({ length: 4 }, () => randomChatty(r, 'train'));
    const texts = ex.map((e) => tokenize(e.text)), targets = ex.map((e) => e.target.split(' '));
    const before = tf.tidy(() => m.loss(texts, targets).dataSync()[0]);
    for (let s = 0; s < 60; s++) opt.minimize(() => m.loss(texts, targets), true)?.dispose();
    expect(tf.tidy(() => m.loss(texts, targets).dataSync()[0])).toBeLessThan(before / 2);
    const task = summariserTask(m);
    task.validate!(1);
    await expectNoLeak(() => {
      tf.tidy(() => tf.variableGrads(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(new Rng(1), 2)).value).dispose();
      task.validate!(1);
      const out = m.summarise(texts[0]);
      expect(out.length).toBeLessThanOrEqual(m.config.maxSummary);
      expect(out.every((w) => m.ids.has(w) && !w.startsWith('['))).toBe(true);
    });
    opt.dispose(); m.dispose();
  }, 60_000);
});
