// The acoustic model measured (a benchmark: prints figures, asserts nothing):
//   npm run bench:voice -- RUN_OR_MODEL [--n 300] [--seed 4242] [--beam 16] [--unsaid 1] [--no-grammar] [--decode LIST] [--no-festival] [--no-flite] [--no-sox] [--write-eval]
// Held-out templates spoken in held-out espeak-ng accents and variants, and the same sentences by
// festival (apt-get install festival festvox-kallpc16k) and by flite's slt voice, which training never
// uses (apt-get install flite): word error rate, exact attribute match of
// the parsed transcript, per attribute; ms per prompt; and prompts that leave attributes unsaid (how
// often the decoder invents one); the held-out sentences again, each in a room drawn by training's own
// room generator, and through sox's reverb (apt-get install sox), which training never used; exact match by held-out variant. The decoding defaults are `genlab transcribe`'s (DEFAULT_DECODE).
// --decode compares decodings on the same audio: a comma list of plain:BEAM and grammar:BEAM[:UNSAID]
// (--seed 777 is the development set that chose the default). --write-eval writes RUN/eval.json
// (the first decoding's scores) for `genlab export`.
import { join } from 'node:path';
import { ATTRIBUTE_NAMES } from '../src/data/clips/world.js';
import { scoreAcoustic, type VoiceScores } from '../src/eval/voice.js';
import { DEFAULT_DECODE, loadAcoustic, type DecodeOptions } from '../src/pipelines/transcribe.js';
import { initBackend } from '../src/tensor/backend.js';
import { writeFileAtomic } from '../src/util/files.js';

const args = process.argv.slice(2);
const flag = (k: string, d: number) => { const i = args.indexOf(k); return i >= 0 ? Number(args[i + 1]) : d; };
const n = flag('--n', 300), writeEval = args.includes('--write-eval'), withFestival = !args.includes('--no-festival'), withFlite = !args.includes('--no-flite'), withSox = !args.includes('--no-sox');
const one: DecodeOptions = { beam: flag('--beam', DEFAULT_DECODE.beam), unsaid: flag('--unsaid', DEFAULT_DECODE.unsaid), grammar: !args.includes('--no-grammar') };
const list = args.includes('--decode') ? args[args.indexOf('--decode') + 1] ?? '' : undefined;
function usage(m: string): never { process.stderr.write(`${m}\n`); process.exit(2); }
if (list !== undefined && ['--beam', '--unsaid', '--no-grammar'].some((f) => args.includes(f))) usage('--decode names every decoding: leave out --beam, --unsaid and --no-grammar');
const decodes: DecodeOptions[] = list === undefined ? [one] : list.split(',').map((d) => {
  const parts = d.split(':'), [kind, b] = parts, beam = Number(b), unsaid = Number(parts[2] ?? DEFAULT_DECODE.unsaid);
  const ok = (kind === 'plain' && parts.length === 2) || (kind === 'grammar' && parts.length <= 3);
  if (!ok || !Number.isInteger(beam) || beam < 1 || beam > 64 || !(unsaid >= 0 && unsaid <= 20)) usage(`--decode: "${d}" is not plain:BEAM or grammar:BEAM[:UNSAID]`);
  return { beam, grammar: kind === 'grammar', unsaid: kind === 'grammar' ? unsaid : 0 };
});
const seed = flag('--seed', 4242);
const dir = args.find((a, i) => !a.startsWith('--') && !['--n', '--beam', '--unsaid', '--seed', '--decode'].includes(args[i - 1] ?? ''));
if (!dir) usage('usage: npm run bench:voice -- DIR [--n 300] [--seed 4242] [--beam 16] [--unsaid 1] [--no-grammar] [--decode plain:8,grammar:16:1,...] [--no-festival] [--no-flite] [--no-sox] [--write-eval]');
await initBackend();
const a = loadAcoustic(dir), all = scoreAcoustic(a, n, decodes, withFestival, seed, withFlite, withSox);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
console.log(`| acoustic model | decoding | speech | utterances | WER | exact | ${ATTRIBUTE_NAMES.join(' | ')} | invented | ms/prompt |`);
console.log(`|---|---|---|---|---|---|${ATTRIBUTE_NAMES.map(() => '---').join('|')}|---|---|`);
all.forEach((s, d) => {
  const o = decodes[d], how = `beam ${o.beam}, ${o.grammar ? `grammar, unsaid ${o.unsaid}` : 'no grammar'}`;
  // only the prompts that leave attributes unsaid can have one invented
  const row = (what: string, v: VoiceScores, unsaid = false) => console.log(`| ${dir} (step ${a.step}) | ${how} | ${what} | ${v.utterances} | ${pct(v.wer)} | ${pct(v.exact)} | ${ATTRIBUTE_NAMES.map((k) => pct(v.perAttribute[k])).join(' | ')} | ${unsaid ? pct(v.invented) : '-'} | ${v.msPerPrompt.toFixed(0)} |`);
  row('espeak-ng, held-out voices', s.espeak);
  row('espeak-ng, held-out voices, 1-3 attributes unsaid', s.partial, true);
  row('espeak-ng, held-out voices, in a room (training\'s room generator)', s.room);
  if (s.soxRoom) row('espeak-ng, held-out voices, in a room (sox reverb, never trained on)', s.soxRoom);
  if (s.festival) row('festival (never heard)', s.festival);
  if (s.flite) row('flite slt (a voice never heard)', s.flite);
  row('espeak-ng, training voices', s.trainingVoices);
});
const s = all[0];
// where the held-out voices' misses are: one variant can hold most of them
console.log(`\nexact by held-out espeak-ng variant (${decodes.length > 1 ? 'first decoding' : 'this decoding'}): ${Object.entries(s.espeak.byVariant ?? {}).map(([v, x]) => `${v || '(accent\'s own)'} ${pct(x.exact)} of ${x.utterances}`).join(', ')}\n`);
for (const e of [...s.espeak.examples, ...(s.festival?.examples ?? []), ...(s.flite?.examples ?? [])]) console.log(`  said "${e.said}"  heard "${e.heard}"`);
if (writeEval) writeFileAtomic(join(dir, 'eval.json'), Buffer.from(JSON.stringify({ family: 'voice', step: a.step, decode: decodes[0], ...s, command: `npm run bench:voice -- ${args.join(' ')}` }, null, 2) + '\n'));
a.model.dispose();
