import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipSampler } from '../../src/data/clips/dataset.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { encodeGif } from '../../src/media/gif.js';
import { Rng } from '../../src/util/rng.js';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { maxAbsDiff } from '../helpers.js';
import { expectUserError, run, workspace } from './fixtures.js';

describe('genlab caption', () => {
  const ws = workspace('genlab-caption-');
  const captioner = () => ws.runDir('captioner', ['captioner', '--steps', '2', '--set', 'dim=16', '--set', 'c1=4', '--set', 'c2=8', '--set', 'c3=8', '--set', 'batchSize=2', '--set', 'evalBatches=1']);
  const clip = join(ws.dir, 'clip.gif');
  writeFileSync(clip, encodeGif(new ClipSampler(loadMnistPackage().test, 'eval', new Rng(4)).batch(1).frames, { frames: 16, height: 64, width: 64, fps: 8, scale: 2 }));

  it('prints the caption of a GIF and the attributes it parses to, greedy or by beam', () => {
    for (const beam of ['1', '3']) {
      const r = run('caption', clip, '--checkpoint', captioner(), '--beam', beam);
      expect(r.code, r.err).toBe(0);
      const line = JSON.parse(r.out.trim()) as { caption: string; attributes: Record<string, unknown>; beam: number };
      expect(typeof line.caption).toBe('string');
      expect(typeof line.attributes).toBe('object');
      expect(line.beam).toBe(Number(beam));
    }
  });

  it('a run with an EMA exports the EMA weights, which are what captioning reads', () => {
    const runDir = ws.runDir('captioner-ema', ['captioner', '--steps', '2', '--set', 'dim=16', '--set', 'c1=4', '--set', 'c2=8', '--set', 'c3=8', '--set', 'batchSize=2', '--set', 'evalBatches=1', '--set', 'emaDecay=0.5']);
    const out = join(ws.dir, 'captioner-export');
    expect(run('export', runDir, '--out', out, '--precision', 'float32').code).toBe(0);
    const ck = loadCheckpoint(join(runDir, 'checkpoint')), x = loadCheckpoint(out);
    expect(ck.ema).toBeDefined();
    const names = Object.keys(x.weights);
    expect(names.length).toBe(Object.keys(ck.weights).length);
    expect(names.some((k) => maxAbsDiff(ck.ema![k].dataSync(), ck.weights[k].dataSync()) > 1e-6)).toBe(true);
    for (const k of names) expect(maxAbsDiff(x.weights[k].dataSync(), ck.ema![k].dataSync()), k).toBe(0);
  });

  it('bad input: one clear line', () => {
    expectUserError(run('caption', clip, '--checkpoint', join(ws.dir, 'nothing')), /no clip captioner at/);
    expectUserError(run('caption', ws.corpus, '--checkpoint', captioner()), /give a \.gif or \.mp4 clip/);
    expectUserError(run('caption', join(ws.dir, 'gone.gif'), '--checkpoint', captioner()), /no such file/);
    expectUserError(run('caption', clip, '--checkpoint', ws.gpt()), /not a clip captioner/);
    expectUserError(run('caption', clip, '--checkpoint', captioner(), '--beam', '40'), /at most 16/);
    expectUserError(run('eval-clips', '--n', '1', '--captioner', join(ws.dir, 'nothing')), /--captioner: no checkpoint at/);
  });
});
