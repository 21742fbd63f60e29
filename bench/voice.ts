// The acoustic model measured (a benchmark: prints figures, asserts nothing):
//   npm run bench:voice -- RUN_OR_MODEL [--n 300] [--beam 16] [--unsaid 1] [--no-grammar] [--no-festival] [--no-flite] [--write-eval]
// Held-out templates spoken in held-out espeak-ng accents and variants, and the same sentences by
// festival (apt-get install festival festvox-kallpc16k) and by flite's slt voice, which training never
// uses (apt-get install flite): word error rate, exact attribute match of
// the parsed transcript, per attribute; ms per prompt; and prompts that leave attributes unsaid (how
// often the decoder invents one). The decoding defaults are `genlab transcribe`'s (DEFAULT_DECODE).
// --write-eval writes RUN/eval.json for `genlab export`.
import { join } from 'node:path';
import { ATTRIBUTE_NAMES } from '../src/data/clips/world.js';
import { scoreAcoustic, type VoiceScores } from '../src/eval/voice.js';
import { DEFAULT_DECODE, loadAcoustic, type DecodeOptions } from '../src/pipelines/transcribe.js';
import { initBackend } from '../src/tensor/backend.js';
import { writeFileAtomic } from '../src/util/files.js';

const args = process.argv.slice(2);
const flag = (k: string, d: number) => { const i = args.indexOf(k); return i >= 0 ? Number(args[i + 1]) : d; };
const n = flag('--n', 300), writeEval = args.includes('--write-eval'), withFestival = !args.includes('--no-festival'), withFlite = !args.includes('--no-flite');
const decode: DecodeOptions = { beam: flag('--beam', DEFAULT_DECODE.beam), unsaid: flag('--unsaid', DEFAULT_DECODE.unsaid), grammar: !args.includes('--no-grammar') };
const dir = args.find((a, i) => !a.startsWith('--') && !['--n', '--beam', '--unsaid'].includes(args[i - 1] ?? ''));
if (!dir) { process.stderr.write('usage: npm run bench:voice -- DIR [--n 300] [--beam 16] [--unsaid 1] [--no-grammar] [--no-festival] [--no-flite] [--write-eval]\n'); process.exit(2); }
await initBackend();
const a = loadAcoustic(dir), s = scoreAcoustic(a, n, decode, withFestival, 4242, withFlite);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`| acoustic model | decoding | speech | utterances | WER | exact | ${ATTRIBUTE_NAMES.join(' | ')} | invented | ms/prompt |`);
console.log(`|---|---|---|---|---|---|${ATTRIBUTE_NAMES.map(() => '---').join('|')}|---|---|`);
const how = `beam ${decode.beam}, ${decode.grammar ? `grammar, unsaid ${decode.unsaid}` : 'no grammar'}`;
const row = (what: string, v: VoiceScores) => console.log(`| ${dir} (step ${a.step}) | ${how} | ${what} | ${v.utterances} | ${pct(v.wer)} | ${pct(v.exact)} | ${ATTRIBUTE_NAMES.map((k) => pct(v.perAttribute[k])).join(' | ')} | ${pct(v.invented)} | ${v.msPerPrompt.toFixed(0)} |`);
row('espeak-ng, held-out voices', s.espeak);
row('espeak-ng, held-out voices, 1-3 attributes unsaid', s.partial);
if (s.festival) row('festival (never heard)', s.festival);
if (s.flite) row('flite slt (a voice never heard)', s.flite);
row('espeak-ng, training voices', s.trainingVoices);
for (const e of [...s.espeak.examples, ...(s.festival?.examples ?? []), ...(s.flite?.examples ?? [])]) console.log(`  said "${e.said}"  heard "${e.heard}"`);
if (writeEval) writeFileAtomic(join(dir, 'eval.json'), Buffer.from(JSON.stringify({ family: 'voice', step: a.step, decode, ...s, command: `npm run bench:voice -- ${args.join(' ')}` }, null, 2) + '\n'));
a.model.dispose();
