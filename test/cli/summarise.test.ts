import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectUserError, run, workspace } from './fixtures.js';

describe('genlab summarise', () => {
  const ws = workspace('genlab-summarise-');
  const model = () => ws.runDir('summariser', ['summariser', '--steps', '2', '--set', 'batchSize=2', '--set', 'evalBatches=1']);

  it('prints the summary of a chatty description, the attributes it parses to and the words it never saw', () => {
    const r = run('summarise', 'hi there. make it red, no wait, blue. a big seven please, zorp. thanks', '--checkpoint', model());
    expect(r.code, r.err).toBe(0);
    const line = JSON.parse(r.out.trim()) as { summary: string; attributes: Record<string, unknown>; unknown: string[] };
    expect(typeof line.summary).toBe('string');
    expect(typeof line.attributes).toBe('object');
    expect(line.unknown).toEqual(['zorp']);
  });

  it('bad input: one clear line', () => {
    expectUserError(run('summarise', 'a red 3', '--checkpoint', join(ws.dir, 'nothing')), /no summariser at/);
    expectUserError(run('summarise', '   ', '--checkpoint', model()), /empty/);
    expectUserError(run('summarise', 'x'.repeat(2001), '--checkpoint', model()), /at most 2000/);
    expectUserError(run('summarise', '!!!', '--checkpoint', model()), /no words/);
    expectUserError(run('summarise', 'a red 3', '--checkpoint', ws.gpt()), /not a summariser/);
    expectUserError(run('train', 'summariser', '--data', ws.corpus, '--out', join(ws.dir, 's2')), /takes no --data/);
  });
});
