import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { loadImageData } from '../data/mnist.js';
import { evaluateImages, reportMarkdown } from '../eval/images.js';
import { prepareOutputDir, writeFileAtomic } from '../util/files.js';
import { accuracy, type Classifier } from '../models/classifier.js';
import type { Vae } from '../models/vae.js';
import { loadImageModel, vaeNll, type Generator, type LoadedImageModel } from '../pipelines/images.js';
import { disposeLoaded, loadTextModel } from '../pipelines/text.js';
import { disposeMap, loadCheckpoint, readCheckpointMeta, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { evaluateFrameAe } from '../eval/frameAe.js';
import { FrameAe, savedFrameAeConfig } from '../models/frameAe.js';
import { evaluateText } from '../models/textLoss.js';
import { action, int, num, setup } from './common.js';
import { GENERATORS } from './sample.js';
import { loadCorpus } from './textData.js';

interface EvalFlags {
  data?: string; split: string; dropUnknown?: boolean; ema?: boolean; k: number; images: number;
  classifier?: string; n: number; steps?: number; guidance?: number; seed: number; temperature?: number; nllOnly?: boolean; report?: string;
}

/** The shipped classifier for a dataset the project knows (models/<data>-classifier). */
function defaultClassifier(data: string): string | undefined {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
  const dir = join(root, data === 'fashion' ? 'fashion-classifier' : data === 'mnist' ? 'digits-classifier' : '');
  return data === 'mnist' || data === 'fashion' ? (existsSync(dir) ? dir : undefined) : undefined;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model (JSON on stdout): text models on a file; image generators with the digit classifier (Frechet distance, class accuracy; VAE: NLL bound), also written as eval.json and eval.md')
    .argument('<dir>', 'run or checkpoint directory')
    .option('--data <source>', 'text: UTF-8 text file (required); images: mnist, fashion or an IDX directory (default: the training data)')
    .option('--classifier <dir>', 'images: the classifier checkpoint (default: models/digits-classifier for mnist, models/fashion-classifier for fashion)')
    .option('--n <n>', 'images: samples for the Frechet distance and accuracy', int('--n', 2), 1000)
    .option('--steps <n>', "diffusion: DDIM steps (default: the checkpoint's recommended, else 25)", int('--steps', 1))
    .option('--guidance <g>', "diffusion: classifier-free guidance scale (default: the checkpoint's recommended, else 1.75)", num('--guidance'))
    .option('--seed <n>', 'images: seed of the samples', int('--seed', 0), 0)
    .option('--temperature <t>', "gan, vae: standard deviation of the latent draws (default: the checkpoint's recommended, else 1)", num('--temperature'))
    .option('--k <n>', 'vae: importance samples per image (0: no NLL)', int('--k', 0), 100)
    .option('--images <n>', 'vae: held-out images for the NLL bound', int('--images', 1), 1000)
    .option('--nll-only', 'vae: only the NLL bound (no classifier needed)')
    .option('--report <dir>', 'images: where eval.json and eval.md go (default: the run directory)')
    .option('--split <part>', 'text: val (the last 10% of the file, as in training) or all', 'val')
    .option('--drop-unknown', "text: remove characters outside the model's vocabulary instead of failing")
    .option('--ema', 'text: evaluate the EMA weights, when the run kept them')
    .action(action(async (dir: string, o: EvalFlags) => {
      if (o.split !== 'val' && o.split !== 'all') throw new UserError(`--split must be val or all, got "${o.split}"`);
      const family = readCheckpointMeta(resolveCheckpointDir(dir)).family;
      await setup();
      if (family === 'classifier') return evalClassifier(dir, o);
      if (family === 'frame-ae') return evalFrameAe(dir, o);
      if ((GENERATORS as readonly string[]).includes(family)) return evalGenerator(dir, o);
      if (family !== 'gpt' && family !== 'lstm') throw new UserError(`${dir} holds a "${family}" model, which genlab eval does not know`);
      if (!o.data) throw new UserError('--data FILE is required for a text model');
      const data = o.data;
      const loaded = loadTextModel(dir, { ema: o.ema });
      try {
        const corpus = loadCorpus(data, loaded.tokenizer, o.dropUnknown);
        const ids = o.split === 'val' ? corpus.val : corpus.ids;
        const block = loaded.model.config.blockSize as number;
        if (ids.length < block + 1) throw new UserError(`the ${o.split} part of ${data} has ${ids.length} characters, fewer than one window of ${block + 1}`);
        const loss = evaluateText(loaded.model, ids, block, 12);
        if (!Number.isFinite(loss)) throw new UserError(`the loss of ${dir} on ${data} is ${loss}: the model's weights are broken (not finite); use an earlier checkpoint`);
        const out = { loss: Number(loss.toFixed(5)), perplexity: Number(Math.exp(loss).toFixed(4)), unit: 'nats/char', split: o.split, chars: ids.length, dropped: corpus.dropped, step: loaded.checkpoint.meta.step };
        process.stdout.write(JSON.stringify(out) + '\n');
      } finally {
        disposeLoaded(loaded);
      }
    }));
}

/** An eval.json or eval.md that genlab wrote (so it may be replaced by a new evaluation). */
function isOurReport(path: string): boolean {
  try {
    const text = readFileSync(path, 'utf8');
    if (path.endsWith('.md')) return text.startsWith('| measure | value |');
    const j = JSON.parse(text) as { family?: unknown; frechet?: unknown; psnr?: unknown };
    return typeof j.family === 'string' && (typeof j.frechet === 'object' || typeof j.psnr === 'number');
  } catch {
    return false;
  }
}

/**
 * Where eval.json and eval.md go: --report DIR, or beside checkpoint/ in a run directory. Never
 * into a checkpoint itself: a file its MANIFEST lists would change and the checkpoint would no
 * longer load (undefined: do not write).
 */
function reportDirFor(dir: string, report: string | undefined): string | undefined {
  if (report !== undefined) {
    prepareOutputDir(report, { flag: '--report', allowRunDir: true });
    for (const f of ['eval.json', 'eval.md']) {
      const p = join(report, f);
      if (existsSync(p) && !isOurReport(p)) throw new UserError(`--report ${report}: ${f} there is not a genlab evaluation report; genlab will not overwrite it (choose another folder)`);
    }
    return report;
  }
  return resolveCheckpointDir(dir) === dir ? undefined : dir;
}

function evalFrameAe(dir: string, o: EvalFlags): void {
  const ck = loadCheckpoint(resolveCheckpointDir(dir));
  disposeMap(ck.optimizer); disposeMap(ck.ema);
  const ae = new FrameAe(savedFrameAeConfig(ck.meta.model), new Map(Object.entries(ck.weights)));
  const clfDir = o.classifier ?? defaultClassifier('mnist');
  if (!clfDir) throw new UserError('no digit classifier: pass --classifier DIR');
  const clf = loadImageModel(clfDir, ['classifier']);
  try {
    const reportDir = reportDirFor(dir, o.report);
    const r = evaluateFrameAe(ae, clf.model as Classifier, loadImageData('mnist').test, { n: o.n, seed: o.seed });
    const report = { family: 'frame-ae', checkpoint: resolveCheckpointDir(dir), step: ck.meta.step, ...r, command: ['genlab', ...process.argv.slice(2)].join(' ') };
    if (reportDir) writeFileAtomic(join(reportDir, 'eval.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
    else process.stderr.write(`note: ${dir} is a checkpoint, so eval.json was not written into it; pass --report DIR to keep it\n`);
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    ae.dispose(); clf.model.dispose();
  }
}

function evalClassifier(dir: string, o: EvalFlags): void {
  const l = loadImageModel(dir, ['classifier']);
  try {
    const { test, source } = loadImageData(o.data ?? l.data);
    const acc = accuracy(l.model as Classifier, test);
    process.stdout.write(JSON.stringify({ heldOutAccuracy: Number(acc.toFixed(4)), images: test.n, data: source }) + '\n');
  } finally {
    l.model.dispose();
  }
}

function evalGenerator(dir: string, o: EvalFlags): void {
  const gen = loadImageModel(dir, GENERATORS) as LoadedImageModel<Generator>;
  let clf: LoadedImageModel | undefined;
  try {
    const dataSpec = o.data ?? gen.data;
    const { train, test, source } = loadImageData(dataSpec);
    if (o.nllOnly) {
      if (gen.family !== 'vae') throw new UserError('--nll-only is for a VAE');
      const t0 = performance.now();
      const nll = vaeNll(gen as LoadedImageModel<Vae>, test, o.k || 100, o.images);
      process.stdout.write(JSON.stringify({ nll: Number(nll.toFixed(3)), unit: 'nats per image (importance-weighted bound)', k: o.k || 100, images: Math.min(o.images, test.n), data: source, seconds: Math.round((performance.now() - t0) / 100) / 10 }) + '\n');
      return;
    }
    const clfDir = o.classifier ?? defaultClassifier(dataSpec);
    if (!clfDir) throw new UserError(`no classifier for ${dataSpec}: train one with "genlab train classifier --data ${dataSpec} --out DIR" and pass --classifier DIR`);
    clf = loadImageModel(clfDir, ['classifier']);
    if (clf.image.height !== gen.image.height || clf.image.width !== gen.image.width || clf.image.classes !== train.classes) {
      throw new UserError(`the classifier in ${clfDir} takes ${clf.image.height}x${clf.image.width} images of ${clf.image.classes} classes; ${dir} makes ${gen.image.height}x${gen.image.width} images of ${train.classes} classes`);
    }
    const reportDir = reportDirFor(dir, o.report);
    const r = evaluateImages(gen, clf as LoadedImageModel<Classifier>, train, test, { n: o.n, steps: o.steps, guidance: o.guidance, seed: o.seed, temperature: o.temperature, k: gen.family === 'vae' ? o.k : 0 });
    const json = JSON.stringify({ ...r, data: source, command: ['genlab', ...process.argv.slice(2)].join(' ') }, null, 2) + '\n';
    if (reportDir) {
      writeFileAtomic(join(reportDir, 'eval.json'), Buffer.from(json));
      writeFileAtomic(join(reportDir, 'eval.md'), Buffer.from(reportMarkdown(r)));
    } else process.stderr.write(`note: ${dir} is a checkpoint (its files are under its MANIFEST), so eval.json and eval.md were not written into it; pass --report DIR to keep them\n`);
    process.stderr.write(reportMarkdown(r));
    process.stdout.write(JSON.stringify({ ...r, data: source }) + '\n');
  } finally {
    gen.model.dispose();
    clf?.model.dispose();
  }
}
