// End to end through the `genlab` command: train, sample, eval, finetune, resume, Ctrl-C, plot, errors.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, disposeMap } from '../../src/checkpoint/checkpoint.js';
import { encodeGrayPng, readGrayPng } from '../../src/media/png.js';
import { bin, expectUserError, gptSets, lstmSets, run, workspace } from './fixtures.js';

const ws = workspace('genlab-cli-');
const { dir, corpus } = ws;
const second = join(dir, 'b.txt');
const words = ['the', 'king', 'and', 'queen', 'of', 'hearts', 'play', 'cards', 'in', 'spring'];
let s = 11;
const pick = () => { s = (s * 1103515245 + 12345) % 2147483648; return words[s % words.length]; };
writeFileSync(second, Array.from({ length: 600 }, () => pick().split('').reverse().join('')).join(' ') + '\n');
const digitPng = join(dir, 'digit.png'), bigPng = join(dir, 'big.png'), maskPng = join(dir, 'mask.png');
writeFileSync(digitPng, encodeGrayPng({ width: 28, height: 28, pixels: Float32Array.from({ length: 784 }, (_, i) => ((i % 28) > 10 && (i % 28) < 18 ? 1 : 0)) }));
writeFileSync(bigPng, encodeGrayPng({ width: 30, height: 30, pixels: new Float32Array(900) }));
writeFileSync(maskPng, encodeGrayPng({ width: 28, height: 28, pixels: Float32Array.from({ length: 784 }, (_, i) => (i < 392 ? 1 : 0)) }));

describe('genlab CLI', () => {
  it('lists its verbs', () => {
    const r = run('--help');
    for (const verb of ['info', 'train', 'sample', 'eval', 'vary', 'interpolate', 'restore', 'export', 'finetune', 'plot', 'render', 'bench']) expect(r.out).toMatch(new RegExp(`^\\s+${verb}\\b`, 'm'));
  });

  it('reports its backend', () => {
    const r = run('info', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out);
    expect(['native', 'wasm', 'cpu']).toContain(info.backend);
    expect(info.tfjs).toBe('4.22.0');
  });

  it('falls back to wasm without the native addon, and says why', () => {
    const r = spawnSync(process.execPath, [bin, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, GENLAB_NO_NATIVE: '1', GENLAB_BACKEND: '' } });
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe('wasm');
    expect(info.skipped.join(' ')).toMatch(/native: native addon disabled by GENLAB_NO_NATIVE=1/);
    expect(info.ownKernels).toEqual(['UnsortedSegmentSum', 'Conv2DBackpropFilter']);
  });

  it('trains a gpt, samples deterministically, evaluates, fine-tunes the head only, and plots', () => {
    const run1 = join(dir, 'gpt-main');
    const t = run('train', 'gpt', '--data', corpus, '--out', run1, '--steps', '4', ...gptSets);
    expect(t.code).toBe(0);
    expect(t.out).toBe(''); // progress goes to stderr
    expect(t.err).toMatch(/done: step 4/);

    const a = run('sample', run1, '--prompt', 'the ', '--tokens', '40', '--seed', '3', '--top-k', '5', '--temperature', '0.8');
    expect(a.code).toBe(0);
    expect(a.out.startsWith('the ')).toBe(true);
    expect(a.out.trimEnd().length).toBe(44);
    expect(run('sample', run1, '--prompt', 'the ', '--tokens', '40', '--seed', '3', '--top-k', '5', '--temperature', '0.8').out).toBe(a.out);

    const e = run('eval', run1, '--data', corpus);
    expect(e.code).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.loss).toBeGreaterThan(0);
    expect(ev.perplexity).toBeCloseTo(Math.exp(ev.loss), 2);

    const ft = join(dir, 'gpt-head');
    const f = run('finetune', run1, '--data', second, '--out', ft, '--train', 'head', '--steps', '3', '--quiet');
    expect(f.code).toBe(0);
    const m = /trainable weights: ([\d,]+) of ([\d,]+)/.exec(f.err)!;
    const [trainable, total] = [m[1], m[2]].map((x) => Number(x.replace(/,/g, '')));
    expect(trainable).toBeLessThan(total / 5);
    const before = loadCheckpoint(join(run1, 'checkpoint')), after = loadCheckpoint(join(ft, 'checkpoint'));
    const head = new Set(['ln_f.g', 'ln_f.b', 'head.w']);
    for (const [name, t0] of Object.entries(before.weights)) {
      if (head.has(name)) continue;
      expect(Array.from(after.weights[name].dataSync()), name).toEqual(Array.from(t0.dataSync()));
    }
    // the head did train: the final norm moved, and the untied output matrix is no longer the embedding
    expect(Array.from(after.weights['ln_f.g'].dataSync())).not.toEqual(Array.from(before.weights['ln_f.g'].dataSync()));
    expect(after.weights['head.w'].shape).toEqual([32, before.weights.wte.shape[0]]);
    expect(after.meta.finetunedFrom).toContain('gpt');
    [before, after].forEach((c) => { disposeMap(c.weights); disposeMap(c.optimizer); disposeMap(c.ema); });

    const p = run('plot', run1);
    expect(p.code).toBe(0);
    expect(readFileSync(p.out.trim()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('trains an LSTM, resumes it, and grows it while fine-tuning everything', () => {
    const r = join(dir, 'lstm');
    expect(run('train', 'lstm', '--data', corpus, '--out', r, '--steps', '3', ...lstmSets).code).toBe(0);
    const again = run('train', 'lstm', '--data', corpus, '--out', r, '--steps', '3');
    expectUserError(again, /already holds a checkpoint; pass --resume/);
    const res = run('train', 'lstm', '--data', corpus, '--out', r, '--steps', '5', '--resume');
    expect(res.code).toBe(0);
    expect(res.err).toMatch(/resuming lstm from step 3/);
    expect(res.err).toMatch(/done: step 5/);
    const g = run('finetune', r, '--data', second, '--out', join(dir, 'lstm-grown'), '--train', 'all', '--grow', 'hidden=24', '--grow', 'layers=3', '--steps', '2', '--quiet');
    expect(g.code).toBe(0);
    expect(g.err).toMatch(/grew the lstm to 3 layer\(s\) of 24/);
    const smp = run('sample', join(dir, 'lstm-grown'), '--prompt', 'the ', '--tokens', '10', '--seed', '2');
    expect(smp.code).toBe(0);
    expect(smp.out.trimEnd()).toHaveLength(14);
    const ev = JSON.parse(run('eval', r, '--data', corpus).out);
    expect(ev.loss).toBeGreaterThan(0);
    expect(ev.step).toBe(5);
  });

  it('saves a checkpoint on Ctrl-C and resumes from it', async () => {
    const r = join(dir, 'sigint');
    const child = spawn(process.execPath, [bin, 'train', 'gpt', '--data', corpus, '--out', r, '--steps', '100000', ...gptSets, '--set', 'logEvery=1']);
    let err = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/step 3\//.test(err) && !child.killed) { child.kill('SIGINT'); resolve(); }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(err).toMatch(/interrupted at step \d+; checkpoint saved/);
    const ck = loadCheckpoint(join(r, 'checkpoint'));
    const step = ck.meta.step;
    expect(step).toBeGreaterThanOrEqual(3);
    disposeMap(ck.weights); disposeMap(ck.optimizer);
    const res = run('train', 'gpt', '--data', corpus, '--out', r, '--resume', '--steps', String(step + 2));
    expect(res.code).toBe(0);
    expect(res.err).toMatch(new RegExp(`done: step ${step + 2}`));
    const after = loadCheckpoint(join(r, 'checkpoint'));
    expect(after.meta.commands).toHaveLength(2); // the first command and the resume, in order
    expect((after.meta.commands as string[])[1]).toMatch(/--resume/);
    disposeMap(after.weights); disposeMap(after.optimizer);
  });

  it('trains a class-conditional diffusion model on the mnist digits and samples PNGs with guidance', () => {
    const r = ws.diffusion();
    const out = join(dir, 'digits');
    const smp = run('sample', r, '--n', '3', '--class', '7', '--guidance', '2', '--steps', '2', '--out', out, '--seed', '1');
    expect(smp.code).toBe(0);
    expect(smp.out.trim()).toBe(join(out, 'grid.png'));
    expect(readdirSync(out).sort()).toEqual(['7_0.png', '7_1.png', '7_2.png', 'grid.png']);
    expect(readFileSync(join(out, '7_0.png')).subarray(1, 4).toString()).toBe('PNG');
    // the same seed gives the same image
    run('sample', r, '--n', '3', '--class', '7', '--guidance', '2', '--steps', '2', '--out', join(dir, 'digits2'), '--seed', '1');
    expect(readFileSync(join(dir, 'digits2', '7_1.png')).equals(readFileSync(join(out, '7_1.png')))).toBe(true);
    expectUserError(run('sample', r, '--n', '2', '--class', '12', '--out', out), /--class must be one of 0\.\.9, got 12/);
    expectUserError(run('sample', r, '--n', '2'), /--out DIR is required/);
    expectUserError(run('sample', r, '--n', '1', '--steps', '5000', '--out', out), /--steps must be a whole number in \[1, 1000\], got 5000/);
    expectUserError(run('train', 'diffusion', '--data', join(dir, 'no-such-dir'), '--out', join(dir, 'd2')), /has no train-images-idx3-ubyte/);
    expectUserError(run('train', 'diffusion', '--data', 'mnist', '--out', join(dir, 'd3'), '--set', 'nLayer=2'), /unknown --set key "nLayer"; valid keys: .*classes/);
  });

  it('trains a conditional VAE; evaluates its NLL bound; samples, varies and interpolates PNGs', () => {
    const r = join(dir, 'vae');
    expect(run('train', 'vae', '--data', 'mnist', '--out', r, '--steps', '3', '--set', 'batchSize=16', '--set', 'evalBatches=1', '--quiet').code).toBe(0);
    const e = run('eval', r, '--nll-only', '--k', '5', '--images', '10');
    expect(e.code).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.k).toBe(5);
    expect(ev.images).toBe(10);
    expect(ev.nll).toBeGreaterThan(0);
    const s = run('sample', r, '--n', '2', '--out', join(dir, 'vae-samples'));
    expect(s.code).toBe(0);
    expect(readdirSync(join(dir, 'vae-samples')).sort()).toEqual(['0_0.png', '1_1.png', 'grid.png']);
    const v = run('vary', r, '--image', digitPng, '--n', '4', '--out', join(dir, 'vary.png'));
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/vary\.png \(class \d\)/);
    expect(readGrayPng(join(dir, 'vary.png')).width).toBe(4 * 28 + 5 * 2);
    const i = run('interpolate', r, '--from', digitPng, '--to', digitPng, '--steps', '3', '--out', join(dir, 'strip.png'));
    expect(i.code).toBe(0);
    expect(readGrayPng(join(dir, 'strip.png')).width).toBe(3 * 28 + 4 * 2);
    expectUserError(run('vary', r, '--image', corpus, '--out', join(dir, 'v.png')), /a\.txt is not a PNG file/);
    expectUserError(run('vary', r, '--image', bigPng, '--out', join(dir, 'v.png')), /is 30x30; the model takes 28x28 images/);
    expectUserError(run('vary', r, '--image', digitPng, '--class', '11', '--out', join(dir, 'v.png')), /--class must be one of 0\.\.9, got 11/);
    expectUserError(run('vary', ws.diffusion(), '--image', digitPng, '--out', join(dir, 'v.png')), /holds a "diffusion" model; this needs a vae/);
    expectUserError(run('vary', r, '--image', digitPng, '--out', join(dir, 'v.jpg')), /--out must name a \.png file/);
  }, 180_000);

  it('trains a GAN and a classifier; evaluates the GAN (JSON and Markdown); exports it', () => {
    const g = join(dir, 'gan'), c = join(dir, 'clf');
    // with PacGAN packs and DiffAugment on D's inputs, the recipe of the unconditional GAN
    const t = run('train', 'gan', '--data', 'mnist', '--out', g, '--steps', '2', '--set', 'batchSize=8', '--set', 'classes=0', '--set', 'pack=2', '--set', 'augShift=2', '--set', 'augCutout=8');
    expect(t.code).toBe(0);
    expectUserError(run('train', 'gan', '--data', 'mnist', '--out', join(dir, 'gan2'), '--set', 'augCutout=28'), /augCutout must be an integer from 0 to 27, got 28/);
    // self-conditioned on k-means clusters: samples without a class; a resume finds the same clusters
    const sc = join(dir, 'gan-clusters');
    const tc = run('train', 'gan', '--data', 'mnist', '--out', sc, '--steps', '2', '--set', 'batchSize=8', '--set', 'classes=0', '--set', 'clusters=3');
    expect(tc.code).toBe(0);
    expect(tc.err).toMatch(/unconditional, self-conditioned on 3 clusters/);
    expect(tc.err).toMatch(/clusters: 3 by k-means on the pixels in [\d.]+ s, sizes \d+ \d+ \d+/);
    expect(run('train', 'gan', '--data', 'mnist', '--out', sc, '--steps', '3', '--resume').code).toBe(0);
    expect(run('sample', sc, '--n', '2', '--out', join(dir, 'gan-clusters-samples')).code).toBe(0);
    expect(readdirSync(join(dir, 'gan-clusters-samples')).sort()).toEqual(['0.png', '1.png', 'grid.png']);
    expectUserError(run('train', 'gan', '--data', 'mnist', '--out', join(dir, 'gan2'), '--set', 'clusters=3'), /set classes=0 with clusters/);
    expectUserError(run('train', 'gan', '--data', 'mnist', '--out', join(dir, 'gan2'), '--set', 'classes=0', '--set', 'clusters=9000'), /clusters \(9000\) must not exceed the 8995 training images/);
    expectUserError(run('train', 'gan', '--data', 'mnist', '--out', join(dir, 'gan2'), '--set', 'pack=3'), /batchSize \(64\) must be a multiple of pack \(3\)/);
    expect(t.err).toMatch(/gan: [\d,]+ weights, unconditional/);
    expect(t.err).toMatch(/loss [\d.]+ \(d [\d.]+, g [\d.]+\)/);
    const s = run('sample', g, '--n', '2', '--out', join(dir, 'gan-samples'));
    expect(s.code).toBe(0);
    expect(readdirSync(join(dir, 'gan-samples')).sort()).toEqual(['0.png', '1.png', 'grid.png']);
    expectUserError(run('sample', g, '--n', '2', '--class', '3', '--out', join(dir, 'gan-samples')), /unconditional: it takes no --class/);
    expect(run('train', 'classifier', '--data', 'mnist', '--out', c, '--steps', '2', '--set', 'batchSize=16', '--set', 'evalBatches=1', '--set', 'part=odd', '--quiet').code).toBe(0);
    expect(JSON.parse(readFileSync(join(c, 'checkpoint', 'config.json'), 'utf8')).task).toEqual({ part: 'odd' });
    expectUserError(run('train', 'classifier', '--data', 'mnist', '--out', c, '--resume', '--steps', '3', '--set', 'part=even'), /--resume keeps part \(odd\)/);
    const acc = JSON.parse(run('eval', c).out);
    expect(acc.images).toBe(1005); // the held-out tenth of the 10,000 digits
    expect(acc.heldOutAccuracy).toBeLessThanOrEqual(1);
    const e = run('eval', g, '--classifier', c, '--n', '20');
    expect(e.code).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.frechet.samples).toBeGreaterThan(0);
    expect(ev.unconditionalClassShare).toHaveLength(10);
    expect(JSON.parse(readFileSync(join(g, 'eval.json'), 'utf8')).frechet.floor).toBe(ev.frechet.floor);
    expect(readFileSync(join(g, 'eval.md'), 'utf8')).toMatch(/\| ratio to the floor \|/);
    expectUserError(run('eval', g, '--classifier', g), /holds a "gan" model; this needs a classifier/);
    expectUserError(run('eval', g, '--data', join(dir, 'nowhere'), '--n', '20'), /has no train-images-idx3-ubyte/);
    const x = join(dir, 'exported');
    const ex = run('export', g, '--out', x);
    expect(ex.code).toBe(0);
    const ck = loadCheckpoint(x);
    expect(ck.optimizer).toBeUndefined();
    expect(ck.meta.evaluation).toEqual(JSON.parse(readFileSync(join(g, 'eval.json'), 'utf8')));
    expect(ck.meta.command).toMatch(/^genlab train gan --data mnist/);
    expect(readFileSync(join(x, 'MANIFEST'), 'utf8')).toMatch(/eval\.md/);
    // the sampling settings the evaluation measured travel with the export, with its figures
    expect(ck.meta.sampling).toEqual({ temperature: 1, chosenBy: expect.stringMatching(/^genlab eval .*: FD [\d.]+x the floor/) });
    disposeMap(ck.weights);
    expect(run('sample', x, '--n', '2', '--out', join(dir, 'exported-samples')).code).toBe(0);
    expect(run('export', g, '--out', x).code).toBe(0); // an earlier export is replaced
  }, 180_000);

  it('restores (inpainting, denoising) and samples from a seed image with a diffusion model', () => {
    const d = ws.diffusion(), out = join(dir, 'restored.png');
    const rs = run('restore', d, '--image', digitPng, '--mask', maskPng, '--steps', '2', '--resample', '1', '--out', out);
    expect(rs.code).toBe(0);
    const restored = readGrayPng(out), input = readGrayPng(digitPng), mask = readGrayPng(maskPng);
    for (let i = 0; i < 784; i++) if (mask.pixels[i] < 0.5) expect(Math.abs(restored.pixels[i] - input.pixels[i])).toBeLessThanOrEqual(1 / 255);
    expect(run('restore', d, '--image', digitPng, '--denoise', '0.3', '--steps', '4', '--out', out).code).toBe(0);
    expectUserError(run('restore', d, '--image', digitPng, '--out', out), /give --mask MASK\.png/);
    expectUserError(run('restore', d, '--image', digitPng, '--mask', bigPng, '--out', out), /the mask .* is 30x30; the image is 28x28/);
    expectUserError(run('restore', d, '--image', digitPng, '--denoise', '0', '--out', out), /--denoise must be in \(0, 1\], got 0/);
    const seeded = run('sample', d, '--seed-image', digitPng, '--strength', '0.5', '--class', '3', '--n', '2', '--steps', '4', '--out', join(dir, 'seeded'));
    expect(seeded.code).toBe(0);
    expect(readdirSync(join(dir, 'seeded')).sort()).toEqual(['3_0.png', '3_1.png', 'grid.png']);
    expectUserError(run('sample', d, '--seed-image', digitPng, '--strength', '1.5', '--out', join(dir, 'seeded')), /--strength must be in \(0, 1\], got 1.5/);
    expectUserError(run('sample', d, '--seed-image', bigPng, '--out', join(dir, 'seeded')), /is 30x30; the model takes 28x28/);
    const three = run('sample', d, '--class', 'three', '--out', join(dir, 'seeded'));
    expect(three.code).toBe(2); // a usage error, as every malformed option
    expect(three.err).toMatch(/--class must be a whole number/);
  }, 180_000);

  it('gives one clear line for bad input', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    expectUserError(run('train', 'gpt', '--data', empty, '--out', join(dir, 'x')), /is empty/);
    expectUserError(run('train', 'gpt', '--data', join(dir, 'missing.txt'), '--out', join(dir, 'x')), /no such file/);
    expectUserError(run('train', 'flow', '--data', corpus, '--out', join(dir, 'x')), /unknown model family "flow"/);
    expectUserError(run('train', 'gpt', '--data', corpus, '--out', join(dir, 'x'), '--set', 'layers=3'), /unknown --set key "layers"; valid keys: .*nLayer/);
    expectUserError(run('sample', join(dir, 'nowhere')), /no checkpoint directory/);
    const u = join(dir, 'unicode.txt');
    writeFileSync(u, 'the king 🂡 and queen ñ '.repeat(50));
    const gpt = ws.gpt();
    expectUserError(run('finetune', gpt, '--data', u, '--out', join(dir, 'y'), '--train', 'head'), /outside the model's vocabulary of \d+: .*"🂡".*"ñ".*--drop-unknown/);
    expect(run('finetune', gpt, '--data', u, '--out', join(dir, 'y'), '--train', 'head', '--steps', '1', '--drop-unknown', '--quiet').code).toBe(0);
    expectUserError(run('sample', gpt, '--prompt', 'XYZ'), /outside the model's vocabulary/);
    expectUserError(run('eval', gpt), /--data FILE is required for a text model/);
    const bad = run('sample', gpt, '--tokens', 'ten');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--tokens must be a whole number/);
    // a corrupted checkpoint is refused, naming the file
    const broken = join(dir, 'gpt-corrupted');
    cpSync(gpt, broken, { recursive: true });
    const w = join(broken, 'checkpoint', 'weights.bin');
    const buf = readFileSync(w); buf[10] ^= 1; writeFileSync(w, buf);
    expectUserError(run('eval', broken, '--data', corpus), /weights\.bin is corrupted or truncated/);
  }, 180_000);
});
