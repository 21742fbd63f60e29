// How well the clip captioner reads clips: true renders of held-out digit images (the test split)
// in every digit-direction pair, the held-out pairs among them; exact attribute match of the parsed
// caption, per attribute, and BLEU-4 against the reference caption (the clip world's canonical
// English, what the captioner learns to write).
import { englishTarget } from '../data/clips/languages.js';
import { ClipSampler } from '../data/clips/dataset.js';
import { ATTRIBUTE_NAMES, isHeldOutPair, type AttributeName } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import { captionClips, type LoadedCaptioner } from '../pipelines/caption.js';
import { Rng } from '../util/rng.js';
import { corpusBleu } from './bleu.js';

export interface CaptionScores {
  clips: number;
  heldOutClips: number;
  perAttribute: Record<AttributeName, number>;
  exact: number;
  exactHeldOut: number;
  bleu4: number;
  msPerClip: number;
  /** the first few captions with what was shown */
  examples: { caption: string; reference: string }[];
}

export function scoreCaptioner(c: LoadedCaptioner, test: ImageSet, n: number, beam: number, seed = 77): CaptionScores {
  const sampler = new ClipSampler(test, 'eval', new Rng(seed)), per = Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, 0])) as Record<AttributeName, number>;
  const cands: string[][] = [], refs: string[][] = [], examples: CaptionScores['examples'] = [];
  let exact = 0, held = 0, exactHeld = 0, ms = 0;
  for (let done = 0; done < n; done += 16) {
    const B = Math.min(16, n - done), { examples: ex, frames } = sampler.batch(B);
    const t0 = performance.now(), caps = captionClips(c, frames, B, beam);
    ms += performance.now() - t0;
    caps.forEach((r, i) => {
      const a = ex[i].attributes[0], ref = englishTarget(a);
      let all = true;
      for (const k of ATTRIBUTE_NAMES) { const ok = r.attributes[k] === a[k]; per[k] += ok ? 1 : 0; all &&= ok; }
      exact += all ? 1 : 0;
      if (isHeldOutPair(a.digit, a.direction)) { held += 1; exactHeld += all ? 1 : 0; }
      cands.push(r.caption.split(' ').filter(Boolean));
      refs.push(ref.split(' '));
      if (examples.length < 5) examples.push({ caption: r.caption, reference: ref });
    });
  }
  return {
    clips: n, heldOutClips: held,
    perAttribute: Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, per[k] / n])) as Record<AttributeName, number>,
    exact: exact / n, exactHeldOut: held ? exactHeld / held : NaN, bleu4: corpusBleu(cands, refs), msPerClip: ms / n, examples,
  };
}
