// `genlab train translator` and `genlab translate` end to end on tiny runs, and their bad input.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectUserError, run, workspace } from './fixtures.js';

const ws = workspace('genlab-translate-');
const tiny = ['--set', 'dim=16', '--set', 'layers=1', '--set', 'heads=2', '--set', 'evalBatches=1'];

describe('genlab train translator / genlab translate', () => {
  it('trains both architectures, resumes, and translates with the language detected or given', () => {
    const tr = ws.runDir('tr', ['translator', '--steps', '3', ...tiny]);
    const lstm = ws.runDir('lstm', ['translator', '--steps', '3', '--set', 'arch=lstm', ...tiny]);
    expect(JSON.parse(readFileSync(join(lstm, 'checkpoint', 'config.json'), 'utf8')).model.arch).toBe('lstm');
    const r = run('train', 'translator', '--out', tr, '--steps', '4', '--resume', '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(join(tr, 'checkpoint', 'config.json'), 'utf8')).step).toBe(4);
    for (const ck of [tr, lstm]) {
      const t = run('translate', 'un petit 3 rouge qui va à gauche, zut', '--checkpoint', ck, '--beam', '2');
      expect(t.code, t.err).toBe(0);
      const j = JSON.parse(t.out);
      expect(j).toMatchObject({ from: 'fr', detected: true, unknown: ['zut'] });
      expect(typeof j.english).toBe('string');
    }
    const given = JSON.parse(run('translate', 'eine rote 3', '--from', 'de', '--checkpoint', tr).out);
    expect(given).toMatchObject({ from: 'de', detected: false });
    // English passes through untouched
    expect(JSON.parse(run('translate', 'a big red 3 moving left', '--checkpoint', tr).out)).toMatchObject({ from: 'en', english: 'a big red 3 moving left', attributes: { digit: 3, colour: 'red', size: 'large', direction: 'left' } });
  }, 180_000);
  it('gives bad input one clear line', () => {
    const tr = ws.runDir('tr', ['translator', '--steps', '3', ...tiny]);
    expectUserError(run('translate', '', '--checkpoint', tr), /the prompt is empty/);
    expectUserError(run('translate', '!!!', '--checkpoint', tr), /no words/);
    expectUserError(run('translate', 'x'.repeat(501), '--checkpoint', tr), /at most 500/);
    expectUserError(run('translate', 'ciao', '--from', 'it', '--checkpoint', tr), /not a language genlab translates/);
    expectUserError(run('translate', 'un 3', '--checkpoint', join(ws.dir, 'nowhere')), /no translator at/);
    expectUserError(run('translate', 'un 3', '--checkpoint', ws.gan()), /not a translator/);
    expectUserError(run('train', 'translator', '--out', join(ws.dir, 'bad'), '--set', 'arch=gru'), /lstm or transformer/);
    expectUserError(run('train', 'translator', '--out', join(ws.dir, 'bad2'), '--set', 'srcVocab=[]'), /set by the grammars/);
    expectUserError(run('train', 'translator', '--data', 'mnist', '--out', join(ws.dir, 'bad3')), /takes no --data/);
  }, 180_000);
});
