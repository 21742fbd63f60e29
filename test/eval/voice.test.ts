import { describe, expect, it } from 'vitest';
import { wordEdits, scoreAcoustic } from '../../src/eval/voice.js';
import { AcousticModel, initAcousticWeights } from '../../src/models/acoustic.js';
import { defaultAcousticConfig } from '../../src/train/acousticRun.js';
import { Rng } from '../../src/util/rng.js';

describe('the acoustic model measured', () => {
  it('word edits: substitutions, insertions and deletions count one each', () => {
    expect(wordEdits(['a', 'red', 'seven'], ['a', 'red', 'seven'])).toBe(0);
    expect(wordEdits(['a', 'blue', 'seven'], ['a', 'red', 'seven'])).toBe(1);
    expect(wordEdits(['a', 'seven'], ['a', 'red', 'seven'])).toBe(1);
    expect(wordEdits(['the', 'a', 'red', 'seven', 'up'], ['a', 'red', 'seven'])).toBe(2);
    expect(wordEdits([], ['a', 'b'])).toBe(2);
  });

  it('an untrained model: its scores are rates in [0, 1] (WER may pass 1), over the utterances asked for', () => {
    const c = { ...defaultAcousticConfig(), dim: 8, layers: 1 }, m = new AcousticModel(c, initAcousticWeights(c, new Rng(1)));
    const [s, plain] = scoreAcoustic({ model: m, dir: 'x' }, 3, [{ beam: 2, grammar: true, unsaid: 1 }, { beam: 1, grammar: false, unsaid: 0 }], false);
    expect(plain.espeak.utterances).toBe(3);
    expect(s.festival).toBeUndefined();
    expect(s.espeak.utterances).toBe(3);
    expect(s.espeak.wer).toBeGreaterThan(0.5);
    expect(s.espeak.exact).toBeGreaterThanOrEqual(0);
    expect(s.espeak.exact).toBeLessThanOrEqual(1);
    expect(s.espeak.examples).toHaveLength(3);
    expect(s.partial.utterances).toBe(3);
    expect(s.partial.invented).toBeGreaterThanOrEqual(0);
    m.dispose();
  });
});
