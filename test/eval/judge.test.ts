// The clip judge on true renders (right about everything), on noise and on shuffled attributes
// (near chance), and its pieces.
import { describe, expect, it } from 'vitest';
import { ClipSampler } from '../../src/data/clips/dataset.js';
import { renderScene } from '../../src/data/clips/render.js';
import { FRAMES, SIDE } from '../../src/data/clips/world.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { agreement, digitCrop, judgeClip, measureFrames } from '../../src/eval/judge.js';
import type { Classifier } from '../../src/models/classifier.js';
import { loadImageModel } from '../../src/pipelines/images.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

const clf = loadImageModel('models/digits-classifier', ['classifier']).model as Classifier;
const test = loadMnistPackage().test;

describe('clip judge', () => {
  it('finds colour, direction, speed and size of every true render, and the digit of nearly all (held-out digit images)', async () => {
    const s = new ClipSampler(test, 'eval', new Rng(21));
    let digits = 0;
    await expectNoLeak(() => {
      for (let i = 0; i < 60; i++) {
        const e = s.next(), j = judgeClip(renderScene(e.scene), clf), a = agreement(j, e.attributes[0]);
        const { digit, ...rest } = a.perAttribute;
        expect(rest, JSON.stringify(e.attributes[0])).toEqual({ colour: true, direction: true, speed: true, size: true });
        if (digit) digits += 1;
        expect(j.pixelsPerFrame).toBeCloseTo(e.attributes[0].speed === 'fast' ? 2 : 1, 1);
      }
    });
    expect(digits).toBeGreaterThanOrEqual(54); // 90%: the classifier reads 98% of held-out digits
  });
  it('is near chance on noise and on attributes that do not belong to the clip', () => {
    const s = new ClipSampler(test, 'eval', new Rng(22)), rng = new Rng(23);
    let noiseExact = 0, shuffledExact = 0;
    for (let i = 0; i < 60; i++) {
      const e = s.next(), frames = renderScene(e.scene);
      if (agreement(judgeClip(Float32Array.from(frames, () => rng.next()), clf), e.attributes[0]).exact) noiseExact += 1;
      if (agreement(judgeClip(frames, clf), s.drawAttributes()).exact) shuffledExact += 1;
    }
    // chance of an exact match: 1/10 * 1/5 * 1/4 * 1/2 * 1/2 = 0.25%
    expect(noiseExact).toBeLessThanOrEqual(3);
    expect(shuffledExact).toBeLessThanOrEqual(3);
  });
  it('measures an empty frame as nothing, and crops a digit MNIST-style (centred by mass in 28x28)', () => {
    const empty = measureFrames(new Float32Array(FRAMES * SIDE * SIDE * 3));
    expect(empty[0].lit).toBe(0);
    const s = new ClipSampler(test, 'eval', new Rng(24)), e = s.next(), frames = renderScene(e.scene), m = measureFrames(frames);
    const crop = digitCrop(frames, 0, m[0]);
    let mass = 0, mx = 0, my = 0;
    crop.forEach((v, i) => { mass += v; mx += v * (i % 28); my += v * Math.floor(i / 28); });
    expect(Math.abs(mx / mass - 14)).toBeLessThan(1.5);
    expect(Math.abs(my / mass - 14)).toBeLessThan(1.5);
    expect(agreement({ digit: 1, colour: 'red', direction: 'up', speed: 'fast', size: 'small' }, { digit: 1, colour: 'blue' })).toEqual({ perAttribute: { digit: true, colour: false }, exact: false });
  });
});
