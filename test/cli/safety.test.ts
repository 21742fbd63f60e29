// Nothing lost: commands never delete or overwrite what they should not, never leave a checkpoint
// unloadable, and a run directory has one writer at a time.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpointMeta, verifyCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { encodeGrayPng } from '../../src/media/png.js';
import { bin, expectUserError, gptSets, run, workspace } from './fixtures.js';

const ws = workspace('genlab-safety-');
const leftovers = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-') || f.includes('.old-'));

describe('genlab never loses data', () => {
  it('export refuses the run itself, a folder around it and a folder of other files; replaces an earlier export', () => {
    const g = ws.gan();
    const before = readFileSync(join(g, 'checkpoint', 'optimizer.bin')), listing = readdirSync(g).sort();
    expectUserError(run('export', g, '--out', g), /overlaps the input/);
    expectUserError(run('export', g, '--out', join(g, 'checkpoint')), /overlaps the input/);
    expectUserError(run('export', g, '--out', ws.dir), /overlaps the input/);
    expect(readFileSync(join(g, 'checkpoint', 'optimizer.bin')).equals(before)).toBe(true);
    expect(readdirSync(g).sort()).toEqual(listing);
    const mine = join(ws.dir, 'my-folder');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep me');
    expectUserError(run('export', g, '--out', mine), /other files in it .*will not replace it/);
    expect(readFileSync(join(mine, 'notes.txt'), 'utf8')).toBe('keep me');
    writeFileSync(join(ws.dir, 'a-file'), 'x');
    expectUserError(run('export', g, '--out', join(ws.dir, 'a-file')), /is a file; an export is a folder/);
    const x = join(ws.dir, 'exported');
    expect(run('export', g, '--out', x).code).toBe(0);
    const first = readCheckpointMeta(x).exported as { created: string };
    const again = run('export', g, '--out', x); // an earlier export is replaced, atomically
    expect(again.code, again.err).toBe(0);
    expect((readCheckpointMeta(x).exported as { created: string }).created).not.toBe(first.created);
    expect(leftovers(ws.dir)).toEqual([]);
  }, 120_000);

  it('eval of an exported checkpoint leaves it loadable (its report goes to --report, not into it)', () => {
    const x = join(ws.dir, 'exported-for-eval');
    expect(run('export', ws.gan(), '--out', x).code).toBe(0);
    const files = readdirSync(x).sort();
    const e = run('eval', x, '--classifier', ws.classifier(), '--n', '20');
    expect(e.code, e.err).toBe(0);
    expect(e.err).toMatch(/eval\.json and eval\.md were not written into it; pass --report DIR/);
    expect(readdirSync(x).sort()).toEqual(files);
    expect(() => verifyCheckpoint(x)).not.toThrow();
    expect(run('sample', x, '--n', '2', '--out', join(ws.dir, 'after-eval')).code).toBe(0);
    const rep = join(ws.dir, 'report');
    expect(run('eval', x, '--classifier', ws.classifier(), '--n', '20', '--report', rep).code).toBe(0);
    expect(readdirSync(rep).sort()).toEqual(['eval.json', 'eval.md']);
    expectUserError(run('eval', ws.gan(), '--classifier', ws.classifier(), '--n', '20', '--report', x), /holds a genlab checkpoint/);
  }, 120_000);

  it('a second writer of a run directory is refused while the first runs; a killed run leaves no stuck lock', async () => {
    const r = join(ws.dir, 'busy');
    const child = spawn(process.execPath, [bin, 'train', 'gpt', '--data', ws.corpus, '--out', r, '--steps', '100000', ...gptSets, '--set', 'logEvery=1', '--set', 'checkpointEvery=2']);
    let err = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (/step [3-9]\//.test(err)) resolve(); }));
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', r, '--steps', '3', ...gptSets), /being written by another genlab process \(pid \d+/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', r, '--steps', '9', '--resume'), /being written by another genlab process/);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const res = run('train', 'gpt', '--data', ws.corpus, '--out', r, '--resume', '--steps', String(readCheckpointMeta(join(r, 'checkpoint')).step + 1), '--quiet');
    expect(res.code, res.err).toBe(0);
    expect(readdirSync(r).filter((f) => f.startsWith('.'))).toEqual([]); // no lock, no temporaries
  }, 120_000);

  it('output files: never an input, never a file of another kind, never half-written; one clear line for each bad path', () => {
    const g = ws.gpt(), metrics = join(g, 'metrics.jsonl'), kept = readFileSync(metrics);
    expectUserError(run('plot', g, '--out', metrics), /must name a \.png file/);
    writeFileSync(join(ws.dir, 'notes.png'), 'not a png');
    expectUserError(run('plot', g, '--out', join(ws.dir, 'notes.png')), /exists and is not a PNG; genlab will not overwrite it/);
    expect(readFileSync(join(ws.dir, 'notes.png'), 'utf8')).toBe('not a png');
    expectUserError(run('plot', g, '--out', join(ws.dir, 'no-such-folder', 'loss.png')), /the folder .*no-such-folder does not exist/);
    expectUserError(run('plot', g, '--out', g + '/'), /must name a \.png file/);
    mkdirSync(join(ws.dir, 'folder.png'));
    expectUserError(run('plot', g, '--out', join(ws.dir, 'folder.png')), /is a folder; give a file name/);
    expect(readFileSync(metrics).equals(kept)).toBe(true);
    const d = ws.diffusion(), img = join(ws.dir, 'digit.png');
    writeFileSync(img, encodeGrayPng({ width: 28, height: 28, pixels: new Float32Array(784).fill(0.5) }));
    const imgBytes = readFileSync(img);
    expectUserError(run('restore', d, '--image', img, '--denoise', '0.5', '--out', img), /is the input .*digit\.png; choose another name/);
    expect(readFileSync(img).equals(imgBytes)).toBe(true);
    expectUserError(run('restore', d, '--image', img, '--denoise', '0.5', '--out', join(d, 'checkpoint', 'x.png')), /inside a genlab checkpoint/);
    expectUserError(run('sample', d, '--n', '1', '--out', img), /is a file, not a folder/);
    expectUserError(run('sample', d, '--n', '1', '--out', d), /overlaps the input/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', img, '--steps', '1'), /is a file, not a folder/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(img, 'run'), '--steps', '1'), /is a file, not a folder/);
    expect(readFileSync(img).equals(imgBytes)).toBe(true);
    expect(leftovers(ws.dir)).toEqual([]);
    expect(leftovers(g)).toEqual([]);
    // a run directory copied elsewhere is still a run
    cpSync(g, join(ws.dir, 'copy'), { recursive: true });
    expect(run('plot', join(ws.dir, 'copy')).code).toBe(0);
  }, 120_000);

  it('requests too large for memory are refused at once, naming the setting to lower', () => {
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(ws.dir, 'big1'), '--set', 'nLayer=1e9'), /would need about .* of memory, more than the 2\.0 GiB genlab can use; lower nLayer or nEmbd/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(ws.dir, 'big2'), '--set', 'blockSize=100000'), /lower batchSize or blockSize/);
    expectUserError(run('train', 'lstm', '--data', ws.corpus, '--out', join(ws.dir, 'big3'), '--set', 'hidden=100000'), /lower layers, hidden or embed/);
    expectUserError(run('train', 'diffusion', '--data', 'mnist', '--out', join(ws.dir, 'big4'), '--set', 'batchSize=100000'), /lower batchSize/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(ws.dir, 'big5'), '--set', 'nLayer=2.5'), /model nLayer must be a whole number >= 1, got 2.5/);
    const img = join(ws.dir, 'digit-big.png');
    writeFileSync(img, encodeGrayPng({ width: 28, height: 28, pixels: new Float32Array(784).fill(0.3) }));
    expectUserError(run('vary', ws.vae(), '--image', img, '--n', '100000', '--out', join(ws.dir, 'v.png')), /--n 100000 is more than the 1000 images one picture may hold/);
    expectUserError(run('interpolate', ws.vae(), '--from', img, '--to', img, '--steps', '100000', '--out', join(ws.dir, 'i.png')), /--steps 100000 is more than the 1000/);
    expectUserError(run('sample', ws.vae(), '--n', '100000', '--out', join(ws.dir, 'many')), /--n 100000 is more than the 1000/);
    const one = join(ws.dir, 'one.txt');
    writeFileSync(one, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
    expectUserError(run('train', 'gpt', '--data', one, '--out', join(ws.dir, 'one'), '--steps', '1'), /only one distinct character/);
  }, 180_000);

  it("a hostile user's findings: no run into a checkpoint or a user's folder, no export over another family, no report or clip over a user's file", () => {
    const g = ws.gan(), gpt = ws.gpt();
    const copy = join(ws.dir, 'shipped-copy');
    cpSync(join(g, 'checkpoint'), copy, { recursive: true });
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', copy, '--steps', '1', ...gptSets), /is a genlab checkpoint .*choose a new folder/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(g, 'checkpoint'), '--steps', '1', ...gptSets), /is a genlab checkpoint/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(copy, 'inner'), '--steps', '1', ...gptSets), /is inside a genlab checkpoint/);
    const mine = join(ws.dir, 'my-notes');
    mkdirSync(mine);
    writeFileSync(join(mine, 'todo.txt'), 'mine');
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', mine, '--steps', '1', ...gptSets), /folder with other files in it \(not a genlab run directory\)/);
    const ex = join(ws.dir, 'gan-export');
    expect(run('export', g, '--out', ex).code).toBe(0);
    expectUserError(run('export', gpt, '--out', ex), /holds an export of a gan model; genlab will not replace it with a gpt/);
    expectUserError(run('export', g, '--out', join(ex, 'nested')), /inside a genlab checkpoint/);
    writeFileSync(join(ws.dir, 'film.mp4'), 'my text');
    expectUserError(run('render', 'a red 3', '--out', join(ws.dir, 'film.mp4')), /exists and is not a MP4; genlab will not overwrite it/);
    expect(readFileSync(join(ws.dir, 'film.mp4'), 'utf8')).toBe('my text');
    const rep = join(ws.dir, 'reports');
    mkdirSync(rep);
    writeFileSync(join(rep, 'eval.md'), 'my own notes');
    expectUserError(run('eval', g, '--classifier', ws.classifier(), '--n', '20', '--report', rep), /eval\.md there is not a genlab evaluation report/);
    expect(readFileSync(join(rep, 'eval.md'), 'utf8')).toBe('my own notes');
    expectUserError(run('eval', g, '--classifier', ws.classifier(), '--n', '20', '--report', join(copy, 'sub')), /inside a genlab checkpoint/);
    // long but legal names: the temporary file no longer grows the name past 255 bytes
    const long = join(ws.dir, 'q'.repeat(248) + '.png');
    expect(run('plot', gpt, '--out', long).code).toBe(0);
  }, 180_000);

  it("a hostile user's findings: resume with nothing to do, a dead run's metrics, and settings without bounds", () => {
    const gpt = ws.gpt();
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', gpt, '--steps', '2', '--resume'), /already at step 4: --steps 2 leaves nothing to train/);
    const dead = join(ws.dir, 'dead');
    mkdirSync(dead);
    writeFileSync(join(dead, 'metrics.jsonl'), '{"step":10,"loss":9}\n');
    const t = run('train', 'gpt', '--data', ws.corpus, '--out', dead, '--steps', '2', ...gptSets, '--set', 'logEvery=1');
    expect(t.code, t.err).toBe(0);
    expect(readFileSync(join(dead, 'metrics.jsonl'), 'utf8')).not.toMatch(/"step":10/);
    expectUserError(run('train', 'diffusion', '--data', 'mnist', '--out', join(ws.dir, 'u1'), '--set', 'channels=8'), /channels is the images' channel count/);
    expectUserError(run('train', 'diffusion', '--data', 'mnist', '--out', join(ws.dir, 'u2'), '--set', 'groups=3'), /groups must divide the UNet's widths/);
    expectUserError(run('train', 'gan', '--data', 'mnist', '--out', join(ws.dir, 'u3'), '--set', 'z=1e9'), /model z must be a whole number >= 1 and <= 4096/);
    expectUserError(run('train', 'vae', '--data', 'mnist', '--out', join(ws.dir, 'u4'), '--set', 'latent=1e9'), /model latent must be a whole number >= 1 and <= 4096/);
    expectUserError(run('sample', gpt, '--top-p', '2'), /top-p must be in \(0, 1\], got 2/);
    expectUserError(run('sample', gpt, '--tokens', '1000000000'), /--tokens must be a whole number from 0 to 1,000,000/);
    const img = join(ws.dir, 'digit-r.png');
    writeFileSync(img, encodeGrayPng({ width: 28, height: 28, pixels: new Float32Array(784).fill(0.3) }));
    expectUserError(run('restore', ws.diffusion(), '--image', img, '--mask', img, '--resample', '1000000', '--out', join(ws.dir, 'r.png')), /--resample must be a whole number from 1 to 50/);
  }, 180_000);
});
