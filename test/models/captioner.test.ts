import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { englishTarget } from '../../src/data/clips/languages.js';
import { ClipSampler } from '../../src/data/clips/dataset.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { Captioner, initCaptionerWeights, objectGlimpse } from '../../src/models/captioner.js';
import { captionerTask, defaultCaptionerConfig } from '../../src/train/captionerRun.js';
import { Rng } from '../../src/util/rng.js';
import { renderText } from '../../src/pipelines/clips.js';
import { expectNoLeak } from '../helpers.js';

const digits = loadMnistPackage();
const tiny = () => { const c = { ...defaultCaptionerConfig(), dim: 16, c1: 4, c2: 8, c3: 8, g1: 4, g2: 4 }; return new Captioner(c, initCaptionerWeights(c, new Rng(1))); };

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
  it('word dropout hides the decoder input words but [bos]: none at p 0, every one at p 1 (whatever the draw), so the loss changes', () => {
    const m = tiny(), { examples, frames } = new ClipSampler(digits.train, 'train', new Rng(6)).batch(2);
    const x = tf.tensor4d(frames, [2 * 16, 64, 64, 3]), caps = examples.map((e) => englishTarget(e.attributes[0]).split(' '));
    const loss = (d?: { p: number; rng: Rng }) => tf.tidy(() => m.loss(x, caps, d).dataSync()[0]);
    const plain = loss();
    expect(loss({ p: 0, rng: new Rng(1) })).toBe(plain);
    const all = loss({ p: 1, rng: new Rng(1) });
    expect(loss({ p: 1, rng: new Rng(2) })).toBe(all);
    expect(Math.abs(all - plain)).toBeGreaterThan(1e-4);
    const half = [1, 2, 3].map((s) => loss({ p: 0.5, rng: new Rng(s) }));
    expect(new Set(half).size).toBeGreaterThan(1); // which words are hidden is drawn
    x.dispose(); m.dispose();
  });
  it('cuts the object out of each frame: the same digit image at both sizes gives nearly the same glimpse, another digit does not; the box measures the size', () => {
    const look = (t: string) => tf.tidy(() => objectGlimpse(tf.tensor4d(renderText(t, { seed: 5 }).frames, [16, 64, 64, 3])));
    const corr = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => {
      const u = tf.sub(x, tf.mean(x)), v = tf.sub(y, tf.mean(y));
      return tf.div(tf.sum(tf.mul(u, v)), tf.mul(tf.norm(u), tf.norm(v))).dataSync()[0];
    });
    const small3 = look('a small red 3 moving left slowly'), large3 = look('a large white 3 moving up fast'), large8 = look('a large white 8 moving up fast');
    expect(small3.glimpse.shape).toEqual([16, 24, 24, 1]);
    expect(corr(small3.glimpse, large3.glimpse)).toBeGreaterThan(0.95);
    expect(corr(large3.glimpse, large8.glimpse)).toBeLessThan(0.8);
    // heights of the lit box: 32 / 20 pixels of digit image at the two sizes
    const h = (b: tf.Tensor2D) => b.arraySync()[0][3];
    expect(h(large3.box) / h(small3.box)).toBeGreaterThan(1.4);
    expect(h(large3.box) / h(small3.box)).toBeLessThan(1.8);
    // left: the box's centre moves one pixel a frame to smaller x
    const b = small3.box.arraySync();
    expect((b[0][0] - b[15][0]) * 64).toBeCloseTo(15, 0);
    // an empty frame: the whole frame
    const empty = tf.tidy(() => objectGlimpse(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D).box);
    expect(empty.arraySync()[0].slice(2)).toEqual([1, 1]);
    tf.dispose([small3, large3, large8, empty]);
  });
  it('refuses frames of the wrong shape', () => {
    const m = tiny();
    expect(() => tf.tidy(() => m.encode(tf.zeros([15, 64, 64, 3]) as tf.Tensor4D))).toThrow(/\[B \* 16, 64, 64, 3\]/);
    m.dispose();
  });
});
