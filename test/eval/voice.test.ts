import { describe, expect, it } from 'vitest';
import { namedAttributes } from '../../src/data/clips/words.js';
import { encodeWav } from '../../src/data/wav.js';
import { espeak } from '../../src/data/speech.js';
import { judgeTranscript, wordEdits, scoreAcoustic } from '../../src/eval/voice.js';
import { transcribeWavEach } from '../../src/pipelines/transcribe.js';
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

  it('an untrained model: its scores are rates in [0, 1] (WER may pass 1), over the utterances asked for, and by variant they add up', () => {
    const c = { ...defaultAcousticConfig(), dim: 8, layers: 1 }, m = new AcousticModel(c, initAcousticWeights(c, new Rng(1)));
    const [s, plain] = scoreAcoustic({ model: m, dir: 'x' }, 3, [{ beam: 2, grammar: true, unsaid: 1 }, { beam: 1, grammar: false, unsaid: 0 }], false, 4242, false, true);
    expect(plain.espeak.utterances).toBe(3);
    expect(s.soxRoom?.utterances).toBe(3);
    expect(s.festival).toBeUndefined();
    expect(s.espeak.utterances).toBe(3);
    expect(s.espeak.wer).toBeGreaterThan(0.5);
    expect(s.espeak.exact).toBeGreaterThanOrEqual(0);
    expect(s.espeak.exact).toBeLessThanOrEqual(1);
    expect(s.espeak.examples).toHaveLength(3);
    expect(s.partial.utterances).toBe(3);
    expect(s.partial.invented).toBeGreaterThanOrEqual(0);
    expect(s.room.utterances).toBe(3);
    // the exact match by variant adds up to the whole
    const by = Object.values(s.espeak.byVariant ?? {});
    expect(by.reduce((n, v) => n + v.utterances, 0)).toBe(3);
    expect(by.reduce((n, v) => n + v.exact * v.utterances, 0)).toBeCloseTo(3 * s.espeak.exact);
    expect(s.trainingVoices.byVariant).toBeDefined();
    m.dispose();
  });

  it('judges a transcript: exact only with every said attribute and nothing more; an attribute named but not said is invented', () => {
    const said = { digit: 3, colour: 'red' } as const;
    expect(judgeTranscript(said, { digit: 3, colour: 'red' })).toMatchObject({ exact: true, invented: false });
    const more = judgeTranscript(said, { digit: 3, colour: 'red', size: 'small' });
    expect(more).toMatchObject({ exact: false, invented: true });
    expect(more.right).toEqual({ digit: true, colour: true, direction: true, speed: true, size: false });
    expect(judgeTranscript(said, { digit: 3 })).toMatchObject({ exact: false, invented: false });
    expect(judgeTranscript(said, { digit: 8, colour: 'red' }).right.digit).toBe(false);
  });

  it('transcribes with the decoding asked for: with the grammar no transcript contradicts itself, where the plain search does', () => {
    const wav = encodeWav(espeak('a big red seven moving left fast', { accent: 'en-us', variant: '', rate: 160, pitch: 50 }), 16000);
    let contradicted = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const c = { ...defaultAcousticConfig(), dim: 8, layers: 1 }, m = new AcousticModel(c, initAcousticWeights(c, new Rng(seed)));
      const { transcripts: [plain, grammar], ms } = transcribeWavEach({ model: m, dir: 'x' }, wav, 'prompt', [{ beam: 16, grammar: false, unsaid: 0 }, { beam: 16, grammar: true, unsaid: 0 }]);
      expect(ms.decode).toHaveLength(2);
      if (!namedAttributes(plain.text.split(' '))) contradicted++;
      expect(namedAttributes(grammar.text.split(' ')), grammar.text).toBeDefined();
      m.dispose();
    }
    expect(contradicted).toBeGreaterThan(0); // else this test would show nothing
  });
});
