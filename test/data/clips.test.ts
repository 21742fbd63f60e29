// The clip world against spec/CLIPS.md: geometry, colours, the held-out pairs and images, the
// words and the parser, and captions that parse back to their attributes.
import { describe, expect, it } from 'vitest';
import { caption, captionOmitting, EVAL_TEMPLATES, fillTemplate, TRAIN_TEMPLATES } from '../../src/data/clips/captions.js';
import { CLIP_VOCAB, CLS, encodeWords, PAD } from '../../src/data/clips/vocab.js';
import { trainingText } from '../../src/train/clipDiffusionTask.js';
import { ClipSampler, placeObject } from '../../src/data/clips/dataset.js';
import { renderScene, scaleDigit } from '../../src/data/clips/render.js';
import { canonicalCaption, parseText, resolveText, SYNONYMS, tokenize } from '../../src/data/clips/words.js';
import { ATTRIBUTE_NAMES, COLOUR_RGB, COLOURS, DIGITS, DIRECTIONS, FRAMES, isHeldOutPair, SIDE, SIZES, SPEEDS, type ObjectAttributes } from '../../src/data/clips/world.js';
import { loadMnistPackage } from '../../src/data/mnist.js';
import { Rng } from '../../src/util/rng.js';

const digits = loadMnistPackage();
const square = new Float32Array(784).fill(1); // a full 28x28 square: its box is the whole sprite

/** Per frame: bounding box, centre of mass and mean colour of the lit pixels. */
function measure(frames: Float32Array) {
  return Array.from({ length: FRAMES }, (_, f) => {
    let minX = SIDE, minY = SIDE, maxX = -1, maxY = -1, m = 0, cx = 0, cy = 0;
    const rgb = [0, 0, 0];
    for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) {
      const p = (f * SIDE * SIDE + y * SIDE + x) * 3, g = Math.max(frames[p], frames[p + 1], frames[p + 2]);
      if (g <= 0) continue;
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      m += g; cx += g * x; cy += g * y;
      for (let c = 0; c < 3; c++) rgb[c] += frames[p + c];
    }
    return { box: [minX, minY, maxX, maxY], cx: cx / m, cy: cy / m, rgb: rgb.map((v) => v / Math.max(...rgb)) };
  });
}

describe('clip world: the renderer', () => {
  it('scales, tints and moves every combination as CLIPS.md says, the object inside the canvas in every frame', () => {
    const rng = new Rng(1);
    for (const size of SIZES) for (const speed of SPEEDS) for (const direction of DIRECTIONS) for (const colour of COLOURS) {
      const a: ObjectAttributes = { digit: 3, size, speed, direction, colour };
      for (let k = 0; k < 3; k++) {
        const obj = placeObject(a, square, rng);
        const frames = renderScene({ objects: [obj] });
        expect(frames.length).toBe(FRAMES * SIDE * SIDE * 3);
        const m = measure(frames), S = size === 'small' ? 20 : 32, v = speed === 'slow' ? 1 : 2;
        const [dx, dy] = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] }[direction];
        m.forEach((fr, f) => {
          // wholly inside: a full S x S box in every frame, never clipped
          expect(fr.box[2] - fr.box[0] + 1).toBe(S);
          expect(fr.box[3] - fr.box[1] + 1).toBe(S);
          expect(fr.box[0]).toBeGreaterThanOrEqual(0);
          expect(fr.box[3]).toBeLessThan(SIDE);
          if (f > 0) {
            expect(fr.cx - m[f - 1].cx).toBeCloseTo(dx * v, 6);
            expect(fr.cy - m[f - 1].cy).toBeCloseTo(dy * v, 6);
          }
        });
        const want = COLOUR_RGB[colour], top = Math.max(...want);
        m[0].rgb.forEach((c, i) => expect(c).toBeCloseTo(want[i] / top, 5));
      }
    }
  });

  it('keeps the digit\'s ink when scaling (a box filter) and the same seed gives the same clip', () => {
    const img = digits.train.images.subarray(0, 784);
    const total = img.reduce((s, v) => s + v, 0);
    for (const S of [20, 32]) expect(scaleDigit(img, S).reduce((s, v) => s + v, 0) * (28 / S) ** 2).toBeCloseTo(total, 2);
    const a = new ClipSampler(digits.train, 'train', new Rng(5)).batch(3), b = new ClipSampler(digits.train, 'train', new Rng(5)).batch(3);
    expect(b.examples.map((e) => e.caption)).toEqual(a.examples.map((e) => e.caption));
    expect(Buffer.from(b.frames.buffer).equals(Buffer.from(a.frames.buffer))).toBe(true);
  });
});

describe('clip world: training and evaluation draws', () => {
  it('training never yields a held-out digit-direction pair, nor a held-out digit image; every other pair appears', () => {
    const s = new ClipSampler(digits.train, 'train', new Rng(2));
    const pairs = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const a = s.drawAttributes();
      expect(isHeldOutPair(a.digit, a.direction)).toBe(false);
      pairs.add(`${a.digit}-${a.direction}`);
    }
    expect(pairs.size).toBe(30);
    // the images come from the training split: none of them is pixel-equal to a held-out digit
    const held = new Set<string>();
    for (let i = 0; i < digits.test.n; i++) held.add(Buffer.from(digits.test.images.slice(i * 784, (i + 1) * 784).buffer).toString('base64'));
    for (let i = 0; i < 300; i++) {
      const e = s.next();
      expect(held.has(Buffer.from(e.scene.objects[0].image.slice().buffer).toString('base64'))).toBe(false);
      expect(digits.train.labels[e.imageIndex[0]]).toBe(e.attributes[0].digit);
    }
    expect(isHeldOutPair(0, 'left') && isHeldOutPair(1, 'right') && isHeldOutPair(2, 'up') && isHeldOutPair(3, 'down') && isHeldOutPair(9, 'right')).toBe(true);
    expect(DIGITS.filter((d) => DIRECTIONS.some((dir) => isHeldOutPair(d, dir))).length).toBe(10);
  });
  it('evaluation draws include the held-out pairs', () => {
    const s = new ClipSampler(digits.test, 'eval', new Rng(3));
    let held = 0;
    for (let i = 0; i < 400; i++) { const a = s.drawAttributes(); if (isHeldOutPair(a.digit, a.direction)) held += 1; }
    expect(held).toBeGreaterThan(50);
  });
});

describe('clip world: words and the parser', () => {
  it('understands every synonym of every value, wherever it stands', () => {
    for (const attr of ATTRIBUTE_NAMES) {
      for (const [value, words] of Object.entries(SYNONYMS[attr] as Record<string, string[]>)) {
        for (const w of words) {
          for (const text of [`${w}`, `please show me ${w} now`.replace(' now', ''), `the clip: ${w.toUpperCase()}!`]) {
            const p = parseText(text);
            expect(String(p.objects[0][attr]), `${attr} in "${text}"`).toBe(value);
            expect(p.ignored).toEqual([]);
          }
        }
      }
    }
    expect(parseText('A big, RED three... moving to the left QUICKLY').objects[0]).toEqual({ digit: 3, colour: 'red', size: 'large', direction: 'left', speed: 'fast' });
    expect(parseText('the number 7 drifting towards the bottom').objects[0]).toEqual({ digit: 7, direction: 'down' });
  });
  it('lists unknown words and still parses; refuses contradictions, empty and over-long text', () => {
    const p = parseText('a purple 3 spinning left, purple!');
    expect(p.ignored).toEqual(['purple', 'spinning']);
    expect(p.objects[0]).toEqual({ digit: 3, direction: 'left' });
    expect(() => parseText('a red blue 3')).toThrow(/two colours for one object: "red" and "blue"/);
    expect(() => parseText('a 3 moving left to the right')).toThrow(/two directions for one object: "left" and "to the right"/);
    expect(() => parseText('a small huge 3')).toThrow(/two sizes/);
    expect(parseText('a fast quick 3').objects[0].speed).toBe('fast'); // the same value twice is fine
    expect(() => parseText('')).toThrow(/empty/);
    expect(() => parseText('   ')).toThrow(/empty/);
    expect(() => parseText('?!')).toThrow(/no words/);
    expect(() => parseText('a 3 '.repeat(200))).toThrow(/800 characters; at most 500/);
    expect(tokenize('Grey/gray, 3.')).toEqual(['grey', 'gray', '3']);
    expect(parseText('a grey 3').ignored).toEqual(['grey']); // grey is not a colour here
  });
  it('fills defaults (white, slow, large) and draws digit and direction from the seed, reporting both', () => {
    const r = resolveText(parseText('a red thing'), 7);
    expect(r.objects[0].colour).toBe('red');
    expect(r.defaults[0]).toEqual({ speed: 'slow', size: 'large' });
    expect(Object.keys(r.drawn[0]).sort()).toEqual(['digit', 'direction']);
    expect(r.ignored).toEqual(['thing']);
    expect(resolveText(parseText('a red thing'), 7)).toEqual(r); // seeded
    const others = new Set(Array.from({ length: 20 }, (_, s) => `${resolveText(parseText('a red thing'), s).objects[0].digit}`));
    expect(others.size).toBeGreaterThan(3);
    // the encoder reads the known words, then the canonical word of every default and draw
    expect(r.encoderText).toBe(`a red ${r.objects[0].digit} ${r.objects[0].direction} slow large`);
    expect(parseText(r.encoderText).objects[0]).toEqual(r.objects[0]);
  });
});

describe('clip world: captions', () => {
  it('every template, training and evaluation, parses back to its attributes; the two sets of word orders are disjoint', () => {
    const rng = new Rng(11);
    for (const t of [...TRAIN_TEMPLATES, ...EVAL_TEMPLATES]) for (let k = 0; k < 40; k++) {
      const a: ObjectAttributes = { digit: DIGITS[rng.int(10)], colour: COLOURS[rng.int(5)], direction: DIRECTIONS[rng.int(4)], speed: SPEEDS[rng.int(2)], size: SIZES[rng.int(2)] };
      const text = fillTemplate(t, a, rng), p = parseText(text);
      expect(p.objects[0], text).toEqual(a);
      expect(p.ignored, text).toEqual([]);
    }
    const order = (t: string) => t.split(' ').filter((w) => /^[A-Z]+$/.test(w) && w !== 'ART' && w !== 'VERB').join(' ');
    const trainOrders = new Set(TRAIN_TEMPLATES.map(order));
    for (const t of EVAL_TEMPLATES) expect(trainOrders.has(order(t)), t).toBe(false);
    const c = canonicalCaption({ digit: 4, colour: 'blue', direction: 'up', speed: 'fast', size: 'small' });
    expect(parseText(c).objects[0]).toEqual({ digit: 4, colour: 'blue', direction: 'up', speed: 'fast', size: 'small' });
  });
  it('uses every synonym across training captions', () => {
    const rng = new Rng(12), seen = new Set<string>();
    const s = new ClipSampler(digits.train, 'train', rng);
    for (let i = 0; i < 3000; i++) seen.add(` ${caption(s.drawAttributes(), rng)} `);
    const all = [...seen].join('');
    for (const attr of ATTRIBUTE_NAMES) for (const words of Object.values(SYNONYMS[attr] as Record<string, string[]>)) for (const w of words) expect(all.includes(` ${w} `), w).toBe(true);
  });
});

describe('clip world: the text encoder\'s tokens and training texts', () => {
  it('has a token for every attribute word and filler; [cls] first, padding after, unknown words as [unk]; over-long texts lose fillers first', () => {
    const words = new Set(CLIP_VOCAB);
    for (const attr of ATTRIBUTE_NAMES) for (const ws of Object.values(SYNONYMS[attr] as Record<string, string[]>)) for (const w of ws) for (const t of w.split(' ')) expect(words.has(t), t).toBe(true);
    const ids = encodeWords('a red 3 zork', 8);
    expect(ids[0]).toBe(CLS);
    expect([...ids.slice(1, 5)].map((i) => CLIP_VOCAB[i])).toEqual(['a', 'red', '3', '[unk]']);
    expect([...ids.slice(5)]).toEqual([PAD, PAD, PAD]);
    const long = encodeWords('please show me a video of the big red 3 that is moving to the left quickly', 10);
    expect([...long.slice(1)].map((i) => CLIP_VOCAB[i])).toEqual(['big', 'red', '3', 'left', 'quickly', '[pad]', '[pad]', '[pad]', '[pad]']);
  });
  it('a training text that leaves attributes unsaid ends with their canonical words, as resolveText gives the encoder', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      const a: ObjectAttributes = { digit: DIGITS[rng.int(10)], colour: COLOURS[rng.int(5)], direction: DIRECTIONS[rng.int(4)], speed: SPEEDS[rng.int(2)], size: SIZES[rng.int(2)] };
      const omit = ATTRIBUTE_NAMES.filter(() => rng.next() < 0.4);
      const text = captionOmitting(a, omit, rng);
      const parsed = parseText(text);
      expect(parsed.objects[0]).toEqual(a); // the appended words name the omitted attributes
      const said = text.split(' ');
      expect(said.slice(said.length - omit.length)).toEqual(omit.map((k) => String(a[k])));
    }
  });
  it('the appended words are those resolveText gives the encoder for a prompt with the same attributes unsaid', () => {
    const r = resolveText(parseText('a 3 moving left'), 0);
    expect(r.encoderText).toBe('a 3 moving left white slow large');
    const a: ObjectAttributes = { digit: 3, colour: 'white', direction: 'left', speed: 'slow', size: 'large' };
    expect(captionOmitting(a, ['colour', 'speed', 'size'], new Rng(1)).endsWith(' white slow large')).toBe(true);
  });
  it('training texts: about pUncond of them empty', () => {
    const rng = new Rng(3), n = 2000;
    let empty = 0;
    const a: ObjectAttributes = { digit: 3, colour: 'red', direction: 'left', speed: 'fast', size: 'small' };
    for (let i = 0; i < n; i++) if (trainingText(a, rng, 0.1, 0.25) === '') empty++;
    expect(empty / n).toBeGreaterThan(0.07);
    expect(empty / n).toBeLessThan(0.13);
  });
});
