// `genlab generate "TEXT" --out FILE` (or `--prompts FILE --out-dir DIR`): clips from words with a
// trained clip generator; one JSON line per clip on stdout. The generator is loaded once.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { detectLanguage, LANGUAGE_NAMES, LANGUAGES, type Language } from '../data/clips/languages.js';
import { parseText } from '../data/clips/words.js';
import { loadTranslator, translatePrompt } from '../pipelines/translate.js';
import { checkClipOutput, CLIP_EXTENSIONS, ffmpegAvailable, writeClip } from '../media/clip.js';
import { checkGenerateOptions, CLIP_MODELS, generateClip, loadClipGenerator, MAX_SEED, type ClipModelKind } from '../pipelines/clipEngine.js';
import { UserError } from '../util/errors.js';
import { prepareOutputDir } from '../util/files.js';
import { action, int, num, setup } from './common.js';

const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
const ALL_KINDS = CLIP_MODELS;

interface GenerateFlags {
  model: string; checkpoint?: string; seed: number; steps?: number; guidance?: number; out?: string; scale: number;
  prompts?: string; outDir?: string; format?: string; from?: string; translator?: string;
}

interface Prompt { text: string; line: number; english?: string; from?: string }

/** The prompts of a --prompts file: one per non-blank line (with its line number). */
function readPrompts(path: string): Prompt[] {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError(`--prompts: no file ${path}`);
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 })).filter((l) => l.text);
  if (!lines.length) throw new UserError(`--prompts: ${path} has no prompts (one description per line)`);
  return lines;
}

/** Every prompt's English (translated where it is in another language) parses, or nothing is generated. */
function checkPrompts(prompts: Prompt[], file: boolean): void {
  const bad = prompts.flatMap((l) => {
    try { parseText(l.english ?? l.text); return []; } catch (e) { return [`${file ? `line ${l.line}: ` : ''}${(e as Error).message}${l.english !== undefined ? ` (the ${l.from} prompt read as "${l.english}")` : ''}`]; }
  });
  if (bad.length && !file) throw new UserError(bad[0]);
  if (bad.length) throw new UserError(`--prompts: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? `; and ${bad.length - 5} more` : ''} (nothing was generated)`);
}

/** Prompts in French, Spanish or German (given by --from, or detected) get their English reading from the translator. */
function translatePrompts(prompts: Prompt[], from: string | undefined, translatorDir: string): void {
  const langs = prompts.map((p) => (from as Language | undefined) ?? detectLanguage(p.text));
  if (langs.every((l) => l === 'en')) return;
  const first = langs.find((l) => l !== 'en') as Language;
  if (!existsSync(translatorDir)) throw new UserError(`a prompt in ${LANGUAGE_NAMES[first]} needs a translator: none at ${translatorDir} (train one: genlab train translator; pass --translator)`);
  const t = loadTranslator(translatorDir);
  try {
    prompts.forEach((p, i) => {
      if (langs[i] === 'en') return;
      const tr = translatePrompt(t, p.text, { from: langs[i] as Language });
      p.english = tr.english; p.from = tr.from;
    });
  } finally {
    t.model.dispose();
  }
}

// an --out-dir genlab made holds this file; a folder of the user's own files is never written into
const MARKER = '.genlab-clips';

/** --out-dir: a new or empty folder, or one an earlier --prompts run made (its clips are replaced). */
function checkOutDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new UserError(`--out-dir ${dir} is a file, not a folder`);
  const entries = readdirSync(dir);
  if (entries.length && !entries.includes(MARKER)) throw new UserError(`--out-dir ${dir} holds files genlab did not make; choose a new or empty folder`);
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('make a clip from a description with a trained clip generator: 16 frames of 64x64 at 8 fps; one JSON line per clip on stdout')
    .argument('[text]', 'the description, e.g. "a big red 3 moving left quickly"')
    .option('--model <kind>', `generator: ${ALL_KINDS.join(' | ')}`, 'diffusion')
    .option('--checkpoint <dir>', 'a clip generator checkpoint (default: models/clips-<model>)')
    .option('--seed <n>', `seed of the noise and of the digit and direction drawn when the text names none (0 to ${MAX_SEED})`, int('--seed', 0), 0)
    .option('--steps <n>', "diffusion: DDIM steps (default: the checkpoint's recommendation)", int('--steps', 1))
    .option('--guidance <g>', "diffusion: classifier-free guidance scale (default: the checkpoint's recommendation)", num('--guidance'))
    .option('--out <file>', '.gif (looping), .png (the frames as a strip) or .mp4 (needs ffmpeg)')
    .option('--scale <k>', 'each pixel k times larger, for viewing', int('--scale', 1), 1)
    .option('--prompts <file>', 'one description per line: one clip each, into --out-dir as 000.gif, 001.gif, ...')
    .option('--out-dir <dir>', 'with --prompts: the folder for the clips')
    .option('--format <ext>', 'with --prompts: gif (default), png or mp4')
    .option('--from <lang>', "the prompts' language when not English: fr, es or de (default: detected)")
    .option('--translator <dir>', 'the translator for prompts in other languages (default: models/translate)')
    .action(action(async (text: string | undefined, o: GenerateFlags) => {
      if (!(ALL_KINDS as readonly string[]).includes(o.model)) throw new UserError(`--model must be one of ${ALL_KINDS.join(', ')}, got "${o.model}"`);
      if (o.seed > MAX_SEED) throw new UserError(`--seed must be at most ${MAX_SEED}`);
      if (o.model !== 'diffusion' && (o.steps !== undefined || o.guidance !== undefined)) throw new UserError(`--steps and --guidance are for the diffusion model; the ${o.model} makes a clip in one pass`);
      const ext = `.${(o.format ?? 'gif').toLowerCase()}`;
      if (o.from !== undefined && !(LANGUAGES as readonly string[]).includes(o.from)) throw new UserError(`--from: ${o.from} is not a language genlab translates; choose ${LANGUAGES.join(', ')} (English needs no --from)`);
      let prompts: Prompt[], outs: string[];
      if (o.prompts !== undefined) {
        if (text !== undefined) throw new UserError('give a description or --prompts FILE, not both');
        if (o.out !== undefined) throw new UserError('--prompts writes into --out-dir; --out is for one description');
        if (o.outDir === undefined) throw new UserError('--prompts needs --out-dir DIR');
        if (!(CLIP_EXTENSIONS as readonly string[]).includes(ext)) throw new UserError(`--format must be gif, png or mp4, got "${o.format}"`);
        prompts = readPrompts(o.prompts);
        if (o.from === undefined) checkPrompts(prompts.filter((p) => detectLanguage(p.text) === 'en'), true);
        checkOutDir(o.outDir);
        outs = prompts.map((_, i) => join(o.outDir!, `${String(i).padStart(3, '0')}${ext}`));
        if (existsSync(o.outDir)) for (const out of outs) checkClipOutput(out, [o.prompts], '--out-dir');
      } else {
        if (text === undefined) throw new UserError('say what to show: genlab generate "a red 3 moving left" --out clip.gif (or --prompts FILE --out-dir DIR)');
        if (o.out === undefined) throw new UserError('--out FILE.gif|FILE.png|FILE.mp4 is required');
        if (o.outDir !== undefined) throw new UserError('--out-dir is for --prompts; one description writes --out');
        if (o.format !== undefined) throw new UserError('--format is for --prompts; with --out the file name says the format');
        if (o.from === undefined && detectLanguage(text) === 'en') parseText(text);
        prompts = [{ text, line: 1 }];
        outs = [o.out];
        checkClipOutput(o.out);
      }
      if (!Number.isInteger(o.scale) || o.scale > 16) throw new UserError(`--scale must be a whole number from 1 to 16, got ${o.scale}`);
      if (outs.some((f) => f.toLowerCase().endsWith('.mp4')) && !ffmpegAvailable()) throw new UserError('MP4 needs ffmpeg, which is not installed (Debian: apt-get install ffmpeg); write a .gif or .png instead');
      const kind = o.model as ClipModelKind;
      const dir = o.checkpoint ?? join(MODELS_DIR, `clips-${kind}`);
      if (!existsSync(dir)) throw new UserError(o.checkpoint ? `--checkpoint: no such folder ${dir}` : `no shipped ${kind} clip model at ${dir} yet (README: what is not done); train one (genlab train clip-${kind}) and pass --checkpoint`);
      await setup();
      translatePrompts(prompts, o.from, o.translator ?? join(MODELS_DIR, 'translate'));
      checkPrompts(prompts, o.prompts !== undefined);
      for (const p of prompts) if (p.english !== undefined) process.stderr.write(`${o.prompts ? `line ${p.line}: ` : ''}${p.from} prompt read as: ${p.english}\n`);
      const g = loadClipGenerator(resolve(dir), kind);
      try {
        checkGenerateOptions(g, { seed: o.seed, steps: o.steps, guidance: o.guidance });
      } catch (e) {
        g.model.dispose();
        throw e;
      }
      if (o.outDir !== undefined) {
        // the folder is made last, once everything is checked
        prepareOutputDir(o.outDir, { flag: '--out-dir', inputs: [o.prompts!] });
        writeFileSync(join(o.outDir, MARKER), 'clips written by genlab generate --prompts\n');
      }
      try {
        for (let i = 0; i < prompts.length; i++) {
          const clip = await generateClip(g, prompts[i].english ?? prompts[i].text, { seed: o.seed, steps: o.steps, guidance: o.guidance });
          writeClip(outs[i], clip.frames, clip.shape, { scale: o.scale, flag: o.outDir !== undefined ? '--out-dir' : '--out' });
          if (clip.report.ignored.length) process.stderr.write(`${o.prompts ? `line ${prompts[i].line}: ` : ''}ignored: ${clip.report.ignored.join(', ')}\n`);
          const translation = prompts[i].english !== undefined ? { translation: { from: prompts[i].from, english: prompts[i].english } } : {};
          process.stdout.write(JSON.stringify({ text: prompts[i].text, ...translation, ...clip.report, out: outs[i] }) + '\n');
        }
      } finally {
        g.model.dispose();
      }
    }));
}
