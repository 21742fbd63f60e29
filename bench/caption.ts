// The clip captioner measured (a benchmark: prints figures, asserts nothing):
//   npm run bench:caption -- RUN_OR_MODEL [--n 500] [--beam 4] [--write-eval]
// On true renders of held-out digit images (the test split) in every digit-direction pair: exact
// attribute match of the parsed caption, per attribute, on the held-out pairs, and BLEU-4 against
// the reference captions; ms per clip. --write-eval writes RUN/eval.json for `genlab export`.
import { join } from 'node:path';
import { ATTRIBUTE_NAMES } from '../src/data/clips/world.js';
import { loadMnistPackage } from '../src/data/mnist.js';
import { scoreCaptioner } from '../src/eval/captions.js';
import { loadCaptioner } from '../src/pipelines/caption.js';
import { initBackend } from '../src/tensor/backend.js';
import { writeFileAtomic } from '../src/util/files.js';

const args = process.argv.slice(2);
const flag = (k: string, d: number) => { const i = args.indexOf(k); return i >= 0 ? Number(args[i + 1]) : d; };
const n = flag('--n', 500), beam = flag('--beam', 4), writeEval = args.includes('--write-eval');
const dir = args.find((a, i) => !a.startsWith('--') && !['--n', '--beam'].includes(args[i - 1] ?? ''));
if (!dir) { process.stderr.write('usage: npm run bench:caption -- DIR [--n 500] [--beam 4] [--write-eval]\n'); process.exit(2); }
await initBackend();
const c = loadCaptioner(dir), s = scoreCaptioner(c, loadMnistPackage().test, n, beam);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`| captioner | clips | ${ATTRIBUTE_NAMES.join(' | ')} | exact | exact, held-out pairs | BLEU-4 | ms/clip |`);
console.log(`|---|---|${ATTRIBUTE_NAMES.map(() => '---').join('|')}|---|---|---|---|`);
console.log(`| ${dir} (step ${c.step}, beam ${beam}) | ${s.clips} | ${ATTRIBUTE_NAMES.map((k) => pct(s.perAttribute[k])).join(' | ')} | ${pct(s.exact)} | ${pct(s.exactHeldOut)} (${s.heldOutClips}) | ${(s.bleu4 * 100).toFixed(1)} | ${s.msPerClip.toFixed(1)} |`);
for (const e of s.examples) console.log(`  "${e.caption}"  (reference: "${e.reference}")`);
if (writeEval) writeFileAtomic(join(dir, 'eval.json'), Buffer.from(JSON.stringify({ family: 'captioner', step: c.step, beam, ...s, command: `npm run bench:caption -- ${args.join(' ')}` }, null, 2) + '\n'));
c.model.dispose();
