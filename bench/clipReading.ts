// What a clip generator reads in the words (a benchmark: prints figures, asserts nothing):
//   npm run bench:clip-reading -- CHECKPOINT_DIR [CHECKPOINT_DIR...] [--n 800]
// The text encoder's five heads read hard (the argmax `generate` conditions on), against the
// attributes asked, on n prompts in the evaluation templates (eval-clips' prompts, seeds 1, 2, ...:
// the 40 digit-direction pairs in turn, a quarter held out) and n in the training templates:
// exact reading, overall, on held-out pairs and on seen pairs. No clip is made.
import { parseText, resolveText } from '../src/data/clips/words.js';
import { caption } from '../src/data/clips/captions.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, type ObjectAttributes } from '../src/data/clips/world.js';
import { evalPrompts } from '../src/eval/clips.js';
import { loadCheckpoint, resolveCheckpointDir } from '../src/checkpoint/checkpoint.js';
import { clipGeneratorFrom } from '../src/pipelines/clipEngine.js';
import { greedyReading, type ReadingGenerator } from '../src/rl/clipReading.js';
import { initBackend } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';

const args = process.argv.slice(2);
const ni = args.indexOf('--n'), n = ni >= 0 ? Number(args[ni + 1]) : 800;
const dirs = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--n');
if (!dirs.length || !(n >= 40)) { process.stderr.write('usage: npm run bench:clip-reading -- CHECKPOINT_DIR [...] [--n 800]\n'); process.exit(2); }
await initBackend();

const evalSet = Array.from({ length: Math.ceil(n / 100) }, (_, s) => evalPrompts(100, s + 1)).flat().slice(0, n);
const trainRng = new Rng(77);
const trainSet = evalSet.map((p) => ({ ...p, text: caption(p.asked, trainRng, 'train') }));
const encoderText = (t: string) => resolveText(parseText(t), 0).encoderText;

function score(m: ReadingGenerator, set: { text: string; asked: ObjectAttributes; heldOut: boolean }[]): { exact: number; heldOut: number; seen: number } {
  let ok = 0, okH = 0, nH = 0;
  for (let i = 0; i < set.length; i += 64) {
    const part = set.slice(i, i + 64), r = greedyReading(m, part.map((p) => encoderText(p.text)));
    part.forEach((p, j) => {
      const right = ATTRIBUTE_NAMES.every((k) => (ATTRIBUTE_VALUES[k] as readonly unknown[])[r[k][j]] === p.asked[k]);
      ok += right ? 1 : 0;
      if (p.heldOut) { nH++; okH += right ? 1 : 0; }
    });
  }
  return { exact: ok / set.length, heldOut: okH / nH, seen: (ok - okH) / (set.length - nH) };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`| checkpoint | templates | prompts | exact reading | held-out pairs | seen pairs |`);
console.log('|---|---|---|---|---|---|');
for (const dir of dirs) {
  const ck = loadCheckpoint(resolveCheckpointDir(dir)), g = clipGeneratorFrom(ck.meta, ck.ema ?? ck.weights, dir);
  const m = g.model as ReadingGenerator;
  if (!('text' in m) || !m.params.has('head.digit.w')) { process.stderr.write(`${dir}: this generator does not read the text encoder's heads\n`); process.exit(2); }
  for (const [name, set] of [['evaluation', evalSet], ['training', trainSet]] as const) {
    const s = score(m, set);
    console.log(`| ${dir} | ${name} | ${set.length} | ${pct(s.exact)} | ${pct(s.heldOut)} | ${pct(s.seen)} |`);
  }
  m.dispose();
}
