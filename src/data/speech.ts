// Spoken prompts for the acoustic model (issue 15): captions of the clip grammar synthesised by
// Debian's espeak-ng in many accents, voice variants, rates and pitches, with noise and level
// changes added here, and (a share set by the run) by Debian's flite in two of its voices.
// Training speaks the training templates in the training voices; evaluation the held-out templates
// in accents and variants that training never uses, flite's third voice, and festival's voice.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { caption, captionLeaving } from './clips/captions.js';
import { CLIP_VOCAB } from './clips/vocab.js';
import { DIGIT_WORDS, tokenize } from './clips/words.js';
import { ATTRIBUTE_NAMES, COLOURS, DIGITS, DIRECTIONS, SIZES, SPEEDS, type AttributeName, type ObjectAttributes } from './clips/world.js';
import { decodeWav, resample } from './wav.js';

/** What the acoustic model writes: the clip vocabulary's words with digits as words ("3" sounds as "three"). Index 0 is CTC's blank. */
export const SPEECH_VOCAB: readonly string[] = ['[blank]', ...CLIP_VOCAB.filter((w) => !w.startsWith('[') && !/^[0-9]$/.test(w))];

/** A transcript's words: tokenized, numerals spoken as words. */
export function spokenWords(text: string): string[] {
  return tokenize(text).map((w) => (/^[0-9]$/.test(w) ? DIGIT_WORDS[Number(w)] : w));
}

export const VOICE_SPLITS = {
  train: {
    accents: ['en-us', 'en-gb', 'en-gb-x-rp', 'en-029', 'en-gb-x-gbclan'],
    // the first 30 are the voices of runs before session 19; `--set variants=N` trains on the first N
    variants: ['', 'm1', 'm2', 'm3', 'm4', 'm5', 'f1', 'f2', 'f3', 'f5', 'klatt', 'klatt2', 'klatt4', 'adam', 'Alex', 'Andy', 'Annie', 'aunty', 'benjamin', 'david', 'ed', 'edward', 'john', 'linda', 'michel', 'paul', 'robert', 'steph', 'travis', 'zac',
      'Andrea', 'AnxiousAndy', 'Demonic', 'Denis', 'Diogo', 'Gene', 'Gene2', 'Henrique', 'Hugo', 'Jacky', 'Lee', 'Marco', 'Mario', 'Michael', 'Mike', 'RicishayMax', 'RicishayMax2', 'RicishayMax3', 'Storm', 'Tweaky',
      'UniRobot', 'anika', 'anikaRobot', 'announcer', 'antonio', 'boris', 'caleb', 'croak', 'edward2', 'fast', 'grandma', 'grandpa', 'gustave', 'iven', 'iven2', 'iven3', 'iven4', 'kaukovalta', 'klatt5', 'klatt6',
      'm8', 'marcelo', 'miguel', 'norbert', 'pablo', 'pedro', 'rob', 'robosoft', 'robosoft2', 'robosoft3', 'robosoft4', 'robosoft5', 'robosoft6', 'robosoft7', 'robosoft8', 'sandro', 'shelby', 'steph3', 'whisper', 'whisperf'],
  },
  // accents and variants that training never hears
  heldOut: {
    accents: ['en-gb-scotland', 'en-us-nyc', 'en-gb-x-gbcwmd'],
    variants: ['m6', 'm7', 'f4', 'klatt3', 'Alicia', 'belinda', 'max', 'quincy', 'steph2', 'victor'],
  },
} as const;
export type VoiceSplit = keyof typeof VOICE_SPLITS;

/** An espeak-ng voice; `spec` is a variant file of its own (randomVariant), spoken as variant "random". */
export interface Voice { accent: string; variant: string; rate: number; pitch: number; spec?: string }

/** The training variants of runs before session 19. */
export const BASE_TRAIN_VARIANTS = 30;

/** A voice of the split; training draws from the first `variants` training variants (all held-out ones for heldOut). */
export function randomVoice(rng: Rng, split: VoiceSplit, variants = BASE_TRAIN_VARIANTS): Voice {
  const s = VOICE_SPLITS[split], n = split === 'train' ? Math.min(variants, s.variants.length) : s.variants.length;
  return { accent: s.accents[rng.int(s.accents.length)], variant: s.variants[rng.int(n)], rate: 130 + rng.int(61), pitch: 25 + rng.int(51) };
}

/**
 * flite's voices (Debian's flite 2.2): awb and rms speak training sentences, slt is kept aside for
 * the measurement. Its kal voices are left out: they are festival's kal diphone voice.
 */
export const FLITE_VOICES = { train: ['awb', 'rms'], heldOut: ['slt'] } as const;
export interface FliteVoice { flite: string; stretch: number }

export function randomFliteVoice(rng: Rng, split: VoiceSplit): FliteVoice {
  const names = FLITE_VOICES[split];
  return { flite: names[rng.int(names.length)], stretch: 0.8 + 0.45 * rng.next() };
}

export function randomAttributes(rng: Rng): ObjectAttributes {
  const p = <T>(xs: readonly T[]) => xs[rng.int(xs.length)];
  return { digit: p(DIGITS), colour: p(COLOURS), direction: p(DIRECTIONS), speed: p(SPEEDS), size: p(SIZES) };
}

/**
 * A voice variant file of random settings, each field drawn on its own within about the span of espeak-ng's training
 * variants (formant heights, widths and breath a little beyond it): the first four formants moved 75-145% each, their
 * heights and widths, the pitch, voicing, consonant level, roughness, flutter, breath in two of five, and one of
 * the klatt synthesisers that training variants use in one of five. Named variants are 90 points in this space;
 * random ones fill the box around them, with combinations no named variant has.
 */
export function randomVariant(rng: Rng): string {
  const u = (lo: number, hi: number) => Math.round(lo + (hi - lo) * rng.next());
  const base = u(60, 200), lines = ['language variant', 'name random', `pitch ${base} ${base + u(30, 120)}`];
  for (let k = 0; k <= 8; k++) lines.push(`formant ${k} ${k <= 3 ? u(75, 145) : u(80, 125)} ${u(50, 150)} ${u(80, 160)}`);
  lines.push(`voicing ${u(30, 165)}`, `consonants ${u(50, 130)} ${u(40, 130)}`, `roughness ${u(0, 5)}`, `flutter ${u(0, 20)}`);
  if (rng.next() < 0.4) lines.push(`breath ${Array.from({ length: 8 }, () => u(0, 12)).join(' ')}`);
  if (rng.next() < 0.2) lines.push(`klatt ${[1, 2, 4, 5, 6][rng.int(5)]}`);
  return lines.join('\n') + '\n';
}

const missingTools = new Set<string>();
/**
 * One run of a Debian tool, its stdout returned; a missing tool is `missing` as a UserError, remembered so that
 * the next call fails at once. Other failures are thrown as they are (execFileSync's error, with stderr).
 */
function runTool(cmd: string, args: readonly string[], missing: string, input?: Uint8Array | string): Buffer {
  if (missingTools.has(cmd)) throw new UserError(missing);
  try {
    return execFileSync(cmd, args, { input, maxBuffer: 64 << 20, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') { missingTools.add(cmd); throw new UserError(missing); }
    throw e;
  }
}
const NO_ESPEAK = 'espeak-ng is not installed: apt-get install espeak-ng';

let espeakData: string | undefined;
/** Where espeak-ng keeps its data (its voice files are in voices/!v there). */
export function espeakDataDir(): string {
  espeakData ??= /Data at:\s*(\S+)/.exec(runTool('espeak-ng', ['--version'], NO_ESPEAK).toString())?.[1];
  if (!espeakData) throw new UserError('espeak-ng did not say where its data is (espeak-ng --version)');
  return espeakData;
}

/**
 * Runs `speak` with a private espeak-ng data dir in which `spec` is the variant "random": links to espeak-ng's English
 * data and the one variant file, made for the utterance and removed after it (only a SIGKILL during espeak-ng leaves one).
 */
function withRandomVariant<T>(spec: string, speak: (path: string) => T): T {
  const at = espeakDataDir(), dir = mkdtempSync(join(tmpdir(), 'genlab-espeak-')), data = join(dir, 'espeak-ng-data');
  try {
    mkdirSync(join(data, 'voices', '!v'), { recursive: true });
    for (const f of ['phontab', 'phonindex', 'phondata', 'intonations', 'en_dict', 'lang']) symlinkSync(join(at, f), join(data, f));
    writeFileSync(join(data, 'voices', '!v', 'random'), spec);
    return speak(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mono 16 kHz samples of `text` spoken by espeak-ng. */
export function espeak(text: string, v: Voice): Float32Array {
  const args = ['-v', v.variant ? `${v.accent}+${v.variant}` : v.accent, '-s', String(v.rate), '-p', String(v.pitch), '--stdout', text];
  const wav = v.spec === undefined ? runTool('espeak-ng', args, NO_ESPEAK) : withRandomVariant(v.spec, (path) => runTool('espeak-ng', [`--path=${path}`, ...args], NO_ESPEAK));
  return resample(decodeWav(wav, 'espeak-ng output'));
}

/** Mono 16 kHz samples of `text` spoken by festival's text2wave (its one English diphone voice). */
export function festival(text: string): Float32Array {
  const wav = runTool('text2wave', ['-o', '-'], 'festival is not installed: apt-get install festival festvox-kallpc16k', text);
  return resample(decodeWav(wav, 'festival output'));
}

/** Mono 16 kHz samples of `text` spoken by flite (its duration_stretch sets the rate). */
export function flite(text: string, v: FliteVoice): Float32Array {
  // flite writes only to a file: Node's pipes are sockets, which /dev/stdout cannot be opened on
  const dir = mkdtempSync(join(tmpdir(), 'genlab-flite-'));
  try {
    const file = join(dir, 'say.wav');
    runTool('flite', ['-voice', v.flite, '--setf', `duration_stretch=${v.stretch.toFixed(3)}`, '-t', text, '-o', file], 'flite is not installed: apt-get install flite');
    const audio = decodeWav(readFileSync(file), 'flite output');
    // flite speaks an unknown voice name in its 8 kHz kal voice (festival's speaker) without an error
    if (audio.rate !== 16000) throw new UserError(`flite has no voice "${v.flite}" (it answered at ${audio.rate} Hz); Debian's flite has awb, rms and slt`);
    return resample(audio);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Speech codecs of telephones and radios (ffmpeg's, at 8 kHz; 1.2 to 15 kbit/s): a channel that none of
 * training's synthesisers has. Most model speech as an excitation through an LPC filter, as diphone
 * synthesisers do, so a share of the training utterances passed through them teaches the model to
 * ignore how a synthesiser renders a voice rather than to learn espeak-ng's and flite's renderings.
 */
export const CODECS = [
  { name: 'codec2 3200', format: 'codec2', args: ['-c:a', 'libcodec2', '-mode', '3200'] },
  { name: 'codec2 1600', format: 'codec2', args: ['-c:a', 'libcodec2', '-mode', '1600'] },
  { name: 'codec2 1200', format: 'codec2', args: ['-c:a', 'libcodec2', '-mode', '1200'] },
  { name: 'gsm 06.10', format: 'gsm', args: ['-c:a', 'libgsm'] },
  { name: 'g.723.1', format: 'g723_1', args: ['-c:a', 'g723_1', '-b:a', '6300'] },
  { name: 'speex', format: 'ogg', args: ['-c:a', 'libspeex'] },
  { name: 'opus 6k', format: 'ogg', args: ['-c:a', 'libopus', '-b:a', '6k'] },
] as const;
export type Codec = (typeof CODECS)[number];

/** 16 kHz samples encoded with `codec` and decoded back to 16 kHz (the band above 4 kHz is gone). */
export function codecRoundTrip(x: Float32Array, codec: Codec): Float32Array {
  const run = (args: string[], input: Uint8Array): Buffer => {
    try {
      return runTool('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], 'ffmpeg is not installed (the codec augmentation needs it): apt-get install ffmpeg, or train without codecs: --set codec=0', input);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const why = String((e as { stderr?: Buffer }).stderr ?? '').trim().slice(0, 300) || String(e);
      throw new UserError(`ffmpeg could not round-trip audio through ${codec.name} (${why}); a Debian ffmpeg has every codec here, or train without codecs: --set codec=0`);
    }
  };
  const coded = run(['-f', 'f32le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-ar', '8000', ...codec.args, '-f', codec.format, 'pipe:1'], f32Bytes(x));
  return bytesF32(run(['-f', codec.format, '-i', 'pipe:0', '-ar', '16000', '-ac', '1', '-f', 'f32le', 'pipe:1'], coded));
}

const f32Bytes = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
function bytesF32(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.length * 4));
  return out;
}

/**
 * A copy of the speech through sox's reverb (Freeverb's comb and all-pass filters, not room()'s taps): a room the
 * model never trained in, for the measurement. Reverberance 20-90%, damping 20-80%, room scale 20-100%, pre-delay
 * 0-40 ms, wet gain -6 to 0 dB; scaled back under 1 where it would clip.
 */
export function soxRoom(x: Float32Array, rng: Rng): Float32Array {
  const u = (lo: number, hi: number) => Math.round(lo + (hi - lo) * rng.next());
  const raw = ['-t', 'raw', '-e', 'floating-point', '-b', '32', '-r', '16000', '-c', '1', '-'];
  // sox clips at full scale inside: it gets the speech 12 dB down, and the level comes back here
  const y = bytesF32(runTool('sox', [...raw, ...raw, 'reverb', String(u(20, 90)), String(u(20, 80)), String(u(20, 100)), '100', String(u(0, 40)), String(-u(0, 6))], 'sox is not installed (the room the model never trained in needs it): apt-get install sox', f32Bytes(x.map((v) => v / 4))));
  return peakNormalise(y.map((v) => v * 4));
}

function peakNormalise(y: Float32Array): Float32Array {
  let peak = 0;
  for (const v of y) peak = Math.max(peak, Math.abs(v));
  if (peak > 1) for (let t = 0; t < y.length; t++) y[t] /= peak;
  return y;
}

/**
 * A copy of the speech in a room: an echo (a reflection 20-150 ms late fed back at 0.1-0.6, so it repeats, fading) or,
 * as often, a reverberation tail of sparse random taps decaying 60 dB in 0.1-0.8 s. espeak-ng's
 * held-out "Alicia" speaks with a 40 ms echo, and a room took the seventh run from 81% to 48% exact (README).
 */
export function room(x: Float32Array, rng: Rng): Float32Array {
  const y = Float32Array.from(x);
  if (rng.next() < 0.5) {
    const d = Math.round((20 + 130 * rng.next()) * 16), g = 0.1 + 0.5 * rng.next();
    for (let t = d; t < y.length; t++) y[t] += g * y[t - d];
  } else {
    // velvet noise: one tap of random sign every ~2 ms, its gain falling 60 dB over rt60
    const rt60 = 0.1 + 0.7 * rng.next(), wet = 0.2 + 0.6 * rng.next(), n = Math.round(rt60 * 500), taps: [number, number][] = [];
    for (let k = 0; k < n; k++) {
      const delay = Math.round((k + rng.next()) * 32) + 16, gain = (rng.next() < 0.5 ? -1 : 1) * wet * 10 ** ((-3 * delay) / (rt60 * 16000));
      taps.push([delay, gain / Math.sqrt(n / 8)]);
    }
    for (let t = y.length - 1; t >= 0; t--) {
      let acc = 0;
      for (const [d, g] of taps) { if (d > t) break; acc += g * x[t - d]; }
      y[t] += acc;
    }
  }
  return peakNormalise(y);
}

/** Level change (x0.25 to x1) and white noise at 10 to 40 dB below the speech, in place. */
export function augment(x: Float32Array, rng: Rng): Float32Array {
  let power = 0;
  for (const v of x) power += v * v;
  power /= Math.max(1, x.length);
  const gain = 0.25 + 0.75 * rng.next(), snrDb = 10 + 30 * rng.next(), sigma = Math.sqrt(power / 10 ** (snrDb / 10));
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, gain * (x[i] + sigma * rng.normal())));
  return x;
}

export interface Utterance { text: string; words: string[]; attributes: Partial<ObjectAttributes>; samples: Float32Array; voice: Voice | FliteVoice | 'festival'; codec?: Codec['name']; room?: boolean }

/** How a spoken caption is drawn beyond its split (every share 0 and 30 variants unless given). */
export interface UtteranceOptions {
  /** add level changes and noise (default: for the training split) */
  noisy?: boolean;
  /** which templates the caption comes from (default: training ones for the training split) */
  templates?: 'train' | 'eval';
  /** share of captions whose words are spoken in a random order */
  shuffle?: number;
  /** share spoken by flite's voices of the split instead of espeak-ng */
  flite?: number;
  /** espeak-ng training variants drawn from (the first N) */
  variants?: number;
  /** share passed through one of the CODECS */
  codec?: number;
  /** share given a room's echo or reverberation (before any codec) */
  room?: number;
  /** share of the espeak-ng utterances spoken in a random variant (randomVariant) instead of a named one */
  random?: number;
}

/**
 * One spoken caption: train = training templates and voices; heldOut = held-out templates in
 * held-out voices; festival = held-out templates in festival's voice.
 */
export function utterance(rng: Rng, split: VoiceSplit | 'festival', o: UtteranceOptions = {}): Utterance {
  const noisy = o.noisy ?? split === 'train', pShuffle = o.shuffle ?? 0, pFlite = o.flite ?? 0, pCodec = o.codec ?? 0, pRoom = o.room ?? 0;
  const a = randomAttributes(rng);
  let text = caption(a, rng, o.templates ?? (split === 'train' ? 'train' : 'eval'));
  // the caption's words in a random order: a recurrent model cannot lean on the templates' word order
  if (rng.next() < pShuffle) {
    const w = text.split(' ');
    for (let i = w.length - 1; i > 0; i--) { const j = rng.int(i + 1); [w[i], w[j]] = [w[j], w[i]]; }
    text = w.join(' ');
  }
  // draws only where flite, a room or a codec is asked for, so that runs without them keep their random stream
  const voice = split === 'festival' ? 'festival' as const : pFlite > 0 && rng.next() < pFlite ? randomFliteVoice(rng, split) : randomVoice(rng, split, o.variants ?? BASE_TRAIN_VARIANTS);
  if (typeof voice === 'object' && 'accent' in voice && (o.random ?? 0) > 0 && rng.next() < (o.random ?? 0)) { voice.variant = 'random'; voice.spec = randomVariant(rng); }
  let samples = voice === 'festival' ? festival(text) : 'flite' in voice ? flite(text, voice) : espeak(text, voice);
  let codec: Codec['name'] | undefined, inRoom = false;
  if (pRoom > 0 && rng.next() < pRoom) { samples = room(samples, rng); inRoom = true; }
  if (pCodec > 0 && rng.next() < pCodec) { const c = CODECS[rng.int(CODECS.length)]; samples = codecRoundTrip(samples, c); codec = c.name; }
  if (noisy) augment(samples, rng);
  return { text, words: spokenWords(text), attributes: a, samples, voice, ...(codec ? { codec } : {}), ...(inRoom ? { room: true } : {}) };
}

/**
 * A held-out template with 1 to 3 attributes left unsaid, in a held-out espeak-ng voice, without
 * noise: `attributes` holds only what is said (the decoder's grammar prior must not invent the rest).
 */
export function partialUtterance(rng: Rng): Utterance {
  const a = randomAttributes(rng), unsaid = new Set<AttributeName>(), k = 1 + rng.int(3);
  while (unsaid.size < k) unsaid.add(ATTRIBUTE_NAMES[rng.int(ATTRIBUTE_NAMES.length)]);
  const text = captionLeaving(a, [...unsaid], rng), voice = randomVoice(rng, 'heldOut');
  const said = Object.fromEntries(ATTRIBUTE_NAMES.filter((n) => !unsaid.has(n)).map((n) => [n, a[n]])) as Partial<ObjectAttributes>;
  return { text, words: spokenWords(text), attributes: said, samples: espeak(text, voice), voice };
}
