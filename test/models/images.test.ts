// The image networks of the benchmark workloads: parameter counts equal the PyTorch peer's,
// shapes, and no tensor leak in a train step. (Training and sampling come with issue 4.)
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Dcgan, bceWithLogits, defaultDcganConfig, initDcganWeights } from '../../src/models/dcgan.js';
import { Unet, defaultUnetConfig, initUnetWeights } from '../../src/models/unet.js';
import { Vae, defaultVaeConfig, initVaeWeights } from '../../src/models/vae.js';
import { countParams } from '../../src/nn/layers.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

describe('image networks', () => {
  it('DCGAN: 917,122 weights; G makes 28x28 images in (-1, 1), D one logit each; a step leaks nothing', async () => {
    const m = new Dcgan(defaultDcganConfig(), initDcganWeights(defaultDcganConfig(), new Rng(1)));
    expect(countParams(m.params)).toBe(917_122);
    const z = tf.randomNormal([3, 100]) as tf.Tensor2D;
    const step = () => tf.tidy(() => {
      const x = m.generate(z);
      expect(x.shape).toEqual([3, 28, 28, 1]);
      expect(Math.max(...Array.from(tf.abs(x).dataSync()))).toBeLessThanOrEqual(1);
      expect(m.discriminate(x).shape).toEqual([3, 1]);
      tf.variableGrads(() => bceWithLogits(m.discriminate(m.generate(z)), 1), [...m.subset('g.').values()]).value.dataSync();
    });
    step();
    await expectNoLeak(step);
    z.dispose(); m.dispose();
  });

  it('VAE: 1,673,729 weights; the loss is a finite positive number of nats; a step leaks nothing', async () => {
    const m = new Vae(defaultVaeConfig(), initVaeWeights(defaultVaeConfig(), new Rng(1)));
    expect(countParams(m.params)).toBe(1_673_729);
    const x = tf.cast(tf.greater(tf.randomUniform([4, 28, 28, 1]), 0.5), 'float32') as tf.Tensor4D;
    const eps = tf.randomNormal([4, 16]) as tf.Tensor2D;
    const step = () => tf.tidy(() => tf.variableGrads(() => m.loss(x, eps), [...m.params.values()]).value.dataSync()[0]);
    const l = step();
    expect(l).toBeGreaterThan(0);
    expect(Number.isFinite(l)).toBe(true);
    await expectNoLeak(step);
    x.dispose(); eps.dispose(); m.dispose();
  });

  it('UNet: 596,001 weights; predicts noise of the input shape; a step leaks nothing', async () => {
    const m = new Unet(defaultUnetConfig(), initUnetWeights(defaultUnetConfig(), new Rng(1)));
    expect(countParams(m.params)).toBe(596_001);
    const x = tf.randomNormal([2, 32, 32, 1]) as tf.Tensor4D, t = tf.tensor1d([3, 999], 'int32');
    const step = () => tf.tidy(() => {
      expect(m.forward(x, t).shape).toEqual([2, 32, 32, 1]);
      tf.variableGrads(() => tf.mean(tf.square(m.forward(x, t))) as tf.Scalar, [...m.params.values()]).value.dataSync();
    });
    step();
    await expectNoLeak(step);
    x.dispose(); t.dispose(); m.dispose();
  });
});
