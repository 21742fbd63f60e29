// Which settings of one held-out espeak-ng voice the acoustic model misses (a benchmark: prints figures, asserts nothing):
//   npm run bench:voice-probe -- RUN_OR_MODEL [--variant Alicia] [--n 40] [--seed 123]
// The same n held-out sentences (held-out templates and accents, random rate and pitch) in the variant's own file and
// in copies of it with one kind of setting removed each (its formant lines, breath, echo, ...), and in the held-out
// variant m7 for comparison: exact attribute match of the parsed transcript for each.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { caption } from '../src/data/clips/captions.js';
import { espeak, espeakDataDir, randomAttributes, randomVoice, VOICE_SPLITS } from '../src/data/speech.js';
import { encodeWav, SPEECH_RATE } from '../src/data/wav.js';
import { judgeTranscript } from '../src/eval/voice.js';
import { loadAcoustic, transcribeWav } from '../src/pipelines/transcribe.js';
import { initBackend } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';

const args = process.argv.slice(2);
const opt = (k: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
const variant = opt('--variant') ?? 'Alicia', n = Number(opt('--n') ?? 40), seed = Number(opt('--seed') ?? 123);
const dir = args.find((a, i) => !a.startsWith('--') && !['--variant', '--n', '--seed'].includes(args[i - 1] ?? ''));
const held: readonly string[] = VOICE_SPLITS.heldOut.variants;
if (!dir || !held.includes(variant) || !(Number.isInteger(n) && n > 0)) {
  process.stderr.write(`usage: npm run bench:voice-probe -- DIR [--variant ${held.join('|')}] [--n 40] [--seed 123]\n`);
  process.exit(2);
}
const file = readFileSync(join(espeakDataDir(), 'voices', '!v', variant), 'utf8').split('\n');
// the kinds of setting the file has, each removed on its own (breath and breathw together, stressAdd and stressAmp together)
const kindOf = (line: string) => { const k = line.trim().split(/\s+/)[0] ?? ''; return k.startsWith('breath') ? 'breath' : k.startsWith('stress') ? 'stress' : k; };
const kinds = [...new Set(file.map(kindOf))].filter((k) => k && !['language', 'name', 'gender'].includes(k));
const specs: [string, string | undefined][] = [[`${variant} as it is`, file.join('\n')], ...kinds.map((k): [string, string] => [`without ${k}`, file.filter((l) => kindOf(l) !== k).join('\n')]), ['m7 (another held-out variant)', undefined]];

await initBackend();
const a = loadAcoustic(dir), rng = new Rng(seed);
const items = Array.from({ length: n }, () => { const at = randomAttributes(rng); return { at, text: caption(at, rng, 'eval'), v: randomVoice(rng, 'heldOut') }; });
console.log(`| ${dir} (step ${a.step}): ${variant}'s voice file | exact of ${n} |\n|---|---|`);
for (const [what, spec] of specs) {
  let ok = 0;
  for (const it of items) {
    const samples = espeak(it.text, spec === undefined ? { ...it.v, variant: 'm7' } : { ...it.v, variant: 'random', spec });
    ok += judgeTranscript(it.at, transcribeWav(a, encodeWav(samples, SPEECH_RATE)).attributes).exact ? 1 : 0;
  }
  console.log(`| ${what} | ${ok} (${((100 * ok) / n).toFixed(1)}%) |`);
}
a.model.dispose();
