import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { isHeldOutPair } from '../../src/data/clips/world.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { ClipText, defaultClipTextConfig, initClipTextWeights } from '../../src/models/clipText.js';
import { clipTextTask, evalTexts } from '../../src/train/clipTextTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

const digits = loadMnistPackage();
const small = () => {
  const c = { ...defaultClipTextConfig(), text: { vocabSize: 128, dim: 16, layers: 1, heads: 2, maxLen: 24 } };
  return new ClipText(c, initClipTextWeights(c, new Rng(3)));
};

describe('the clip text encoder trained on its own', () => {
  it('reads the attributes off captions: its loss falls on a fixed batch and accuracy counts the heads that are right', async () => {
    const m = small();
    const task = clipTextTask({ model: m, train: digits.train, valTexts: 8 });
    if (!('loss' in task)) throw new Error('a one-phase task expected');
    expect(task.trainable.some((k) => k.startsWith('text.')) && task.trainable.some((k) => k.startsWith('head.'))).toBe(true);
    const vars = task.trainable.map((k) => m.params.get(k)!), opt = tf.train.adam(1e-2);
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => task.loss(new Rng(7), 16), vars);
      opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
      return value.dataSync()[0];
    });
    const first = step();
    await expectNoLeak(() => { step(); });
    let last = first;
    for (let i = 0; i < 30; i++) last = step();
    expect(last).toBeLessThan(first * 0.7);
    expect(task.validate!(1)).toBe(task.validate!(1));
    expect(task.meta().family).toBe('clip-text');
    // accuracy: the heads' argmax against the attributes; exact only where all five agree
    const { texts, attrs } = evalTexts(digits.train, 4, 1);
    const acc = m.accuracy(texts, attrs), l = tf.tidy(() => Object.fromEntries(Object.entries(m.logits(texts)).map(([k, t]) => [k, Array.from(tf.argMax(t, 1).dataSync())])));
    const want = (k: string, v: number[]) => v.filter((x, i) => x === (({ digit: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], colour: ['white', 'red', 'green', 'blue', 'yellow'], direction: ['left', 'right', 'up', 'down'], speed: ['slow', 'fast'], size: ['small', 'large'] } as Record<string, unknown[]>)[k].indexOf((attrs[i] as unknown as Record<string, unknown>)[k]))).length / 4;
    for (const k of ['digit', 'colour', 'direction', 'speed', 'size']) expect(acc[k as 'digit']).toBe(want(k, l[k]));
    opt.dispose(); m.dispose();
  }, 60_000);
  it('its evaluation texts use every pair, held-out ones included, in the evaluation word orders', () => {
    const { texts, attrs } = evalTexts(digits.train, 400, 2);
    expect(attrs.some((a) => isHeldOutPair(a.digit, a.direction))).toBe(true);
    expect(texts.length).toBe(400);
  });
});
