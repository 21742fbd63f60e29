import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Lstm, defaultLstmConfig, growLstm, initLstmWeights, type LstmConfig } from '../../src/models/lstm.js';
import { countParams } from '../../src/nn/layers.js';
import { CharTokenizer, randomBatch } from '../../src/data/text.js';
import { generateText } from '../../src/pipelines/text.js';
import { batchLoss } from '../../src/models/textLoss.js';
import { Rng } from '../../src/util/rng.js';
import { expectNoLeak, maxAbsDiff } from '../helpers.js';

const tiny: LstmConfig = { vocabSize: 9, embed: 6, hidden: 8, layers: 2, cell: 'lstm', blockSize: 8 };
const make = (c: LstmConfig = tiny) => new Lstm({ ...c }, initLstmWeights(c, new Rng(2)));

describe('char-lstm', () => {
  it('has the parameter count of the peer (charlstm workload)', () => {
    const m = make(defaultLstmConfig());
    expect(countParams(m.params)).toBe(886_880);
    m.dispose();
  });

  it('has the parameter count of a PyTorch GRU of the same size', () => {
    // nn.GRU(64, 256, 2): 3*256*(64+256) + 3*256*(256+256) + 4*3*256, plus embedding and head
    const m = make({ ...defaultLstmConfig(), cell: 'gru' });
    expect(countParams(m.params)).toBe(96 * 64 + 3 * 256 * 320 + 3 * 256 * 512 + 4 * 3 * 256 + 256 * 96 + 96);
    m.dispose();
  });

  for (const cell of ['lstm', 'gru'] as const) {
    it(`${cell}: carries its state across feed() calls exactly like one pass over the whole sequence`, () => {
      const m = make({ ...tiny, cell });
      const seq = [1, 4, 2, 8, 5, 7];
      const full = tf.tidy(() => m.logits(tf.tensor2d(seq, [1, 6], 'int32')).slice([0, 5, 0], [1, 1, 9]).dataSync());
      const s = m.stream();
      s.feed(Int32Array.from(seq.slice(0, 3)));
      s.feed(Int32Array.from(seq.slice(3, 5)));
      const last = s.feed(Int32Array.from(seq.slice(5)));
      expect(maxAbsDiff(full, last)).toBeLessThan(1e-5);
      s.dispose();
      m.dispose();
    });

    it(`${cell}: leaks no tensor in a train step or in sampling`, async () => {
      const m = make({ ...tiny, cell });
      const ids = Int32Array.from({ length: 100 }, (_, i) => (i * 5) % 9);
      const vars = [...m.params.values()];
      const step = () => tf.tidy(() => { tf.variableGrads(() => batchLoss(m, randomBatch(ids, 3, 8, new Rng(1))), vars).value.dataSync(); });
      step();
      await expectNoLeak(step);
      await expectNoLeak(() => generateText(m, new CharTokenizer('abcdefghi'.split('')), 'ab', { tokens: 10, seed: 1 }));
      m.dispose();
    });
  }

  it('widened by --grow hidden computes the same logits and keeps every trained weight', () => {
    const m = make();
    const x = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], 'int32');
    const before = tf.tidy(() => m.logits(x).dataSync());
    const g = growLstm(m.config, m.params, { hidden: 12 }, new Rng(9));
    const big = new Lstm(g.config, g.weights);
    expect(big.params.get('rnn.1.whh')!.shape).toEqual([12, 48]);
    const after = tf.tidy(() => big.logits(x).dataSync());
    expect(maxAbsDiff(before, after)).toBeLessThan(1e-5);
    // the forget-gate block of a trained weight sits at its new offset
    const old = m.params.get('rnn.0.wih')!.arraySync() as number[][];
    const neu = big.params.get('rnn.0.wih')!.arraySync() as number[][];
    expect(neu[2][12 + 3]).toBe(old[2][8 + 3]);
    x.dispose(); m.dispose(); big.dispose();
  });

  it('grown by --grow layers keeps the trained layers and adds a new one on top', () => {
    const m = make();
    const g = growLstm(m.config, m.params, { layers: 3 }, new Rng(9));
    expect(g.added).toEqual(['rnn.2.wih', 'rnn.2.whh', 'rnn.2.bih', 'rnn.2.bhh']);
    expect(g.weights.get('rnn.1.whh')!.dataSync()).toEqual(m.params.get('rnn.1.whh')!.dataSync());
    for (const t of g.weights.values()) t.dispose();
    expect(() => growLstm(m.config, m.params, { hidden: 4 }, new Rng(1))).toThrow(/>= the current 8/);
    m.dispose();
  });
});
