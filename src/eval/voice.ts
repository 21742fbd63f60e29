// The acoustic model measured: word error rate and exact attribute match of the parsed transcript,
// on held-out templates spoken in held-out espeak-ng accents and variants, and the same sentences
// spoken by festival, a synthesiser the model never heard, and in rooms.
import { festival, flite, partialUtterance, randomFliteVoice, room, soxRoom, spokenWords, utterance, type Utterance } from '../data/speech.js';
import { ATTRIBUTE_NAMES, type AttributeName, type ObjectAttributes } from '../data/clips/world.js';
import { encodeWav, SPEECH_RATE } from '../data/wav.js';
import { transcribeWavEach, type DecodeOptions, type LoadedAcoustic } from '../pipelines/transcribe.js';
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
export interface VoiceScores {
  utterances: number; wer: number; exact: number; perAttribute: Record<AttributeName, number>; invented: number; msPerPrompt: number; examples: { said: string; heard: string }[];
  /** exact match by espeak-ng voice variant ('' is the accent's own voice), where the utterances are espeak-ng's */
  byVariant?: Record<string, { utterances: number; exact: number }>;
}

/** What a transcript's attributes get right of what was said: each attribute (one unsaid is right when left unsaid), all of them, and whether it names one not said. */
export function judgeTranscript(said: Partial<ObjectAttributes>, heard: Partial<ObjectAttributes>): { right: Record<AttributeName, boolean>; exact: boolean; invented: boolean } {
  const right = Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, heard[k] === said[k]])) as Record<AttributeName, boolean>;
  return { right, exact: ATTRIBUTE_NAMES.every((k) => right[k]), invented: ATTRIBUTE_NAMES.some((k) => said[k] === undefined && heard[k] !== undefined) };
}

/** The utterances scored under each decoding (the acoustic model runs once an utterance). */
function score(a: LoadedAcoustic, us: readonly Utterance[], decodes: readonly DecodeOptions[]): VoiceScores[] {
  const acc = decodes.map(() => ({ edits: 0, words: 0, exact: 0, invented: 0, ms: 0, variants: new Map<string, [number, number]>(), per: Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, 0])) as Record<AttributeName, number>, examples: [] as VoiceScores['examples'] }));
  for (const u of us) {
    const { transcripts, ms } = transcribeWavEach(a, encodeWav(u.samples, SPEECH_RATE), 'utterance', decodes);
    transcripts.forEach((t, d) => {
      const s = acc[d], heard = spokenWords(t.text);
      s.edits += wordEdits(heard, u.words); s.words += u.words.length;
      s.ms += ms.model + ms.decode[d];
      const j = judgeTranscript(u.attributes, t.attributes);
      for (const k of ATTRIBUTE_NAMES) s.per[k] += j.right[k] ? 1 : 0;
      s.exact += j.exact ? 1 : 0;
      if (typeof u.voice === 'object' && 'variant' in u.voice) {
        const v = s.variants.get(u.voice.variant) ?? [0, 0];
        v[0] += j.exact ? 1 : 0; v[1]++;
        s.variants.set(u.voice.variant, v);
      }
      s.invented += j.invented ? 1 : 0;
      if (s.examples.length < 5) s.examples.push({ said: u.text, heard: t.text });
    });
  }
  const n = us.length;
  return acc.map((s) => ({ utterances: n, wer: s.edits / s.words, exact: s.exact / n, perAttribute: Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, s.per[k] / n])) as Record<AttributeName, number>, invented: s.invented / n, msPerPrompt: s.ms / n, examples: s.examples, ...(s.variants.size ? { byVariant: Object.fromEntries([...s.variants].sort(([x], [y]) => x.localeCompare(y)).map(([k, [ok, m]]) => [k, { utterances: m, exact: ok / m }])) } : {}) }));
}

export interface AcousticScores { espeak: VoiceScores; partial: VoiceScores; room: VoiceScores; soxRoom?: VoiceScores; festival?: VoiceScores; flite?: VoiceScores; trainingVoices: VoiceScores }

/**
 * n held-out sentences in held-out espeak-ng voices (no added noise); the same sentences by festival
 * (where `withFestival`) and by flite's held-out voice slt (where `withFlite`); n other held-out
 * sentences in the training voices (where the model's trouble is the voice rather than the words);
 * n prompts in held-out voices that leave 1 to 3 attributes unsaid (what a grammar prior may invent);
 * and the first sentences again, each in a room drawn by the training's own room() (other draws): it
 * shows whether the model learnt those rooms, not how it copes with another; and (where `withSox`) the first
 * sentences through sox's reverb, a room generator training never used.
 * One score per decoding, all on the same audio.
 */
export function scoreAcoustic(a: LoadedAcoustic, n: number, decodes: readonly DecodeOptions[], withFestival: boolean, seed = 4242, withFlite = false, withSox = false): AcousticScores[] {
  // a missing sox fails here, not after minutes of scoring
  if (withSox) soxRoom(new Float32Array(1600), new Rng(0));
  const rng = new Rng(seed), held = Array.from({ length: n }, () => utterance(rng, 'heldOut', { noisy: false }));
  const seen = Array.from({ length: n }, () => utterance(rng, 'train', { noisy: false, templates: 'eval' }));
  const r2 = new Rng(seed ^ 0x9a27), partial = Array.from({ length: n }, () => partialUtterance(r2));
  const espeak = score(a, held, decodes), part = score(a, partial, decodes), trainingVoices = score(a, seen, decodes);
  const r3 = new Rng(seed ^ 0x4004), inRoom = score(a, held.map((u) => ({ ...u, samples: room(u.samples, r3), room: true })), decodes);
  const r4 = new Rng(seed ^ 0x50c5), inSox = withSox ? score(a, held.map((u) => ({ ...u, samples: soxRoom(u.samples, r4), room: true })), decodes) : undefined;
  const fest = withFestival ? score(a, held.map((u) => ({ ...u, samples: festival(u.text), voice: 'festival' as const })), decodes) : undefined;
  const r = new Rng(seed ^ 0xf117e);
  const fl = withFlite ? score(a, held.map((u) => { const v = randomFliteVoice(r, 'heldOut'); return { ...u, samples: flite(u.text, v), voice: v }; }), decodes) : undefined;
  return decodes.map((_, d) => ({ espeak: espeak[d], partial: part[d], room: inRoom[d], ...(inSox ? { soxRoom: inSox[d] } : {}), trainingVoices: trainingVoices[d], ...(fest ? { festival: fest[d] } : {}), ...(fl ? { flite: fl[d] } : {}) }));
}
