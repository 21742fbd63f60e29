// The GAN's two training phases with every switch on (clusters, packs, augmentation): finite
// losses, gradients for each phase's own weights, no tensor left behind.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../src/data/mnist.js';
import { Dcgan, initDcganWeights, type DcganConfig } from '../../src/models/dcgan.js';
import { ganTask } from '../../src/train/ganTask.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak } from '../helpers.js';

describe('GAN training task', () => {
  it('self-conditioned, packed and augmented: both phases give finite losses and leak nothing', async () => {
    const c: DcganConfig = { z: 8, classes: 0, mbstd: 0, pack: 2, clusters: 3 };
    const model = new Dcgan(c, initDcganWeights(c, new Rng(1)));
    model.setClusterPrior([5, 3, 2]);
    const rng = new Rng(2), n = 10;
    const train: ImageSet = { images: rng.uniformArray(n * 784, 0, 1), labels: new Int32Array(n), n, height: 28, width: 28, classes: 10 };
    expect(() => ganTask({ model, train, clusterOf: new Int32Array(3) })).toThrow(/needs the cluster of each of the 10 training images/);
    const task = ganTask({ model, train, clusterOf: Int32Array.from({ length: n }, (_, i) => i % 3), augment: { shift: 2, cutout: 6 } });
    if (!('phases' in task)) throw new Error('the GAN task has two phases');
    for (const phase of Object.values(task.phases)) {
      const vars = phase.trainable.map((k: string) => model.params.get(k)!);
      const step = () => tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => phase.loss(rng, 4), vars);
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        expect(Object.keys(grads).length).toBe(vars.length);
      });
      step();
      await expectNoLeak(step);
    }
    model.dispose();
  });
});
