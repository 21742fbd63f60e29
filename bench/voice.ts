// The acoustic model measured (a benchmark: prints figures, asserts nothing):
//   npm run bench:voice -- RUN_OR_MODEL [--n 300] [--beam 8] [--no-festival] [--no-flite] [--write-eval]
// Held-out templates spoken in held-out espeak-ng accents and variants, and the same sentences by
// festival (apt-get install festival festvox-kallpc16k) and by flite's slt voice, which training never
// uses (apt-get install flite): word error rate, exact attribute match of
// the parsed transcript, per attribute; ms per prompt. --write-eval writes RUN/eval.json for `genlab export`.
import { join } from 'node:path';
import { ATTRIBUTE_NAMES } from '../src/data/clips/world.js';
import { scoreAcoustic, type VoiceScores } from '../src/eval/voice.js';
import { loadAcoustic } from '../src/pipelines/transcribe.js';
import { initBackend } from '../src/tensor/backend.js';
import { writeFileAtomic } from '../src/util/files.js';

const args = process.argv.slice(2);
const flag = (k: string, d: number) => { const i = args.indexOf(k); return i >= 0 ? Number(args[i + 1]) : d; };
const n = flag('--n', 300), beam = flag('--beam', 8), writeEval = args.includes('--write-eval'), withFestival = !args.includes('--no-festival'), withFlite = !args.includes('--no-flite');
const dir = args.find((a, i) => !a.startsWith('--') && !['--n', '--beam'].includes(args[i - 1] ?? ''));
if (!dir) { process.stderr.write('usage: npm run bench:voice -- DIR [--n 300] [--beam 8] [--no-festival] [--no-flite] [--write-eval]\n'); process.exit(2); }
await initBackend();
const a = loadAcoustic(dir), s = scoreAcoustic(a, n, beam, withFestival, 4242, withFlite);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`| acoustic model | speech | utterances | WER | exact | ${ATTRIBUTE_NAMES.join(' | ')} | ms/prompt |`);
console.log(`|---|---|---|---|---|${ATTRIBUTE_NAMES.map(() => '---').join('|')}|---|`);
const row = (what: string, v: VoiceScores) => console.log(`| ${dir} (step ${a.step}, beam ${beam}) | ${what} | ${v.utterances} | ${pct(v.wer)} | ${pct(v.exact)} | ${ATTRIBUTE_NAMES.map((k) => pct(v.perAttribute[k])).join(' | ')} | ${v.msPerPrompt.toFixed(0)} |`);
row('espeak-ng, held-out voices', s.espeak);
if (s.festival) row('festival (never heard)', s.festival);
if (s.flite) row('flite slt (a voice never heard)', s.flite);
row('espeak-ng, training voices', s.trainingVoices);
for (const e of [...s.espeak.examples, ...(s.festival?.examples ?? []), ...(s.flite?.examples ?? [])]) console.log(`  said "${e.said}"  heard "${e.heard}"`);
if (writeEval) writeFileAtomic(join(dir, 'eval.json'), Buffer.from(JSON.stringify({ family: 'voice', step: a.step, beam, ...s, command: `npm run bench:voice -- ${args.join(' ')}` }, null, 2) + '\n'));
a.model.dispose();
