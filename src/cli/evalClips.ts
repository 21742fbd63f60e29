// `genlab eval-clips`: the clip generators side by side on prompts phrased as no training caption
// was, judged from their pixels; the true renderer's clips of the same prompts as the reference.
// The Markdown table goes to stdout; --report DIR keeps clips-eval.json, .md and .png.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ClipFeatures, clipTable, evalPrompts, evaluateClips, type ClipMetrics } from '../eval/clips.js';
import { renderBarChart } from '../eval/plot.js';
import type { Classifier } from '../models/classifier.js';
import { checkGenerateOptions, CLIP_MODELS, generateClip, loadClipGenerator, type ClipModelKind } from '../pipelines/clipEngine.js';
import { renderText } from '../pipelines/clips.js';
import { captionClips, loadCaptioner } from '../pipelines/caption.js';
import { loadImageModel } from '../pipelines/images.js';
import type { ObjectAttributes } from '../data/clips/world.js';
import { UserError } from '../util/errors.js';
import { prepareOutputDir, writeFileAtomic } from '../util/files.js';
import { action, int, num, setup } from './common.js';

const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
const KINDS = CLIP_MODELS;
const REPORT_FILES = ['clips-eval.json', 'clips-eval.md', 'clips-eval.png'];
const COLORS: [number, number, number][] = [[120, 120, 120], [31, 119, 180], [214, 39, 40], [44, 160, 44]];

interface Flags { model: string; checkpoint?: string; n: number; steps?: number; guidance?: number; report?: string; classifier?: string; judge2?: string; captioner?: string; quiet?: boolean }

function isOurReport(path: string): boolean {
  try {
    if (path.endsWith('.png')) return readFileSync(path).subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const text = readFileSync(path, 'utf8');
    return path.endsWith('.md') ? text.startsWith('| model | clips |') : Array.isArray((JSON.parse(text) as { rows?: unknown }).rows);
  } catch {
    return false;
  }
}

export function registerEvalClips(program: Command): void {
  program
    .command('eval-clips')
    .description("compare the clip generators' accuracy (judged from the pixels) on prompts phrased as no training caption was; Markdown table on stdout")
    .option('--model <list>', `comma-separated: ${KINDS.join(', ')} (those with a checkpoint)`, 'diffusion')
    .option('--checkpoint <dir>', 'with one --model: its checkpoint (default: models/clips-<model>)')
    .option('--n <n>', 'prompts (a quarter of them held-out digit-direction pairs)', int('--n', 1), 200)
    .option('--steps <n>', "diffusion: DDIM steps (default: the checkpoint's recommendation)", int('--steps', 1))
    .option('--guidance <g>', "diffusion: guidance scale (default: the checkpoint's recommendation)", num('--guidance'))
    .option('--classifier <dir>', "the judge's digit classifier", join(MODELS_DIR, 'digits-classifier'))
    .option('--judge2 <dir>', "another digit classifier (RL's second judge, one RL never saw): each generator's same clips judged again with it, one more row each (the clips are kept in memory meanwhile: about 0.8 MB each)")
    .option('--captioner <dir>', 'a second judge: the clip captioner whose parsed caption is compared with the prompt, and with the pixel judge (default: models/captions where it exists)')
    .option('--report <dir>', 'also write clips-eval.json, clips-eval.md and clips-eval.png there')
    .option('--quiet', 'no progress output')
    .action(action(async (o: Flags) => {
      const kinds = o.model.split(',').map((s) => s.trim()).filter(Boolean);
      for (const k of kinds) if (!(KINDS as readonly string[]).includes(k)) throw new UserError(`--model: unknown generator "${k}"; choose from ${KINDS.join(', ')}`);
      if (!kinds.length) throw new UserError('--model names no generator');
      if (o.checkpoint !== undefined && kinds.length !== 1) throw new UserError('--checkpoint goes with one --model');
      if (o.n > 10000) throw new UserError('--n must be at most 10000');
      const dirs = kinds.map((k) => o.checkpoint ?? join(MODELS_DIR, `clips-${k}`));
      dirs.forEach((d, i) => { if (!existsSync(d)) throw new UserError(`no clip ${kinds[i]} model at ${d} yet (README: what is not done); train one and pass --checkpoint`); });
      if (!existsSync(o.classifier!)) throw new UserError(`--classifier: no checkpoint at ${o.classifier}`);
      if (o.captioner !== undefined && !existsSync(o.captioner)) throw new UserError(`--captioner: no checkpoint at ${o.captioner}`);
      const captionerDir = o.captioner ?? (existsSync(join(MODELS_DIR, 'captions')) ? join(MODELS_DIR, 'captions') : undefined);
      if (o.report !== undefined) {
        prepareOutputDir(o.report, { flag: '--report' });
        for (const f of REPORT_FILES) if (existsSync(join(o.report, f)) && !isOurReport(join(o.report, f))) throw new UserError(`--report ${o.report}: ${f} there is not a genlab clip report; genlab will not overwrite it`);
      }
      await setup();
      if (o.judge2 !== undefined && !existsSync(o.judge2)) throw new UserError(`--judge2: no checkpoint at ${o.judge2}`);
      const digitJudge = (dir: string, flag: string) => {
        let c: ReturnType<typeof loadImageModel>;
        try { c = loadImageModel(dir, ['classifier']); } catch (e) { throw e instanceof UserError ? new UserError(`${flag}: ${e.message}`) : e; }
        if (c.data !== 'mnist') { c.model.dispose(); throw new UserError(`${flag}: ${dir} was trained on ${c.data}, not on the MNIST digits the clip world draws`); }
        return c.model as Classifier;
      };
      const clf = digitJudge(o.classifier!, '--classifier');
      let clf2: Classifier | undefined;
      try { clf2 = o.judge2 === undefined ? undefined : digitJudge(o.judge2, '--judge2'); } catch (e) { clf.dispose(); throw e; }
      const captioner = captionerDir ? loadCaptioner(captionerDir) : undefined;
      // a clip the second pass finds made is captioned once
      const captioned = new WeakMap<Float32Array, Partial<ObjectAttributes>>();
      const secondJudge = captioner && ((frames: Float32Array) => {
        const kept = captioned.get(frames);
        if (kept) return kept;
        const a = captionClips(captioner, frames, 1, 1)[0].attributes;
        captioned.set(frames, a);
        return a;
      });
      // every generator loads and every option is checked before the first clip is judged
      for (let i = 0; i < kinds.length; i++) {
        const g = loadClipGenerator(dirs[i], kinds[i] as ClipModelKind);
        try { checkGenerateOptions(g, { steps: o.steps, guidance: o.guidance }); } finally { g.model.dispose(); }
      }
      const prompts = evalPrompts(o.n);
      const log = (name: string) => (i: number, n: number) => { if (!o.quiet && (i === n || i % 20 === 0)) process.stderr.write(`${name}: ${i}/${n} clips judged\n`); };
      const rows: { name: string; m: ClipMetrics; checkpoint?: string; steps?: number; guidance?: number }[] = [];
      const truth = async (text: string, seed: number) => renderText(text, { seed }).frames;
      // the Frechet distances' reference: the true clips of the same prompts; its floor, their true clips with other seeds (other digit images and places)
      const truthFeatures = new ClipFeatures(), floorFeatures = new ClipFeatures();
      rows.push({ name: 'true renderer', m: await evaluateClips(truth, clf, prompts, { onClip: log('true renderer'), secondJudge, features: truthFeatures }) });
      for (let i = 0; i < prompts.length; i++) floorFeatures.add(await truth(prompts[i].text, 2_000_000 + i), clf);
      rows[0].m.frechet = floorFeatures.fd(truthFeatures);
      if (clf2) rows.push({ name: 'true renderer, judge 2', m: { ...(await evaluateClips(truth, clf2, prompts, { secondJudge })), msPerClip: rows[0].m.msPerClip } });
      for (let i = 0; i < kinds.length; i++) {
        const g = loadClipGenerator(dirs[i], kinds[i] as ClipModelKind);
        try {
          let last = { steps: 0, guidance: 0 };
          // with a second judge, each clip is made once and judged by both
          const made = new Map<string, Float32Array>();
          const make = async (text: string, seed: number) => {
            const key = `${seed} ${text}`, kept = made.get(key);
            if (kept) return kept;
            const c = await generateClip(g, text, { seed, steps: o.steps, guidance: o.guidance });
            last = { steps: c.report.steps, guidance: c.report.guidance };
            if (clf2) made.set(key, c.frames);
            return c.frames;
          };
          const features = new ClipFeatures();
          const m = await evaluateClips(make, clf, prompts, { onClip: log(kinds[i]), secondJudge, features });
          m.frechet = features.fd(truthFeatures);
          const name = kinds[i] === 'diffusion' ? `diffusion (${last.steps} step${last.steps === 1 ? '' : 's'}, guidance ${last.guidance})` : kinds[i];
          rows.push({ name, m, checkpoint: g.dir, ...last });
          // the time is the first pass's (the second finds its clips made)
          if (clf2) rows.push({ name: `${name}, judge 2`, m: { ...(await evaluateClips(make, clf2, prompts, { secondJudge })), msPerClip: m.msPerClip }, checkpoint: g.dir, ...last });
        } finally {
          g.model.dispose();
        }
      }
      clf.dispose();
      clf2?.dispose();
      captioner?.model.dispose();
      const table = clipTable(rows);
      process.stdout.write(table);
      if (o.report !== undefined) {
        const command = ['genlab', 'eval-clips', ...process.argv.slice(3)].join(' ');
        writeFileAtomic(join(o.report, 'clips-eval.json'), Buffer.from(JSON.stringify({ command, prompts: o.n, rows }, null, 2) + '\n'));
        writeFileAtomic(join(o.report, 'clips-eval.md'), Buffer.from(table));
        const labels = ['digit', 'colour', 'dir', 'speed', 'size', 'exact', 'held-out', 'consist'];
        writeFileAtomic(join(o.report, 'clips-eval.png'), renderBarChart(labels, rows.map((r, k) => ({
          name: r.name.split(' ')[0] + (r.name.endsWith('judge 2') ? ' (j2)' : ''), color: COLORS[k % COLORS.length],
          values: [r.m.perAttribute.digit, r.m.perAttribute.colour, r.m.perAttribute.direction, r.m.perAttribute.speed, r.m.perAttribute.size, r.m.exact, r.m.exactHeldOut, r.m.digitConsistency],
        })), { yMax: 1, width: 760 }));
      }
    }));
}
