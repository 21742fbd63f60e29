// The acoustic model measured: word error rate and exact attribute match of the parsed transcript,
// on held-out templates spoken in held-out espeak-ng accents and variants, and the same sentences
// spoken by festival, a synthesiser the model never heard.
import { festival, flite, partialUtterance, randomFliteVoice, spokenWords, utterance, type Utterance } from '../data/speech.js';
import { ATTRIBUTE_NAMES, type AttributeName } from '../data/clips/world.js';
import { encodeWav, SPEECH_RATE } from '../data/wav.js';
import { transcribeWav, type DecodeOptions, type LoadedAcoustic } from '../pipelines/transcribe.js';
import { Rng } from '../util/rng.js';

/** Word-level Levenshtein distance. */
export function wordEdits(hyp: readonly string[], ref: readonly string[]): number {
  let prev = Array.from({ length: ref.length + 1 }, (_, j) => j);
  for (let i = 1; i <= hyp.length; i++) {
    const cur = [i];
    for (let j = 1; j <= ref.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (hyp[i - 1] === ref[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[ref.length];
}

/**
 * exact: the parsed transcript names exactly the attributes said (none missing, none wrong, none
 * added); perAttribute: the share right (an unsaid one is right when left unsaid); invented: the
 * share of utterances whose transcript names an attribute that was not said.
 */
export interface VoiceScores { utterances: number; wer: number; exact: number; perAttribute: Record<AttributeName, number>; invented: number; msPerPrompt: number; examples: { said: string; heard: string }[] }

function score(a: LoadedAcoustic, us: readonly Utterance[], decode: DecodeOptions): VoiceScores {
  let edits = 0, words = 0, exact = 0, invented = 0;
  const per = Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, 0])) as Record<AttributeName, number>, examples: VoiceScores['examples'] = [];
  const t0 = performance.now();
  for (const u of us) {
    const t = transcribeWav(a, encodeWav(u.samples, SPEECH_RATE), 'utterance', decode), heard = spokenWords(t.text);
    edits += wordEdits(heard, u.words); words += u.words.length;
    let all = true;
    for (const k of ATTRIBUTE_NAMES) { const ok = t.attributes[k] === u.attributes[k]; per[k] += ok ? 1 : 0; all &&= ok; }
    exact += all ? 1 : 0;
    invented += ATTRIBUTE_NAMES.some((k) => u.attributes[k] === undefined && t.attributes[k] !== undefined) ? 1 : 0;
    if (examples.length < 5) examples.push({ said: u.text, heard: t.text });
  }
  const n = us.length;
  return { utterances: n, wer: edits / words, exact: exact / n, perAttribute: Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, per[k] / n])) as Record<AttributeName, number>, invented: invented / n, msPerPrompt: (performance.now() - t0) / n, examples };
}

export interface AcousticScores { espeak: VoiceScores; partial: VoiceScores; festival?: VoiceScores; flite?: VoiceScores; trainingVoices: VoiceScores }

/**
 * n held-out sentences in held-out espeak-ng voices (no added noise); the same sentences by festival
 * (where `withFestival`) and by flite's held-out voice slt (where `withFlite`); n other held-out
 * sentences in the training voices (where the model's trouble is the voice rather than the words);
 * and n prompts in held-out voices that leave 1 to 3 attributes unsaid (what a grammar prior may invent).
 */
export function scoreAcoustic(a: LoadedAcoustic, n: number, decode: DecodeOptions, withFestival: boolean, seed = 4242, withFlite = false): AcousticScores {
  const rng = new Rng(seed), held = Array.from({ length: n }, () => utterance(rng, 'heldOut', false));
  const seen = Array.from({ length: n }, () => utterance(rng, 'train', false, 'eval'));
  const r2 = new Rng(seed ^ 0x9a27), partial = Array.from({ length: n }, () => partialUtterance(r2));
  const out: AcousticScores = { espeak: score(a, held, decode), partial: score(a, partial, decode), trainingVoices: score(a, seen, decode) };
  if (withFestival) out.festival = score(a, held.map((u) => ({ ...u, samples: festival(u.text), voice: 'festival' as const })), decode);
  if (withFlite) {
    const r = new Rng(seed ^ 0xf117e);
    out.flite = score(a, held.map((u) => { const v = randomFliteVoice(r, 'heldOut'); return { ...u, samples: flite(u.text, v), voice: v }; }), decode);
  }
  return out;
}
