import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { espeak } from '../../src/data/speech.js';
import { encodeWav } from '../../src/data/wav.js';
import { expectUserError, run, workspace } from './fixtures.js';

describe('genlab transcribe', () => {
  const ws = workspace('genlab-transcribe-');
  const voice = () => ws.runDir('voice', ['voice', '--steps', '2', '--set', 'dim=8', '--set', 'layers=1', '--set', 'pool=8', '--set', 'refresh=0', '--set', 'batchSize=2', '--set', 'evalBatches=1']);
  const wav = join(ws.dir, 'prompt.wav');
  const mono = espeak('a big red seven moving left', { accent: 'en-us', variant: '', rate: 160, pitch: 50 });
  writeFileSync(wav, encodeWav(mono, 16000));

  it('prints the transcript of a WAV file and the attributes it parses to, greedy or by beam, with the grammar prior by default', () => {
    const runs: [string[], { beam: number; grammar: boolean; unsaid: number }][] = [
      [[], { beam: 16, grammar: true, unsaid: 1 }],
      [['--beam', '1', '--no-grammar'], { beam: 1, grammar: false, unsaid: 0 }],
      [['--beam', '4', '--unsaid', '0'], { beam: 4, grammar: true, unsaid: 0 }],
    ];
    for (const [flags, decode] of runs) {
      const r = run('transcribe', wav, '--checkpoint', voice(), ...flags);
      expect(r.code, r.err).toBe(0);
      const line = JSON.parse(r.out.trim()) as { text: string; attributes: Record<string, unknown>; seconds: number; decode: unknown };
      expect(typeof line.text).toBe('string');
      expect(typeof line.attributes).toBe('object');
      expect(line.seconds).toBeCloseTo(mono.length / 16000, 1);
      expect(line.decode).toEqual(decode);
    }
  });

  it("trains by default on espeak-ng and, 30% of its utterances, flite's training voices (the shipped recipe)", () => {
    const meta = loadCheckpoint(join(voice(), 'checkpoint')).meta as unknown as { task: { flite: number }; data: string };
    expect(meta.task.flite).toBe(0.3);
    expect(meta.data).toMatch(/30% by flite's awb and rms voices/);
  });

  it('uses the shipped acoustic model (models/voice) when no --checkpoint is given', () => {
    const r = run('transcribe', wav);
    expect(r.code, r.err).toBe(0);
    const line = JSON.parse(r.out.trim()) as { text: string; checkpoint: string };
    expect(line.checkpoint).toMatch(/models[/\\]voice$/);
    expect(line.text.split(' ').length).toBeGreaterThan(2); // what it hears is a benchmark's business (README)
  });

  it('bad input: one clear line', () => {
    const long = join(ws.dir, 'long.wav'), empty = join(ws.dir, 'empty.wav');
    writeFileSync(long, encodeWav(new Float32Array(8000 * 31), 8000));
    writeFileSync(empty, encodeWav(new Float32Array(0), 16000));
    expectUserError(run('transcribe', wav, '--checkpoint', join(ws.dir, 'nothing')), /no acoustic model at/);
    expectUserError(run('transcribe', ws.corpus, '--checkpoint', voice()), /is not a WAV file/);
    expectUserError(run('transcribe', join(ws.dir, 'gone.wav'), '--checkpoint', voice()), /no such file/);
    expectUserError(run('transcribe', long, '--checkpoint', voice()), /at most 30 s/);
    expectUserError(run('transcribe', empty, '--checkpoint', voice()), /no samples/);
    expectUserError(run('transcribe', wav, '--checkpoint', ws.gpt()), /not an acoustic model/);
    expectUserError(run('transcribe', wav, '--checkpoint', voice(), '--beam', '99'), /at most 64/);
    expectUserError(run('transcribe', wav, '--checkpoint', voice(), '--unsaid', '-1'), /--unsaid: a number from 0 to 20/);
    const lots = run('transcribe', wav, '--checkpoint', voice(), '--unsaid', 'lots');
    expect(lots.code).toBe(2); // a usage error, as commander reports every malformed option
    expect(lots.err).toMatch(/--unsaid must be a number/);
    expectUserError(run('train', 'voice', '--data', ws.corpus, '--out', join(ws.dir, 'v2')), /takes no --data/);
  });
});
