// Clips from text with the clip world's own renderer: the ground truth that the clip generators
// are judged against (and what `genlab render` draws). The text is parsed as CLIPS.md says; the
// digit's image is one of the held-out digits of its class, drawn from the seed.
import { byClass, placeObject } from '../data/clips/dataset.js';
import { renderScene } from '../data/clips/render.js';
import { parseText, resolveText, type ResolvedText } from '../data/clips/words.js';
import { FPS, FRAMES, SIDE } from '../data/clips/world.js';
import { loadMnistPackage, type ImageSet } from '../data/mnist.js';
import { Rng } from '../util/rng.js';

export interface ClipReport {
  /** what the clip shows, per object */
  attributes: ResolvedText['objects'];
  defaults: ResolvedText['defaults'];
  drawn: ResolvedText['drawn'];
  ignored: string[];
  seed: number;
}

export interface Clip {
  /** [16, 64, 64, 3] in [0, 1] */
  frames: Float32Array;
  shape: { frames: number; height: number; width: number; fps: number };
  report: ClipReport;
}

let heldOut: ImageSet | undefined;

/** The true clip of a description: parse, resolve defaults and seeded draws, render. */
export function renderText(text: string, o: { seed?: number; images?: ImageSet } = {}): Clip {
  const seed = o.seed ?? 0;
  const resolved = resolveText(parseText(text), seed);
  const images = o.images ?? (heldOut ??= loadMnistPackage().test);
  const pools = byClass(images), rng = new Rng(seed), size = images.height * images.width;
  const objects = resolved.objects.map((a) => {
    const pool = pools[a.digit], idx = pool[rng.int(pool.length)];
    return placeObject(a, images.images.subarray(idx * size, (idx + 1) * size), rng);
  });
  return {
    frames: renderScene({ objects }),
    shape: { frames: FRAMES, height: SIDE, width: SIDE, fps: FPS },
    report: { attributes: resolved.objects, defaults: resolved.defaults, drawn: resolved.drawn, ignored: resolved.ignored, seed },
  };
}
