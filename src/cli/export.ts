// `genlab export RUN --out DIR`: a checkpoint for shipping: only what sampling needs (a diffusion
// run's EMA weights; no optimizer state), half precision by default, with the run's provenance
// (training command, seed, time) and its evaluation (RUN/eval.json) in config.json, so that the
// MANIFEST's sha256 sums cover them.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { isImageFamily, samplesFromEma } from '../models/images.js';

/** Whether the family's loader samples with a run's EMA: the image models of samplesFromEma, the clip generators (clipEngine) and those loadInferenceWeights reads (captioner, voice, summariser); translators and text models sample raw. */
function readsEma(family: string): boolean {
  if (isImageFamily(family)) return samplesFromEma(family);
  return family.startsWith('clip-') || family === 'captioner' || family === 'voice' || family === 'summariser';
}
import { disposeMap, loadCheckpoint, readCheckpointMeta, resolveCheckpointDir, saveCheckpoint, type SamplingDefaults } from '../checkpoint/checkpoint.js';
import type { ImageEvalReport } from '../eval/images.js';
import { enclosingCheckpoint, overlaps } from '../util/files.js';
import { action, commandLine, setup } from './common.js';

/**
 * --out may be a new or empty folder, or an earlier export (replaced atomically); never the run or
 * checkpoint being exported (nor a folder inside or around it), never a folder of other files.
 */
function checkExportTarget(out: string, run: string, input: string): void {
  for (const p of [run, input]) if (overlaps(out, p)) throw new UserError(`--out ${out} overlaps the input ${p}; an export goes to a folder of its own`);
  const ck = enclosingCheckpoint(dirname(resolve(out)));
  if (ck) throw new UserError(`--out ${out} is inside a genlab checkpoint (${ck}); choose another folder`);
  if (!existsSync(out)) {
    const parent = dirname(resolve(out));
    if (existsSync(parent) && !statSync(parent).isDirectory()) throw new UserError(`--out ${out}: ${dirname(out)} is a file, not a folder`);
    return;
  }
  if (!statSync(out).isDirectory()) throw new UserError(`--out ${out} is a file; an export is a folder`);
  if (readdirSync(out).length === 0) return;
  let earlier: ReturnType<typeof readCheckpointMeta> | undefined;
  try {
    earlier = readCheckpointMeta(out);
  } catch {
    earlier = undefined;
  }
  if (!earlier?.exported) throw new UserError(`--out ${out} is a folder with other files in it (not an earlier genlab export); genlab will not replace it: choose a new folder`);
  const family = readCheckpointMeta(input).family;
  if (earlier.family !== family) throw new UserError(`--out ${out} holds an export of a ${earlier.family} model; genlab will not replace it with a ${family}: choose a new folder (or remove it first)`);
}

/** The sampling settings an evaluation measured, with its figures: what the exported checkpoint recommends. */
export function recommendedSampling(evaluation: unknown): SamplingDefaults | undefined {
  const clips = evaluation as { command?: string; prompts?: number; rows?: { name: string; steps?: number; guidance?: number; m: { exact: number; perAttribute: Record<string, number> } }[] } | undefined;
  const gen = clips?.rows?.find((r) => r.steps !== undefined && r.steps > 1 && r.guidance !== undefined);
  if (gen) {
    const pa = gen.m.perAttribute, pct = (v: number) => `${(v * 100).toFixed(1)}%`;
    const chosenBy = `${clips!.command ?? 'genlab eval-clips'}: exact ${pct(gen.m.exact)}, digit ${pct(pa.digit)}, colour ${pct(pa.colour)}, direction ${pct(pa.direction)}, speed ${pct(pa.speed)}, size ${pct(pa.size)} on ${clips!.prompts} prompts`;
    return { steps: gen.steps, guidance: gen.guidance, scheduler: 'ddim', chosenBy };
  }
  const e = evaluation as Partial<ImageEvalReport> & { command?: string } | undefined;
  if (!e || !e.frechet) return undefined;
  const figures = [`FD ${e.frechet.ratio.toFixed(2)}x the floor`, e.conditionalAccuracy !== undefined ? `${(e.conditionalAccuracy * 100).toFixed(1)}% class accuracy` : '', e.minClassShare !== undefined ? `smallest class share ${(e.minClassShare * 100).toFixed(1)}%` : ''].filter(Boolean).join(', ');
  const chosenBy = `${e.command ?? 'genlab eval'}: ${figures}`;
  if (e.sampler) return { steps: e.sampler.steps, guidance: e.sampler.guidance, scheduler: e.sampler.scheduler === 'ddpm' ? 'ddpm' : 'ddim', chosenBy };
  return { temperature: e.temperature ?? 1, chosenBy };
}

/** The command that writes a run's eval.json (or clips-eval.json) for its family, where one does: genlab eval knows only some families. */
export function evalCommand(family: string, run: string): string | undefined {
  const bench: Record<string, string> = { voice: 'voice', captioner: 'caption', summariser: 'summarise', translator: 'translate' };
  if (bench[family]) return `npm run bench:${bench[family]} -- ${run} --write-eval`;
  if (['clip-diffusion', 'clip-gan', 'clip-vae'].includes(family)) return `genlab eval-clips --model ${family.slice(5)} --checkpoint ${run} --report ${run}`;
  if (['gpt', 'lstm', 'classifier', 'frame-ae', 'diffusion', 'gan', 'vae'].includes(family)) return `genlab eval ${run}`;
  return undefined;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a run as a small checkpoint for shipping or serving: sampling weights only (EMA for diffusion), float16, with its training command, seed, time and evaluation')
    .argument('<run>', "run directory (with checkpoint/ and, ideally, eval.json from genlab eval or the family's bench)")
    .requiredOption('--out <dir>', 'the new checkpoint directory')
    .option('--precision <p>', 'float16 (half the size) or float32', 'float16')
    .action(action(async (run: string, o: { out: string; precision: string }) => {
      if (o.precision !== 'float16' && o.precision !== 'float32') throw new UserError(`--precision must be float16 or float32, got "${o.precision}"`);
      const input = resolveCheckpointDir(run);
      checkExportTarget(o.out, run, input);
      await setup();
      const ck = loadCheckpoint(input);
      // genlab eval writes eval.json; genlab eval-clips --report RUN writes clips-eval.json
      const evalPath = [join(run, 'eval.json'), join(run, 'clips-eval.json')].find((p) => existsSync(p)) ?? join(run, 'eval.json');
      // a run's eval.json, else (re-exporting an export) the evaluation it already carries
      let evaluation: unknown = ck.meta.evaluation;
      try {
        if (existsSync(evalPath)) evaluation = JSON.parse(readFileSync(evalPath, 'utf8'));
      } catch (e) {
        throw new UserError(`${evalPath} is not valid JSON (${(e as Error).message})`);
      }
      // the weights the family's loader samples with: the EMA where the run kept one for the families whose loaders read it
      const all = ck.ema && readsEma(ck.meta.family) ? ck.ema : ck.weights;
      // a clip GAN samples without its discriminator (a page that draws drafts fetches less)
      const weights = ck.meta.family === 'clip-gan' ? Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('disc.'))) : all;
      const { rng: _rng, optimizerStep: _o, ...meta } = ck.meta;
      const extraFiles: Record<string, Buffer> = {};
      const md = [join(run, 'eval.md'), join(input, 'eval.md'), join(run, 'clips-eval.md')].find((p) => existsSync(p));
      if (md) extraFiles['eval.md'] = readFileSync(md);
      const png = join(run, 'clips-eval.png');
      if (existsSync(png)) extraFiles['eval.png'] = readFileSync(png);
      const sampling = recommendedSampling(evaluation) ?? ck.meta.sampling;
      try {
        await saveCheckpoint(o.out, {
          meta: { ...meta, evaluation, ...(sampling ? { sampling } : {}), exported: { command: commandLine(), precision: o.precision, weights: all === ck.ema ? 'ema' : 'raw', created: new Date().toISOString() } },
          weights,
        }, { half: o.precision === 'float16', extraFiles });
      } finally {
        disposeMap(ck.weights); disposeMap(ck.optimizer); disposeMap(ck.ema);
      }
      if (!evaluation) {
        const how = evalCommand(ck.meta.family, run);
        process.stderr.write(`note: ${run} has no eval.json, so the export carries no evaluation${how ? `; run "${how}" first to record one` : ''}\n`);
      }
      process.stdout.write(o.out + '\n');
    }));
}
