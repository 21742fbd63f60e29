// The summariser measured (a benchmark: prints figures, asserts nothing):
//   npm run bench:summarise -- RUN_OR_MODEL [--n 500] [--write-eval]
// Held-out chatty descriptions: exact attribute match of the parsed summary, beside the parser
// alone on the raw text; the same on the descriptions with second thoughts or negations.
import { join } from 'node:path';
import { scoreSummariser } from '../src/eval/summarise.js';
import { loadSummariser } from '../src/pipelines/summarise.js';
import { initBackend } from '../src/tensor/backend.js';
import { writeFileAtomic } from '../src/util/files.js';

const args = process.argv.slice(2);
const flag = (k: string, d: number) => { const i = args.indexOf(k); return i >= 0 ? Number(args[i + 1]) : d; };
const n = flag('--n', 500), writeEval = args.includes('--write-eval');
const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--n');
if (!dir) { process.stderr.write('usage: npm run bench:summarise -- DIR [--n 500] [--write-eval]\n'); process.exit(2); }
await initBackend();
const s = loadSummariser(dir), r = scoreSummariser(s, n);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log('| reader | descriptions | exact | with second thoughts or negations | ms/description |');
console.log('|---|---|---|---|---|');
console.log(`| summariser ${dir} (step ${s.step}), then the parser | ${r.descriptions} | ${pct(r.exact)} | ${pct(r.withCorrections.exact)} (${r.withCorrections.n}) | ${r.msPerDescription.toFixed(1)} |`);
console.log(`| the parser alone | ${r.descriptions} | ${pct(r.parserAlone)} | ${pct(r.withCorrections.parserAlone)} (${r.withCorrections.n}) | |`);
for (const e of r.examples) console.log(`  "${e.text}"\n    -> "${e.summary}"  (wanted: "${e.wanted}")`);
if (writeEval) writeFileAtomic(join(dir, 'eval.json'), Buffer.from(JSON.stringify({ family: 'summariser', step: s.step, ...r, command: `npm run bench:summarise -- ${args.join(' ')}` }, null, 2) + '\n'));
s.model.dispose();
