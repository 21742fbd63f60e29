import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { englishTarget } from '../../src/data/clips/languages.js';
import { ClipSampler } from '../../src/data/clips/dataset.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { Captioner, initCaptionerWeights } from '../../src/models/captioner.js';
import { captionerTask, defaultCaptionerConfig } from '../../src/train/captionerRun.js';
import { Rng } from '../../src/util/rng.js';
import { renderText } from '../../src/pipelines/clips.js';
import { expectNoLeak } from '../helpers.js';

const digits = loadMnistPackage();
const tiny = () => { const c = { ...defaultCaptionerConfig(), dim: 16, c1: 4, c2: 8, c3: 8 }; return new Captioner(c, initCaptionerWeights(c, new Rng(1))); };

describe('the clip captioner', () => {
  it('reads the frames: two clips that differ only in colour get their own colour word (the words alone cannot tell them apart)', () => {
    // at the default width: the tiny one learns the words long before it looks at the frames
    const c = defaultCaptionerConfig(), m = new Captioner(c, initCaptionerWeights(c, new Rng(1))), opt = tf.train.adam(1e-3);
    const texts = ['a large red 3 moving left slowly', 'a large blue 3 moving left slowly'];
    const clips = texts.map((t) => renderText(t, { seed: 5 }));
    const x = tf.tensor4d(Float32Array.from([...clips[0].frames, ...clips[1].frames]), [32, 64, 64, 3]);
    const caps = clips.map((c) => englishTarget(c.report.attributes[0]).split(' '));
    // below ln(2) / 8 a token, the loss of knowing the words but not which colour, within 200 steps
    // (checked every 20 so that the plain wasm pass stops as soon as it gets there)
    const lossNow = () => tf.tidy(() => m.loss(x, caps).dataSync()[0]);
    for (let s = 1; s <= 200; s++) {
      opt.minimize(() => m.loss(x, caps), true)?.dispose();
      if (s % 20 === 0 && lossNow() < Math.log(2) / 8) break;
    }
    expect(lossNow()).toBeLessThan(Math.log(2) / 8);
    expect(m.caption(x, 1).map((w) => w.join(' '))).toEqual(caps.map((c) => c.join(' ')));
    x.dispose(); opt.dispose(); m.dispose();
  }, 240_000);

  it('learns a fixed batch of clips (the loss falls by half) and leaks nothing in training steps, validation and captioning', async () => {
    const m = tiny(), task = captionerTask(m, digits.train, digits.test), opt = tf.train.adam(1e-2);
    const { examples, frames } = new ClipSampler(digits.train, 'train', new Rng(5)).batch(4);
    const x = tf.tensor4d(frames, [4 * 16, 64, 64, 3]), caps = examples.map((e) => englishTarget(e.attributes[0]).split(' '));
    const before = tf.tidy(() => m.loss(x, caps).dataSync()[0]);
    for (let s = 0; s < 80; s++) opt.minimize(() => m.loss(x, caps), true)?.dispose();
    const after = tf.tidy(() => m.loss(x, caps).dataSync()[0]);
    expect(after).toBeLessThan(before / 2);
    await expectNoLeak(() => {
      tf.tidy(() => tf.variableGrads(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(new Rng(1), 2)).value).dispose();
      task.validate!(1);
      const two = tf.slice(x, [0, 0, 0, 0], [32, -1, -1, -1]) as tf.Tensor4D;
      expect(m.caption(two, 2)).toHaveLength(2);
      two.dispose();
    });
    x.dispose(); opt.dispose(); m.dispose();
  }, 120_000);
  it('refuses frames of the wrong shape', () => {
    const m = tiny();
    expect(() => tf.tidy(() => m.encode(tf.zeros([15, 64, 64, 3]) as tf.Tensor4D))).toThrow(/\[B \* 16, 64, 64, 3\]/);
    m.dispose();
  });
});
