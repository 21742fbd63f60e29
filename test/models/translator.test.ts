import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BOS, EOS, initTranslatorWeights, Translator, type TranslatorConfig } from '../../src/models/translator.js';
import { defaultTranslatorConfig, randomPair, translatorTask } from '../../src/train/translatorRun.js';
import { tokenize } from '../../src/data/clips/words.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

const tiny = (arch: TranslatorConfig['arch'], seed = 1) => {
  const c = { ...defaultTranslatorConfig(arch), dim: 16, layers: 1, heads: 2 };
  return new Translator(c, initTranslatorWeights(c, new Rng(seed)));
};
const src = (m: Translator, s: string[][]) => m.sourceIds(s);

describe.each(['lstm', 'transformer'] as const)('the %s translator', (arch) => {
  it('reads a source the same alone and padded in a batch beside a longer one', () => {
    const m = tiny(arch), a = tokenize('un 3 rouge qui va à gauche'), b = tokenize('montre-moi un grand chiffre sept bleu qui glisse vers le haut rapidement');
    const tin = tf.tensor2d([[BOS, 5, 6], [BOS, 5, 6]], [2, 3], 'int32');
    const one = tf.tidy(() => { const s = src(m, [a]); return m.logits(s.ids, s.keep, tf.slice(tin, [0, 0], [1, 3])).dataSync(); });
    const both = tf.tidy(() => { const s = src(m, [a, b]); return tf.slice(m.logits(s.ids, s.keep, tin), [0, 0, 0], [1, -1, -1]).dataSync(); });
    expect(maxAbsDiff(one, both)).toBeLessThan(1e-4);
    m.dispose();
  });
  it('never lets a position see later target words (causal)', () => {
    const m = tiny(arch), s = tokenize('eine rote 3, die nach links fährt');
    const run = (t: number[]) => tf.tidy(() => { const x = src(m, [s]); return m.logits(x.ids, x.keep, tf.tensor2d([t], [1, t.length], 'int32')).arraySync()[0]; });
    const a = run([BOS, 5, 6, 7]), b = run([BOS, 5, 9, 11]);
    expect(maxAbsDiff(a[0].concat(a[1]), b[0].concat(b[1]))).toBeLessThan(1e-5);
    expect(maxAbsDiff(a[2], b[2])).toBeGreaterThan(1e-4);
    m.dispose();
  });
  it('beam search with a beam of 1 gives the greedy translation', () => {
    const m = tiny(arch, 3), s = tokenize('el 7 azul que se mueve hacia arriba despacio');
    // greedy by hand: the most likely word at each step ([pad], [bos], [unk] never written), until [eos]
    const greedy: number[] = [];
    for (let t = 0; t < m.config.maxTgt; t++) {
      const row = tf.tidy(() => { const x = src(m, [s]); return m.logits(x.ids, x.keep, tf.tensor2d([[BOS, ...greedy]], [1, t + 1], 'int32')).arraySync()[0][t]; });
      let best = -1;
      row.forEach((v, id) => { if (id > 0 && id !== BOS && id !== 3 && (best < 0 || v > row[best])) best = id; });
      if (best === EOS) break;
      greedy.push(best);
    }
    expect(m.translate([s], 1)[0]).toEqual(greedy.map((id) => m.config.tgtVocab[id]));
    m.dispose();
  });
  it('leaks no tensors in training steps and translation', async () => {
    const m = tiny(arch), task = translatorTask(m, { pOmit: 0.25 }), rng = new Rng(2);
    await expectNoLeak(() => {
      tf.tidy(() => { const g = tf.variableGrads(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(rng, 4)); return g.value; }).dispose();
      m.translate([tokenize(randomPair(rng, 'eval', 0).source)], 2);
      task.validate!(1);
    });
    m.dispose();
  });
});

describe('translator training', () => {
  it('learns the pairs: the loss on held-out word orders falls in 60 steps (transformer, small)', () => {
    const m = tiny('transformer'), task = translatorTask(m, { pOmit: 0.25 }), rng = new Rng(4), opt = tf.train.adam(3e-3);
    const before = task.validate!(1);
    for (let s = 0; s < 60; s++) opt.minimize(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(rng, 16), true)?.dispose();
    const after = task.validate!(1);
    expect(after).toBeLessThan(before * 0.6);
    opt.dispose(); m.dispose();
  }, 60_000);
});
