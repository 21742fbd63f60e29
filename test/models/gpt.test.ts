import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Gpt, defaultGptConfig, initGptWeights, type GptConfig } from '../../src/models/gpt.js';
import { countParams } from '../../src/nn/layers.js';
import { CharTokenizer } from '../../src/data/text.js';
import { generateText } from '../../src/pipelines/text.js';
import { batchLoss } from '../../src/models/textLoss.js';
import { randomBatch } from '../../src/data/text.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

const tiny: GptConfig = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, untiedHead: false };
const make = (c = tiny, seed = 1) => new Gpt({ ...c }, initGptWeights(c, new Rng(seed)));

describe('gpt', () => {
  it('has the parameter count of the peer (nanoGPT CPU config, vocab 96)', () => {
    const m = make(defaultGptConfig());
    expect(countParams(m.params)).toBe(813_824);
    m.dispose();
  });

  it('maps tokens [B, T] to logits [B, T, V]', () => {
    const m = make();
    const shape = tf.tidy(() => m.logits(tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32')).shape);
    expect(shape).toEqual([2, 3, 11]);
    m.dispose();
  });

  it('is causal: a later token does not change earlier logits', () => {
    const m = make();
    const [a, b] = tf.tidy(() => [
      m.logits(tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32')).slice([0, 0, 0], [1, 3, 11]).dataSync(),
      m.logits(tf.tensor2d([[1, 2, 3, 9]], [1, 4], 'int32')).slice([0, 0, 0], [1, 3, 11]).dataSync(),
    ]);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    m.dispose();
  });

  it('gives the same next-token logits through the KV cache as a full forward pass, also past the context', () => {
    const m = make();
    const seq = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
    const s = m.stream();
    let cached = s.feed(Int32Array.from(seq.slice(0, 2)));
    for (let t = 2; t <= seq.length; t++) {
      const window = seq.slice(Math.max(0, t - tiny.blockSize), t);
      const full = tf.tidy(() => m.logits(tf.tensor2d(window, [1, window.length], 'int32')).slice([0, window.length - 1, 0], [1, 1, 11]).dataSync());
      expect(maxAbsDiff(cached, full)).toBeLessThan(1e-4);
      if (t < seq.length) cached = s.feed(Int32Array.of(seq[t]));
    }
    s.dispose();
    m.dispose();
  });

  it('leaks no tensor in a train step or in sampling', async () => {
    const m = make();
    const ids = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 11);
    const vars = [...m.params.values()];
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => batchLoss(m, randomBatch(ids, 4, 8, new Rng(3))), vars);
      value.dataSync();
      void grads;
    });
    step(); // warm-up
    await expectNoLeak(step);
    const tok = new CharTokenizer('abcdefghijk'.split(''));
    await expectNoLeak(() => generateText(m, tok, 'abc', { tokens: 20, seed: 1 }));
    m.dispose();
  });

  it('samples the same text from the same seed, and other text from another', () => {
    const m = make();
    const tok = new CharTokenizer('abcdefghijk'.split(''));
    const a = generateText(m, tok, 'ab', { tokens: 30, seed: 5, temperature: 1.5 });
    expect(generateText(m, tok, 'ab', { tokens: 30, seed: 5, temperature: 1.5 })).toBe(a);
    expect(generateText(m, tok, 'ab', { tokens: 30, seed: 6, temperature: 1.5 })).not.toBe(a);
    expect(a).toHaveLength(30);
    m.dispose();
  });

  it('refuses to sample from weights that give NaN, instead of printing one character over and over', () => {
    const w = initGptWeights(tiny, new Rng(1));
    const broken = new Map([...w].map(([k, v]) => [k, k === 'wte' ? tf.fill(v.shape, NaN) : v]));
    const m = new Gpt({ ...tiny }, broken as typeof w);
    const tok = new CharTokenizer('abcdefghijk'.split(''));
    expect(() => generateText(m, tok, 'ab', { tokens: 5, seed: 1 })).toThrow(/not finite numbers .*weights are broken/);
    m.dispose();
  });

  it('unties the head as a copy of the token embedding, leaving the logits unchanged', () => {
    const m = make();
    const x = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const before = tf.tidy(() => m.logits(x).dataSync());
    m.untieHead();
    expect(m.headNames()).toEqual(['ln_f.g', 'ln_f.b', 'head.w']);
    const after = tf.tidy(() => m.logits(x).dataSync());
    expect(maxAbsDiff(before, after)).toBeLessThan(1e-6);
    x.dispose();
    m.dispose();
  });
});
