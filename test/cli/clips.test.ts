// `genlab train clip-diffusion` and `genlab generate` end to end on a tiny run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { gifInfo } from '../../src/media/gif.js';
import { maxAbsDiff } from '../helpers.js';
import { bin, expectUserError, run, workspace } from './fixtures.js';

const tiny = ['--set', 'c1=8', '--set', 'c2=16', '--set', 'textDim=16', '--set', 'tembDim=16', '--set', 'heads=2', '--set', 'textLayers=1', '--set', 'cacheClips=2', '--set', 'batchSize=1', '--set', 'evalBatches=1'];
const ws = workspace('genlab-clips-');
const trained = () => ws.runDir('clipdiff', ['clip-diffusion', '--steps', '2', ...tiny]);

describe('genlab train clip-diffusion', () => {
  it('trains with the shipped frame autoencoder, resumes, and refuses changes a resume cannot take', () => {
    const out = trained();
    expect(existsSync(join(out, 'checkpoint', 'MANIFEST'))).toBe(true);
    const cfg = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8'));
    expect(cfg.family).toBe('clip-diffusion');
    expect(cfg.model.unet).toMatchObject({ c1: 8, c2: 16 });
    expect(cfg.model.latentScale).toBeGreaterThan(0);
    expect(cfg.frameAe).toMatch(/clips-frame-ae/);
    const r = run('train', 'clip-diffusion', '--out', out, '--steps', '3', '--resume', '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')).step).toBe(3);
    expectUserError(run('train', 'clip-diffusion', '--out', out, '--steps', '4', '--resume', '--set', 'c1=16'), /--resume keeps the model config/);
    expectUserError(run('train', 'clip-diffusion', '--out', out, '--steps', '4', '--resume', '--set', 'cacheClips=3'), /--resume keeps cacheClips/);
    expectUserError(run('train', 'clip-diffusion', '--out', out, '--steps', '4', '--resume', '--frame-ae', 'models/clips-frame-ae'), /keeps the autoencoder/);
    expectUserError(run('train', 'clip-diffusion', '--out', join(ws.dir, 'x'), '--frame-ae', 'models/digits-diffusion', '--steps', '1', ...tiny), /not a frame autoencoder/);
    expectUserError(run('train', 'clip-diffusion', '--out', join(ws.dir, 'y'), '--set', 'c1=12', ...tiny.slice(2)), /multiple of 8/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(ws.dir, 'z'), '--frame-ae', 'models/clips-frame-ae'), /--frame-ae is for clip-diffusion/);
  }, 300_000);

  it('--init starts a new run from a checkpoint\'s weights (its EMA) at step 0, keeping its model config', async () => {
    const src = trained(), out = join(ws.dir, 'from-init');
    const r = run('train', 'clip-diffusion', '--init', src, '--out', out, '--steps', '1', '--seed', '5', '--set', 'cacheClips=2', '--set', 'batchSize=1', '--set', 'evalBatches=1', '--set', 'lr=1e-6', '--quiet');
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8'));
    expect(cfg.step).toBe(1);
    const srcCfg = JSON.parse(readFileSync(join(src, 'checkpoint', 'config.json'), 'utf8'));
    expect(cfg.initFrom).toMatchObject({ dir: src, step: srcCfg.step });
    expect(run('train', 'clip-diffusion', '--out', out, '--resume', '--steps', '2', '--quiet').code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')).initFrom).toMatchObject({ dir: src, step: srcCfg.step }); // kept by a resume
    expect(cfg.model).toEqual(srcCfg.model);
    // its weights are the source's EMA after one step at lr 1e-6, not seed 5's fresh ones
    const { loadCheckpoint } = await import('../../src/checkpoint/checkpoint.js');
    const a = loadCheckpoint(join(src, 'checkpoint')), b = loadCheckpoint(join(out, 'checkpoint'));
    const key = 'unet.out.c.w', ema = (a.ema ?? a.weights)[key].dataSync(), mine = b.weights[key].dataSync();
    let d = 0;
    for (let i = 0; i < ema.length; i++) d = Math.max(d, Math.abs(ema[i] - mine[i]));
    expect(d).toBeLessThan(1e-4);
    expectUserError(run('train', 'clip-diffusion', '--init', src, '--out', join(ws.dir, 'i2'), '--set', 'c1=16'), /--init keeps the model sizes/);
    // what the denoiser outputs may change (an eps checkpoint to v, as for the shipped model)
    expect(srcCfg.model.prediction).toBe('v');
    const other = join(ws.dir, 'to-eps');
    const r2 = run('train', 'clip-diffusion', '--init', src, '--out', other, '--steps', '1', '--set', 'prediction=eps', '--set', 'cacheClips=2', '--set', 'batchSize=1', '--set', 'evalBatches=1', '--quiet');
    expect(r2.code, r2.err).toBe(0);
    expect(JSON.parse(readFileSync(join(other, 'checkpoint', 'config.json'), 'utf8')).model).toEqual({ ...srcCfg.model, prediction: 'eps' });
    // the frame embedding may be added: it starts at zero, the rest is the source's
    const withFrames = join(ws.dir, 'with-frames');
    const r3 = run('train', 'clip-diffusion', '--init', src, '--out', withFrames, '--steps', '1', '--set', 'frameEmbedding=true', '--set', 'cacheClips=2', '--set', 'batchSize=1', '--set', 'evalBatches=1', '--set', 'lr=1e-6', '--quiet');
    expect(r3.code, r3.err).toBe(0);
    expect(JSON.parse(readFileSync(join(withFrames, 'checkpoint', 'config.json'), 'utf8')).model).toEqual({ ...srcCfg.model, unet: { ...srcCfg.model.unet, frameEmbedding: true } });
    const c = loadCheckpoint(join(withFrames, 'checkpoint'));
    expect(Math.max(...Array.from(c.weights['unet.fpos.w'].dataSync(), Math.abs))).toBeLessThan(1e-4);
    expect(run('generate', 'a red 3 moving left', '--checkpoint', withFrames, '--steps', '2', '--out', join(ws.dir, 'frames.png')).code).toBe(0);
    expectUserError(run('train', 'clip-diffusion', '--init', src, '--out', out, '--resume'), /give one of them/);
    expectUserError(run('train', 'clip-diffusion', '--init', join(ws.dir, 'nothing'), '--out', join(ws.dir, 'i3')), /--init: no checkpoint at/);
    expectUserError(run('train', 'clip-diffusion', '--init', 'models/clips-frame-ae', '--out', join(ws.dir, 'i4')), /holds a frame-ae model, not clip-diffusion/);
    expectUserError(run('train', 'gpt', '--data', ws.corpus, '--out', join(ws.dir, 'i5'), '--init', src), /--init is for clip-diffusion/);
  }, 300_000);
});

describe('genlab generate', () => {
  it('writes a 16-frame GIF at 8 fps (or a scaled one) and prints one JSON line; the same seed gives the same file', () => {
    const ck = trained(), a = join(ws.dir, 'a.gif'), b = join(ws.dir, 'b.gif');
    const r = run('generate', 'a big red 3 moving left quickly, sparkling', '--checkpoint', ck, '--steps', '2', '--seed', '7', '--out', a);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep).toMatchObject({ attributes: [{ digit: 3, colour: 'red', direction: 'left', speed: 'fast', size: 'large' }], ignored: ['sparkling'], model: 'diffusion', seed: 7, steps: 2, out: a });
    expect(rep.ms).toBeGreaterThan(0);
    const info = gifInfo(new Uint8Array(readFileSync(a)));
    expect(info).toMatchObject({ width: 64, height: 64, frames: 16 });
    expect(info.delaysMs.reduce((a, d) => a + d, 0)).toBe(2000); // 8 fps: 16 frames in 2 s
    expect(run('generate', 'a big red 3 moving left quickly, sparkling', '--checkpoint', ck, '--steps', '2', '--seed', '7', '--out', b).code).toBe(0);
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    const s = run('generate', 'a 5', '--checkpoint', ck, '--steps', '1', '--scale', '2', '--out', join(ws.dir, 's.gif'));
    expect(s.code, s.err).toBe(0);
    expect(gifInfo(new Uint8Array(readFileSync(join(ws.dir, 's.gif'))))).toMatchObject({ width: 128, height: 128, frames: 16 });
    expect(JSON.parse(s.out).drawn[0]).toHaveProperty('direction');
  }, 300_000);
  it('--prompts FILE --out-dir DIR makes one clip per line in line order; a bad line stops it before any clip', () => {
    const ck = trained(), list = join(ws.dir, 'prompts.txt'), dir = join(ws.dir, 'clips');
    writeFileSync(list, 'a red 3 moving left\n\n  a small blue 4 going up  \ngreen 9\n');
    const r = run('generate', '--prompts', list, '--out-dir', dir, '--checkpoint', ck, '--steps', '1', '--format', 'png');
    expect(r.code, r.err).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['.genlab-clips', '000.png', '001.png', '002.png']);
    expect(run('generate', '--prompts', list, '--out-dir', dir, '--checkpoint', ck, '--steps', '1', '--format', 'png').code).toBe(0); // its own folder again: replaced
    const mine = join(ws.dir, 'mine');
    mkdirSync(mine);
    const users = readFileSync(join(dir, '001.png'));
    writeFileSync(join(mine, '000.png'), users); // the user's own PNG, of the kind generate writes
    expectUserError(run('generate', '--prompts', list, '--out-dir', mine, '--checkpoint', ck, '--steps', '1', '--format', 'png'), /holds files genlab did not make/);
    expect(readFileSync(join(mine, '000.png')).equals(users)).toBe(true);
    expectUserError(run('generate', '--prompts', list, '--out-dir', join(ws.dir, 'never'), '--checkpoint', join(ws.dir, 'nope')), /no such folder/);
    expect(existsSync(join(ws.dir, 'never'))).toBe(false); // nothing made before the checks pass
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.attributes[0].digit)).toEqual([3, 4, 9]);
    const bad = join(ws.dir, 'bad.txt'), dir2 = join(ws.dir, 'clips2');
    writeFileSync(bad, 'a red 3\n\n\na red blue 4\n');
    expectUserError(run('generate', '--prompts', bad, '--out-dir', dir2, '--checkpoint', ck), /line 4: .*two colours.*nothing was generated/);
    expect(existsSync(dir2)).toBe(false);
  }, 300_000);
  it('reads a prompt in French, Spanish or German through the shipped translator, and says what it read', () => {
    const ck = trained(), out = join(ws.dir, 'fr.gif');
    const r = run('generate', 'un petit 3 rouge qui se déplace vers la gauche rapidement', '--checkpoint', ck, '--steps', '2', '--out', out);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.translation).toMatchObject({ from: 'fr' });
    expect(rep.attributes[0]).toEqual({ digit: 3, colour: 'red', size: 'small', direction: 'left', speed: 'fast' });
    expect(r.err).toMatch(/fr prompt read as: /);
    expectUserError(run('generate', 'un 3 rouge', '--from', 'it', '--checkpoint', ck, '--out', join(ws.dir, 'x.gif')), /--from: it is not a language/);
    expectUserError(run('generate', 'eine rote 3', '--translator', join(ws.dir, 'none'), '--checkpoint', ck, '--out', join(ws.dir, 'y.gif')), /in German needs a translator: none at/);
  }, 120_000);
  it('refuses bad input with one line each', () => {
    const ck = trained(), out = join(ws.dir, 'e.gif');
    expectUserError(run('generate', 'a red blue 3', '--checkpoint', ck, '--out', out), /two colours/);
    expectUserError(run('generate', '', '--checkpoint', ck, '--out', out), /empty/);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck), /--out/);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck, '--out', join(ws.dir, 'e.txt')), /\.gif/);
    expectUserError(run('generate', 'a 3', '--model', 'gan', '--checkpoint', join(ws.dir, 'nope'), '--out', out), /no such folder/);
    expectUserError(run('generate', 'a 3', '--model', 'flow', '--out', out), /--model must be one of/);
    expectUserError(run('generate', 'a 3', '--checkpoint', 'models/digits-diffusion', '--out', out), /not a clip/);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck, '--seed', '2147483648', '--out', out), /--seed/);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck, '--guidance', '-2', '--out', out), /guidance/);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck, '--guidance', '0', '--out', out), /guidance must be a number from 1 to 20/);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck, '--format', 'png', '--out', out), /--format is for --prompts/);
    expect(run('generate', 'a 3', '--checkpoint', ck, '--seed', '0x10', '--out', out).code).toBe(2); // plain digits only
    expect(run('generate', 'a 3', '--checkpoint', ck, '--seed', '', '--out', out).code).toBe(2);
    expectUserError(run('generate', 'a 3', '--checkpoint', ck, '--steps', '5000', '--out', out), /steps/);
    expectUserError(run('generate', 'a 3', '--prompts', 'x.txt', '--out-dir', ws.dir), /not both/);
    expect(existsSync(out)).toBe(false);
  }, 300_000);
});

describe('genlab eval-clips', () => {
  it('prints the table beside the true renderer, keeps json, md and png in --report, and never overwrites a file that is not its report', () => {
    const ck = trained(), rep = join(ws.dir, 'rep');
    const r = run('eval-clips', '--checkpoint', ck, '--n', '2', '--steps', '1', '--report', rep, '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\| true renderer \| 2 \| 100\.0% \|/);
    expect(r.out).toMatch(/\| diffusion \(1 step, guidance \d/);
    expect(readdirSync(rep).sort()).toEqual(['clips-eval.json', 'clips-eval.md', 'clips-eval.png']);
    expect(JSON.parse(readFileSync(join(rep, 'clips-eval.json'), 'utf8')).rows).toHaveLength(2);
    expect(run('eval-clips', '--checkpoint', ck, '--n', '1', '--steps', '1', '--report', rep, '--quiet').code).toBe(0); // its own report is replaced
    // a second judge: the same clips judged again; with the same classifier, the same figures
    const j2 = run('eval-clips', '--checkpoint', ck, '--n', '2', '--steps', '1', '--judge2', 'models/digits-classifier', '--quiet');
    expect(j2.code, j2.err).toBe(0);
    const cells = (line: string) => line.split('|').slice(2, -1).map((c) => c.trim());
    const lines = j2.out.trim().split('\n').filter((l) => l.startsWith('| true') || l.startsWith('| diffusion'));
    expect(lines.map((l) => l.split('|')[1].trim().endsWith('judge 2'))).toEqual([false, true, false, true]);
    // the judge-2 rows measure no FD (it is the first judge's classifier's features): compare the rest
    const head = cells(j2.out.split('\n')[0]), ms = head.indexOf('ms/clip'), fd = head.indexOf('FD'), noMs = (l: string) => cells(l).filter((_, i) => i !== ms && i !== fd);
    expect(ms).toBeGreaterThan(0);
    expect(fd).toBeGreaterThan(0);
    expect(cells(lines[1])[fd]).toBe('n/a');
    expect(Number(cells(lines[2])[fd])).toBeGreaterThan(0);
    for (const k of [0, 2]) expect(noMs(lines[k + 1])).toEqual(noMs(lines[k]));
    // another judge (a classifier trained 2 steps) reads the same true renders otherwise
    const bad = run('eval-clips', '--checkpoint', ck, '--n', '4', '--steps', '1', '--judge2', ws.classifier(), '--quiet');
    expect(bad.code, bad.err).toBe(0);
    const rows2 = bad.out.split('\n').filter((l) => l.startsWith('| true renderer'));
    expect(rows2).toHaveLength(2);
    const digitCol = cells(bad.out.split('\n')[0]).indexOf('digit');
    expect(cells(rows2[1])[digitCol]).not.toBe(cells(rows2[0])[digitCol]);
    expectUserError(run('eval-clips', '--checkpoint', ck, '--n', '1', '--judge2', join(ws.dir, 'nope')), /--judge2: no checkpoint/);
    expectUserError(run('eval-clips', '--checkpoint', ck, '--n', '1', '--judge2', 'models/translate'), /--judge2: /);
    expectUserError(run('eval-clips', '--checkpoint', ck, '--n', '1', '--judge2', 'models/fashion-classifier'), /--judge2: .* not on the MNIST digits/);
    expectUserError(run('eval-clips', '--model', 'gan', '--checkpoint', join(ws.dir, 'nope')), /no clip gan model/);
    expectUserError(run('eval-clips', '--model', 'diffusion,gan', '--checkpoint', ck), /one --model/);
    expectUserError(run('eval-clips', '--model', 'sora'), /unknown generator/);
    writeFileSync(join(ws.dir, 'clips-eval.md'), 'my notes\n');
    expectUserError(run('eval-clips', '--checkpoint', ck, '--n', '1', '--report', ws.dir), /not a genlab clip report/);
    expect(readFileSync(join(ws.dir, 'clips-eval.md'), 'utf8')).toBe('my notes\n');
  }, 300_000);
});

const small = ['--set', 'c1=8', '--set', 'c2=16', '--set', 'embDim=16', '--set', 'zDim=8', '--set', 'cacheClips=2', '--set', 'batchSize=2', '--set', 'evalBatches=1'];

describe('genlab train clip-gan / clip-vae and generate with them', () => {
  for (const kind of ['gan', 'vae'] as const) {
    it(`clip-${kind}: trains on the diffusion run's text encoder, resumes, and generates in one pass`, () => {
      const enc = trained(), out = join(ws.dir, kind);
      // a video diffusion run's encoder has no attribute heads: the VAE and the sprite GAN read its pooled encoding
      const t = run('train', `clip-${kind}`, '--out', out, '--text-encoder', enc, '--steps', '2', ...small, ...(kind === 'vae' ? ['--set', 'cond=pooled'] : ['--set', 'arch=sprite']), '--quiet');
      expect(t.code, t.err).toBe(0);
      const cfg = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8'));
      expect(cfg).toMatchObject({ family: `clip-${kind}`, model: { kind, gen: { c1: 8, c2: 16, arch: 'sprite' } } });
      expect(cfg.model.gen.cond).toBeUndefined(); // the pooled encoding
      if (kind === 'gan') expect(cfg).toMatchObject({ task: { aux: 0 }, train: { steps: 2, emaDecay: 0.999 } });
      const diff = JSON.parse(readFileSync(join(enc, 'checkpoint', 'config.json'), 'utf8'));
      expect(cfg.model.text).toEqual(diff.model.text);
      expect(cfg.model.latentScale).toBe(diff.model.latentScale);
      expect(run('train', `clip-${kind}`, '--out', out, '--steps', '3', '--resume', '--quiet').code).toBe(0);
      expectUserError(run('train', `clip-${kind}`, '--out', out, '--steps', '4', '--resume', '--text-encoder', enc), /keeps the encoder/);
      const clip = join(ws.dir, `${kind}.gif`);
      const g = run('generate', 'a small green 6 moving down quickly', '--model', kind, '--checkpoint', out, '--seed', '3', '--out', clip);
      expect(g.code, g.err).toBe(0);
      expect(JSON.parse(g.out)).toMatchObject({ model: kind, steps: 1, attributes: [{ digit: 6, colour: 'green', direction: 'down', speed: 'fast', size: 'small' }] });
      if (kind === 'gan') { // its export keeps what sampling needs: no discriminator; it generates the same clip
        const x = join(ws.dir, 'gan-export');
        expect(run('export', out, '--out', x, '--precision', 'float32').code).toBe(0);
        const names = (JSON.parse(readFileSync(join(x, 'weights.json'), 'utf8')) as { weights: { name: string }[] }[]).flatMap((gr) => gr.weights.map((w) => w.name));
        expect(names.some((n) => n.startsWith('gen.')) && !names.some((n) => n.startsWith('disc.'))).toBe(true);
        const clip2 = join(ws.dir, 'gan-export.gif');
        expect(run('generate', 'a small green 6 moving down quickly', '--model', kind, '--checkpoint', x, '--seed', '3', '--out', clip2).code).toBe(0);
        expect(readFileSync(clip2).equals(readFileSync(clip))).toBe(true);
      }
      if (kind === 'gan') { // a reader that stops early (| head -n 1) ends the batch quietly, as SIGPIPE would
        const prompts = join(ws.dir, 'p5.txt'), dir = join(ws.dir, 'pipe-out');
        writeFileSync(prompts, 'a red 3\na blue 7\na green 0\na white 8\na yellow 5\n');
        // pipefail: the status is genlab's, not head's
        const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" generate --prompts "${prompts}" --out-dir "${dir}" --model gan --checkpoint "${out}" | head -n 1`], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
      }
      expect(gifInfo(new Uint8Array(readFileSync(clip)))).toMatchObject({ width: 64, height: 64, frames: 16 });
      expectUserError(run('generate', 'a 6', '--model', kind, '--checkpoint', out, '--steps', '5', '--out', clip), /one pass/);
      expectUserError(run('generate', 'a 6', '--model', kind, '--checkpoint', enc, '--out', clip), /not a clip/);
    }, 300_000);
  }
  it('refuses a text encoder that is not a clip-diffusion or clip-text checkpoint, and --text-encoder for other families', () => {
    expectUserError(run('train', 'clip-gan', '--out', join(ws.dir, 'g2'), '--text-encoder', 'models/clips-frame-ae', '--steps', '1'), /not clip-diffusion or clip-text/);
    expectUserError(run('train', 'clip-diffusion', '--out', join(ws.dir, 'g3'), '--text-encoder', 'models/clips-frame-ae', '--steps', '1'), /takes a clip-text checkpoint/);
    expectUserError(run('train', 'frame-ae', '--out', join(ws.dir, 'g4'), '--text-encoder', 'models/clips-frame-ae', '--steps', '1'), /--text-encoder is for clip-diffusion, clip-gan and clip-vae/);
  }, 120_000);
  it('clip-gan --init: a new run from a GAN\'s generator (its EMA) with a fresh discriminator, here with the auxiliary classifier; refusals', async () => {
    const src = join(ws.dir, 'gan-src'), out = join(ws.dir, 'gan-init');
    expect(run('train', 'clip-gan', '--out', src, '--text-encoder', trained(), '--set', 'arch=sprite', '--steps', '2', ...small, '--quiet').code).toBe(0);
    const i = run('train', 'clip-gan', '--init', src, '--out', out, '--steps', '1', '--seed', '7', '--set', 'aux=1', '--set', 'lr=1e-9', '--set', 'batchSize=2', '--set', 'evalBatches=1', '--quiet');
    expect(i.code, i.err).toBe(0);
    const a = loadCheckpoint(join(src, 'checkpoint')), b = loadCheckpoint(join(out, 'checkpoint'));
    expect(b.meta).toMatchObject({ step: 1, task: { aux: 1 }, initFrom: { dir: src, step: 2 }, textEncoder: (a.meta as { textEncoder?: string }).textEncoder });
    expect(b.meta.model).toEqual(a.meta.model);
    for (const k of ['gen.s.out.w', 'gen.path.w']) expect(maxAbsDiff((a.ema ?? a.weights)[k].dataSync(), b.weights[k].dataSync()), k).toBeLessThan(1e-6);
    expect(maxAbsDiff(a.weights['disc.g1.w'].dataSync(), b.weights['disc.g1.w'].dataSync())).toBeGreaterThan(1e-2); // a fresh critic (seed 7's)
    expect(Object.keys(b.weights)).toContain('disc.aux.w');
    expectUserError(run('train', 'clip-gan', '--out', src, '--resume', '--steps', '3', '--set', 'aux=1'), /--resume keeps aux/);
    expectUserError(run('train', 'clip-gan', '--init', src, '--out', join(ws.dir, 'gi2'), '--set', 'c1=16'), /--init keeps the model config/);
    expectUserError(run('train', 'clip-gan', '--init', src, '--out', join(ws.dir, 'gi3'), '--text-encoder', trained()), /keeps the text encoder/);
    expectUserError(run('train', 'clip-gan', '--init', trained(), '--out', join(ws.dir, 'gi4')), /holds a clip-diffusion model, not clip-gan/);
    expectUserError(run('train', 'clip-vae', '--init', src, '--out', join(ws.dir, 'gi5')), /--init is for clip-diffusion and clip-gan/);
    expectUserError(run('train', 'clip-vae', '--out', join(ws.dir, 'gi6'), '--set', 'aux=1', '--steps', '1', ...small), /the auxiliary classifier is the sprite and latent GANs'/);
    for (const d of ['gi2', 'gi3', 'gi4', 'gi5', 'gi6']) expect(existsSync(join(ws.dir, d, 'checkpoint'))).toBe(false);
  }, 180_000);
  it("clip-vae's defaults: the glimpse encoder, the sprite decoder and the prior network, reading the clip-text heads, trained in pixels; it resumes and generates a clip; arch=field trains too", () => {
    const out = join(ws.dir, 'vae-sprite'), clip = join(ws.dir, 'vae-sprite.gif');
    const ct = ws.runDir('cliptext', ['clip-text', '--steps', '3', '--set', 'batchSize=4', '--set', 'evalBatches=1']);
    const t = run('train', 'clip-vae', '--out', out, '--text-encoder', ct, '--steps', '2', ...small, '--quiet');
    expect(t.code, t.err).toBe(0);
    const ck = loadCheckpoint(join(out, 'checkpoint'));
    expect(ck.meta).toMatchObject({ family: 'clip-vae', model: { kind: 'vae', beta: 1e-3, gen: { arch: 'sprite', prior: 'text', cond: 'heads', headScale: 4 } } });
    expectUserError(run('train', 'clip-vae', '--out', join(ws.dir, 'vae-noheads'), '--text-encoder', trained(), '--steps', '1', ...small), /cond=heads reads a clip-text run's attribute heads.*--set cond=pooled/);
    const field = run('train', 'clip-vae', '--out', join(ws.dir, 'vae-field'), '--text-encoder', trained(), '--set', 'arch=field', '--set', 'prior=normal', '--set', 'cond=pooled', '--steps', '1', ...small, '--quiet');
    expect(field.code, field.err).toBe(0);
    const fc = JSON.parse(readFileSync(join(ws.dir, 'vae-field', 'checkpoint', 'config.json'), 'utf8'));
    expect(fc.model.gen.arch ?? 'field').toBe('field');
    expect(fc.model.gen.prior).toBeUndefined();
    expect(Object.keys(ck.weights).some((k) => k.startsWith('enc.g1'))).toBe(true);
    expect(Object.keys(ck.weights)).toContain('gen.prior.w');
    expect(run('train', 'clip-vae', '--out', out, '--resume', '--steps', '3', '--quiet').code).toBe(0);
    expectUserError(run('train', 'clip-gan', '--out', join(ws.dir, 'gan-prior'), '--set', 'prior=text', '--steps', '1', ...small), /prior=text is for the VAE/);
    const g = run('generate', 'a red 3 moving left', '--model', 'vae', '--checkpoint', out, '--out', clip);
    expect(g.code, g.err).toBe(0);
    expect(gifInfo(new Uint8Array(readFileSync(clip)))).toMatchObject({ width: 64, height: 64, frames: 16 });
  }, 120_000);
});

describe('genlab train clip-text, and the generators that read it frozen', () => {
  const textRun = () => ws.runDir('cliptext', ['clip-text', '--steps', '3', '--set', 'batchSize=4', '--set', 'evalBatches=1']);
  it('trains the encoder on captions and resumes; clip-diffusion reads it frozen and keeps it so on resume; clip-gan reads it too', () => {
    const ct = textRun(), cfg = JSON.parse(readFileSync(join(ct, 'checkpoint', 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ family: 'clip-text', step: 3, model: { text: { dim: 96, layers: 2 } } });
    expect(run('train', 'clip-text', '--out', ct, '--resume', '--steps', '4', '--quiet').code).toBe(0);
    const out = join(ws.dir, 'diff-ct'), shape = ['--set', 'c1=8', '--set', 'c2=16', '--set', 'tembDim=16', '--set', 'cacheClips=2', '--set', 'batchSize=1', '--set', 'evalBatches=1'];
    const d = run('train', 'clip-diffusion', '--out', out, '--text-encoder', ct, '--steps', '2', ...shape, '--quiet');
    expect(d.code, d.err).toBe(0);
    const dc = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8'));
    expect(dc).toMatchObject({ task: { freezeText: true }, textEncoder: join(ct, 'checkpoint') });
    const a = loadCheckpoint(join(ct, 'checkpoint')), b = loadCheckpoint(join(out, 'checkpoint'));
    const names = Object.keys(a.weights).filter((k) => k.startsWith('text.'));
    expect(names.length).toBeGreaterThan(10);
    for (const k of names) expect(maxAbsDiff(a.weights[k].dataSync(), b.weights[k].dataSync()), k).toBe(0); // two steps left it as it was
    expectUserError(run('train', 'clip-diffusion', '--out', out, '--resume', '--steps', '3', '--set', 'freezeText=false'), /keeps freezeText/);
    expect(run('train', 'clip-diffusion', '--out', out, '--resume', '--steps', '3', '--quiet').code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8'))).toMatchObject({ step: 3, task: { freezeText: true }, textEncoder: join(ct, 'checkpoint') });
    // a new run --init from it keeps the encoder frozen, unless told not to
    for (const [name, sets, frozen] of [['init-ct', [], true], ['init-ct2', ['--set', 'freezeText=false'], false]] as const) {
      const i = run('train', 'clip-diffusion', '--init', out, '--out', join(ws.dir, name), '--steps', '1', ...sets, '--set', 'cacheClips=2', '--set', 'batchSize=1', '--set', 'evalBatches=1', '--quiet');
      expect(i.code, i.err).toBe(0);
      const ic = JSON.parse(readFileSync(join(ws.dir, name, 'checkpoint', 'config.json'), 'utf8'));
      expect(ic.task.freezeText).toBe(frozen);
      expect(ic.textEncoder).toBe(frozen ? join(ct, 'checkpoint') : undefined);
    }
    // the encoder's shape must be the denoiser's
    expectUserError(run('train', 'clip-diffusion', '--out', join(ws.dir, 'diff-ct2'), '--text-encoder', ct, '--steps', '1', ...tiny), /the denoiser reads/);
    const g = run('train', 'clip-gan', '--out', join(ws.dir, 'gan-ct'), '--text-encoder', ct, '--steps', '2', ...small, '--quiet');
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(readFileSync(join(ws.dir, 'gan-ct', 'checkpoint', 'config.json'), 'utf8'))).toMatchObject({ family: 'clip-gan', model: { gen: { arch: 'latent', cond: 'heads' }, text: cfg.model.text }, textEncoder: join(ct, 'checkpoint'), frameAe: expect.stringMatching(/models[\/]clips-frame-ae$/) });
  }, 300_000);
});

describe('--set cond=heads: a one-pass generator reads the clip-text heads', () => {
  it("keeps the clip-text run's heads frozen in its checkpoint, generates, resumes; refuses a source without heads", () => {
    const ct = ws.runDir('cliptext', ['clip-text', '--steps', '3', '--set', 'batchSize=4', '--set', 'evalBatches=1']), out = join(ws.dir, 'vae-heads');
    const r = run('train', 'clip-vae', '--out', out, '--text-encoder', ct, '--set', 'cond=heads', '--steps', '2', ...small, '--quiet');
    expect(r.code, r.err).toBe(0);
    const a = loadCheckpoint(join(ct, 'checkpoint')), b = loadCheckpoint(join(out, 'checkpoint'));
    const heads = Object.keys(a.weights).filter((k) => k.startsWith('head.'));
    expect(heads.length).toBe(10);
    for (const k of heads) expect(maxAbsDiff(a.weights[k].dataSync(), b.weights[k].dataSync()), k).toBe(0);
    expect(b.meta.model).toMatchObject({ gen: { cond: 'heads', headScale: 4 } });
    expect(run('train', 'clip-vae', '--out', out, '--resume', '--steps', '3', '--quiet').code).toBe(0);
    expectUserError(run('train', 'clip-vae', '--out', out, '--resume', '--steps', '4', '--set', 'cond=pooled'), /--resume keeps the model config/);
    const clip = join(ws.dir, 'heads.gif'), g = run('generate', 'a red 3 moving left', '--model', 'vae', '--checkpoint', out, '--out', clip);
    expect(g.code, g.err).toBe(0);
    expect(gifInfo(new Uint8Array(readFileSync(clip))).frames).toBe(16);
    expectUserError(run('train', 'clip-gan', '--out', join(ws.dir, 'gan-heads'), '--text-encoder', trained(), '--set', 'arch=sprite', '--set', 'cond=heads', '--steps', '1', ...small), /cond=heads reads a clip-text run's attribute heads/);
    expectUserError(run('train', 'clip-vae', '--out', join(ws.dir, 'vae-heads2'), '--set', 'cond=maybe', '--steps', '1', ...small), /cond/);
  }, 300_000);
});

describe('genlab train clip-gan: the latent GAN (the default arch) in sprite diffusion\'s latent', () => {
  it('reads the clip-text heads with the auxiliary classifier by default, trains, resumes, generates in one pass; refuses what it cannot take', () => {
    const ct = ws.runDir('cliptext', ['clip-text', '--steps', '3', '--set', 'batchSize=4', '--set', 'evalBatches=1']), out = join(ws.dir, 'gan-latent');
    const r = run('train', 'clip-gan', '--out', out, '--text-encoder', ct, '--steps', '2', ...small, '--quiet');
    expect(r.code, r.err).toBe(0);
    const ck = loadCheckpoint(join(out, 'checkpoint'));
    expect(ck.meta).toMatchObject({ family: 'clip-gan', step: 2, model: { gen: { arch: 'latent', cond: 'heads', headScale: 4, c1: 8, zDim: 8 } }, task: { aux: 1 }, train: { lr: 2e-4, emaDecay: 0.999 } });
    // the recipe's own widths and batch where the test's small ones are not given
    const d = run('train', 'clip-gan', '--out', join(ws.dir, 'gl1'), '--text-encoder', ct, '--steps', '1', '--set', 'evalBatches=1', '--set', 'batchSize=2', '--quiet');
    expect(d.code, d.err).toBe(0);
    expect(loadCheckpoint(join(ws.dir, 'gl1', 'checkpoint')).meta).toMatchObject({ model: { gen: { c1: 64, c2: 128 } } });
    expect(Object.keys(ck.weights)).toEqual(expect.arrayContaining(['gen.pout.w', 'disc.i.aux.w', 'head.digit.w']));
    expect(run('train', 'clip-gan', '--out', out, '--resume', '--steps', '3', '--quiet').code).toBe(0);
    const clip = join(ws.dir, 'latent.gif'), g = run('generate', 'a red 3 moving left', '--model', 'gan', '--checkpoint', out, '--out', clip);
    expect(g.code, g.err).toBe(0);
    expect(JSON.parse(g.out.trim())).toMatchObject({ model: 'gan' });
    expect(gifInfo(new Uint8Array(readFileSync(clip))).frames).toBe(16);
    // RL on its reading of the words: only the encoder and its heads move; it resumes and generates
    const rlOut = join(ws.dir, 'gan-rl'), rlArgs = ['--set', 'batchSize=4', '--eval-samples', '2', '--quiet'];
    const rl = run('rl', out, '--reward', 'judge', '--out', rlOut, '--steps', '2', ...rlArgs);
    expect(rl.code, rl.err).toBe(0);
    expect(JSON.parse(rl.out.trim().split('\n').pop()!)).toMatchObject({ method: 'reading', before: { prompts: 2 }, after: { prompts: 2 } });
    const src = loadCheckpoint(join(out, 'checkpoint')), tuned = loadCheckpoint(join(rlOut, 'checkpoint')), srcW = src.ema ?? src.weights;
    expect(tuned.meta).toMatchObject({ family: 'clip-gan', step: 2, rl: { method: 'reading', reward: { name: 'judge' }, heldOut: 0.5, temperature: 2 } });
    let moved = 0;
    for (const [k, v] of Object.entries(tuned.weights)) {
      const d = maxAbsDiff(v.dataSync(), srcW[k].dataSync());
      if (k.startsWith('text.') || k.startsWith('head.')) moved = Math.max(moved, d);
      else expect(d, k).toBe(0);
    }
    expect(moved).toBeGreaterThan(0);
    expect(existsSync(join(rlOut, 'rl-eval.json'))).toBe(true);
    expect(run('rl', out, '--out', rlOut, '--resume', '--steps', '3', ...rlArgs).code).toBe(0);
    expect(loadCheckpoint(join(rlOut, 'checkpoint')).meta).toMatchObject({ step: 3, seed: tuned.meta.seed, rl: (tuned.meta as unknown as { rl: object }).rl });
    expect(JSON.parse(readFileSync(join(rlOut, 'rl-eval.json'), 'utf8')).emptyTextKl).toBeGreaterThanOrEqual(0);
    expectUserError(run('rl', out, '--out', rlOut, '--resume', '--steps', '4', '--set', 'temperature=3', ...rlArgs), /--resume keeps the run's settings/);
    expect(run('generate', 'a red 3 moving left', '--model', 'gan', '--checkpoint', rlOut, '--out', join(ws.dir, 'rl.gif')).code).toBe(0);
    expectUserError(run('rl', out, '--reward', 'judge', '--out', join(ws.dir, 'gan-rl2'), '--set', 'method=ddpo', '--steps', '1'), /DDPO fine-tunes a diffusion model's denoising chain/);
    expect(existsSync(join(ws.dir, 'gan-rl2'))).toBe(false);
    expectUserError(run('train', 'clip-gan', '--out', join(ws.dir, 'gl2'), '--text-encoder', ct, '--set', 'arch=latent', '--set', 'cond=pooled', '--steps', '1', ...small), /latent GAN.*reads the clip-text heads.*--set arch=sprite for cond=pooled/);
    expectUserError(run('train', 'clip-vae', '--out', join(ws.dir, 'gl3'), '--text-encoder', ct, '--set', 'arch=latent', '--steps', '1', ...small), /the VAE's kinds are field and sprite/);
    expectUserError(run('train', 'clip-gan', '--out', join(ws.dir, 'gl4'), '--text-encoder', trained(), '--steps', '1', ...small), /latent GAN.*reads a clip-text run's attribute heads.*--set arch=sprite/);
  }, 300_000);
});

describe('genlab train clip-diffusion --set arch=sprite: sprite diffusion on the clip-text heads', () => {
  it('trains with the heads frozen, resumes, generates, fine-tunes by DDPO; refuses what it cannot take', () => {
    const ct = ws.runDir('cliptext', ['clip-text', '--steps', '3', '--set', 'batchSize=4', '--set', 'evalBatches=1']), out = join(ws.dir, 'sprite-diff');
    const small = ['--set', 'batchSize=2', '--set', 'evalBatches=1', '--quiet'];
    const r = run('train', 'clip-diffusion', '--set', 'arch=sprite', '--text-encoder', ct, '--out', out, '--steps', '2', ...small);
    expect(r.code, r.err).toBe(0);
    const a = loadCheckpoint(join(ct, 'checkpoint')), b = loadCheckpoint(join(out, 'checkpoint'));
    const frozen = Object.keys(a.weights).filter((k) => k.startsWith('head.') || k.startsWith('text.'));
    expect(frozen.length).toBeGreaterThan(10);
    for (const k of frozen) expect(maxAbsDiff(a.weights[k].dataSync(), b.weights[k].dataSync()), k).toBe(0);
    expect(b.meta).toMatchObject({ family: 'clip-diffusion', model: { arch: 'sprite', cond: 'factored', reading: 'hard' }, step: 2 });
    expect(run('train', 'clip-diffusion', '--out', out, '--resume', '--steps', '3', '--quiet').code).toBe(0);
    expectUserError(run('train', 'clip-diffusion', '--out', out, '--resume', '--steps', '4', '--set', 'pathHidden=32'), /--resume keeps the model config/);
    const gif = join(ws.dir, 'sprite.gif'), g = run('generate', 'a red 3 moving left', '--checkpoint', out, '--steps', '3', '--out', gif);
    expect(g.code, g.err).toBe(0);
    expect(gifInfo(new Uint8Array(readFileSync(gif))).frames).toBe(16);
    expect(JSON.parse(g.out.trim())).toMatchObject({ model: 'diffusion', steps: 3 });
    const rl = run('rl', out, '--reward', 'judge', '--out', join(ws.dir, 'sprite-rl'), '--steps', '1', '--set', 'batchSize=2', '--set', 'ddimSteps=3', '--eval-samples', '1', '--quiet');
    expect(rl.code, rl.err).toBe(0);
    // or RL on its reading of the words (the encoder and heads), the denoiser frozen
    const rr = run('rl', out, '--reward', 'judge', '--out', join(ws.dir, 'sprite-read'), '--set', 'method=reading', '--steps', '1', '--set', 'batchSize=4', '--eval-samples', '1', '--quiet');
    expect(rr.code, rr.err).toBe(0);
    const sr = loadCheckpoint(join(ws.dir, 'sprite-read', 'checkpoint')), sSrc = loadCheckpoint(join(out, 'checkpoint')), sW = sSrc.ema ?? sSrc.weights;
    expect(sr.meta).toMatchObject({ family: 'clip-diffusion', model: { arch: 'sprite' }, rl: { method: 'reading' } });
    for (const [k, v] of Object.entries(sr.weights)) if (!k.startsWith('text.') && !k.startsWith('head.')) expect(maxAbsDiff(v.dataSync(), sW[k].dataSync()), k).toBe(0);
    // a sprite diffusion checkpoint hands its frozen encoder and heads on to the one-pass generators
    const vae = run('train', 'clip-vae', '--out', join(ws.dir, 'sprite-vae'), '--text-encoder', out, '--set', 'cond=heads', '--steps', '1', ...small);
    expect(vae.code, vae.err).toBe(0);
    const v = loadCheckpoint(join(ws.dir, 'sprite-vae', 'checkpoint'));
    for (const k of frozen) expect(maxAbsDiff(a.weights[k].dataSync(), v.weights[k].dataSync()), k).toBe(0);
    expectUserError(run('train', 'clip-diffusion', '--set', 'arch=sprite', '--out', join(ws.dir, 'sd2'), '--steps', '1'), /give --text-encoder/);
    expectUserError(run('train', 'clip-diffusion', '--set', 'arch=sprite', '--text-encoder', 'models/clips-gan', '--out', join(ws.dir, 'sd3'), '--steps', '1'), /reads a clip-text run's encoder and heads/);
    expectUserError(run('train', 'clip-diffusion', '--set', 'arch=sprite', '--text-encoder', ct, '--frame-ae', 'models/clips-frame-ae', '--out', join(ws.dir, 'sd4'), '--steps', '1'), /without the frame autoencoder/);
    expectUserError(run('train', 'clip-diffusion', '--set', 'arch=sprite', '--text-encoder', ct, '--set', 'c1=16', '--out', join(ws.dir, 'sd5'), '--steps', '1'), /unknown --set key "c1"/);
    for (const d of ['sd2', 'sd3', 'sd4', 'sd5']) expect(existsSync(join(ws.dir, d))).toBe(false);
  }, 600_000);
});

describe('genlab rl on a clip diffusion model (DDPO toward the judge)', () => {
  it('fine-tunes a few steps, resumes, measures before and after, and refuses what does not fit', () => {
    const src = trained(), out = join(ws.dir, 'rl-clips');
    const args = ['--set', 'batchSize=2', '--set', 'ddimSteps=3', '--eval-samples', '2', '--quiet'];
    const r = run('rl', src, '--reward', 'judge', '--out', out, '--steps', '2', ...args);
    expect(r.code, r.err).toBe(0);
    const line = JSON.parse(r.out.trim().split('\n').pop()!) as { before: { prompts: number; reward: number }; after: { reward: number } };
    expect(line.before.prompts).toBe(2);
    for (const m of [line.before, line.after]) expect(m.reward).toBeGreaterThanOrEqual(0);
    const cfg = JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')) as { family: string; step: number; rl: { reward: { name: string }; ddimSteps: number }; schedule: unknown };
    expect([cfg.family, cfg.step, cfg.rl.reward.name, cfg.rl.ddimSteps]).toEqual(['clip-diffusion', 2, 'judge', 3]);
    expectUserError(run('rl', src, '--reward', 'judge', '--out', join(ws.dir, 'rl-read-x'), '--set', 'method=reading', '--steps', '1'), /does not read the text encoder's heads one-hot/);
    expectUserError(run('rl', src, '--reward', 'judge', '--out', join(ws.dir, 'rl-read-y'), '--set', 'method=best', '--steps', '1'), /method must be ddpo or reading/);
    for (const d of ['rl-read-x', 'rl-read-y']) expect(existsSync(join(ws.dir, d))).toBe(false);
    expect(cfg.schedule).toBeDefined();
    expect(existsSync(join(out, 'rl-eval.json'))).toBe(true);
    const again = run('rl', src, '--out', out, '--steps', '3', '--resume', '--eval-samples', '1', '--quiet');
    expect(again.code, again.err).toBe(0);
    expect((JSON.parse(readFileSync(join(out, 'checkpoint', 'config.json'), 'utf8')) as { step: number }).step).toBe(3);
    // the fine-tuned run generates as any clip checkpoint does
    const gif = join(ws.dir, 'rl.gif');
    expect(run('generate', 'a red 3 moving left', '--checkpoint', out, '--steps', '2', '--out', gif).code).toBe(0);
    expect(gifInfo(readFileSync(gif)).frames).toBe(16);
    expectUserError(run('rl', src, '--reward', 'rhyme', '--out', join(ws.dir, 'rl2')), /its reward is judge/);
    expectUserError(run('rl', src, '--reward', 'judge', '--out', join(ws.dir, 'rl3'), '--tokens', '5'), /--tokens is for text models/);
    expectUserError(run('rl', src, '--out', out, '--resume', '--set', 'eta=0.5'), /--resume keeps the run's DDPO settings/);
    expectUserError(run('rl', src, '--out', out, '--resume', '--kl', '0.3'), /keeps the run's --kl/);
    expectUserError(run('rl', src, '--out', out, '--resume', '--classifier', 'models/fashion-classifier'), /keeps the run's judge/);
    expectUserError(run('rl', src, '--reward', 'judge', '--out', join(ws.dir, 'rl4'), '--set', 'batchSize=3'), /not a multiple of perPrompt 2/);
    expectUserError(run('rl', src, '--reward', 'judge', '--out', join(ws.dir, 'rl5'), '--set', 'eta=0'), /eta/);
    expectUserError(run('rl', ws.gpt(), '--reward', 'judge', '--out', join(ws.dir, 'rl6')), /judge is for a clip generator/);
  }, 600_000);
});
