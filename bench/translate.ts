// The translators compared (a benchmark: prints figures, asserts nothing):
//   npm run bench:translate -- RUN_OR_MODEL [RUN_OR_MODEL ...] [--n 200] [--beam 4] [--write-eval]
// For each checkpoint: per language, on held-out word orders, BLEU-4 and exact attribute match of
// the parsed English, ms per prompt; then exact match on prompts a person wrote
// (bench/human-prompts.json, and a second set written later, human-prompts-2.json). --write-eval writes RUN/eval.json for `genlab export`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LANGUAGES, type Language } from '../src/data/clips/languages.js';
import type { ObjectAttributes } from '../src/data/clips/world.js';
import { heldOutScores, scoreTranslations } from '../src/eval/translate.js';
import { loadTranslator } from '../src/pipelines/translate.js';
import { initBackend } from '../src/tensor/backend.js';
import { writeFileAtomic } from '../src/util/files.js';

const args = process.argv.slice(2);
const flag = (k: string, d: number) => { const i = args.indexOf(k); return i >= 0 ? Number(args[i + 1]) : d; };
const n = flag('--n', 200), beam = flag('--beam', 4), writeEval = args.includes('--write-eval');
const dirs = args.filter((a, i) => !a.startsWith('--') && !['--n', '--beam'].includes(args[i - 1] ?? ''));
if (!dirs.length) { process.stderr.write('usage: npm run bench:translate -- DIR [DIR ...] [--n 200] [--beam 4] [--write-eval]\n'); process.exit(2); }
await initBackend();
type Written = { lang: Language; text: string; named: Partial<ObjectAttributes> };
const written = (f: string) => (JSON.parse(readFileSync(join(import.meta.dirname, f), 'utf8')) as { prompts: Written[] }).prompts;
const human = written('human-prompts.json'), human2 = written('human-prompts-2.json');
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`| model | ${LANGUAGES.map((l) => `${l} BLEU-4 | ${l} exact`).join(' | ')} | ms/prompt | human-written exact (${human.length}) | second set (${human2.length}) |`);
console.log(`|---|${LANGUAGES.map(() => '---|---').join('|')}|---|---|---|`);
for (const dir of dirs) {
  const t = loadTranslator(dir);
  const held = heldOutScores(t.model, n, beam);
  const hs = scoreTranslations(t.model, human.map((h) => ({ source: h.text, named: h.named })), beam);
  const hs2 = scoreTranslations(t.model, human2.map((h) => ({ source: h.text, named: h.named })), beam);
  const ms = LANGUAGES.reduce((s, l) => s + held[l].msPerPrompt, 0) / LANGUAGES.length;
  console.log(`| ${t.model.config.arch} (${dir}, step ${t.step}) | ${LANGUAGES.map((l) => `${(held[l].bleu4 * 100).toFixed(1)} | ${pct(held[l].exact)}`).join(' | ')} | ${ms.toFixed(1)} | ${pct(hs.exact)} | ${pct(hs2.exact)} |`);
  if (process.env.VERBOSE) for (const [set, out] of [[human, hs.outputs], [human2, hs2.outputs]] as const) set.forEach((h, i) => console.error(`${h.lang}: ${h.text} => ${out[i]}`));
  if (writeEval) {
    const report = { family: 'translator', arch: t.model.config.arch, step: t.step, prompts: n, beam, heldOut: held, human: { n: human.length, exact: hs.exact, outputs: hs.outputs }, human2: { n: human2.length, exact: hs2.exact, outputs: hs2.outputs }, command: `npm run bench:translate -- ${args.join(' ')}` };
    writeFileAtomic(join(dir, 'eval.json'), Buffer.from(JSON.stringify(report, null, 2) + '\n'));
  }
  t.model.dispose();
}
