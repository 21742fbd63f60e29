// The clip world of spec/CLIPS.md: one or more handwritten digits, each tinted, scaled and moving
// in a straight line over 16 frames of a 64x64 black canvas. A scene is a list of objects, so
// that "... and a blue 7 moving up" is one more entry, not a new format.

export const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
export const COLOURS = ['white', 'red', 'green', 'blue', 'yellow'] as const;
export const DIRECTIONS = ['left', 'right', 'up', 'down'] as const;
export const SPEEDS = ['slow', 'fast'] as const;
export const SIZES = ['small', 'large'] as const;

export type Digit = (typeof DIGITS)[number];
export type Colour = (typeof COLOURS)[number];
export type Direction = (typeof DIRECTIONS)[number];
export type Speed = (typeof SPEEDS)[number];
export type Size = (typeof SIZES)[number];

/** What a caption says about one object. */
export interface ObjectAttributes {
  digit: Digit;
  colour: Colour;
  direction: Direction;
  speed: Speed;
  size: Size;
}
export type AttributeName = keyof ObjectAttributes;
export const ATTRIBUTE_NAMES: readonly AttributeName[] = ['digit', 'colour', 'direction', 'speed', 'size'];
export const ATTRIBUTE_VALUES: { [K in AttributeName]: readonly ObjectAttributes[K][] } = {
  digit: DIGITS, colour: COLOURS, direction: DIRECTIONS, speed: SPEEDS, size: SIZES,
};

/** Defaults for attributes a text does not name; digit and direction are drawn from the seed instead. */
export const DEFAULTS: Pick<ObjectAttributes, 'colour' | 'speed' | 'size'> = { colour: 'white', speed: 'slow', size: 'large' };

export const FRAMES = 16;
export const SIDE = 64;
export const FPS = 8;
/** the digit's 28x28 image scaled to this side */
export const SIZE_PIXELS: Record<Size, number> = { small: 20, large: 32 };
/** pixels a frame along the direction */
export const SPEED_PIXELS: Record<Speed, number> = { slow: 1, fast: 2 };
/** the digit's grey level times this RGB */
export const COLOUR_RGB: Record<Colour, readonly [number, number, number]> = {
  white: [1, 1, 1], red: [1, 0.15, 0.15], green: [0.15, 1, 0.15], blue: [0.2, 0.35, 1], yellow: [1, 1, 0.15],
};
/** unit steps of each direction, in (x, y) with y down */
export const DIRECTION_STEP: Record<Direction, readonly [number, number]> = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] };

/** The 10 digit-direction pairs training never shows: digit d moving DIRECTIONS[d % 4]. */
export function isHeldOutPair(digit: Digit, direction: Direction): boolean {
  return DIRECTIONS[digit % 4] === direction;
}

/** One object of a scene: its attributes, the digit image it shows and where it starts. */
export interface SceneObject extends ObjectAttributes {
  /** the 28x28 grey image in [0, 1] */
  image: Float32Array;
  /** top-left corner of the scaled digit in the first frame, in whole pixels */
  x0: number;
  y0: number;
}

export interface Scene {
  objects: SceneObject[];
}

/** The range of first-frame corners that keep an object of this size and motion wholly inside the canvas for all frames. */
export function startRange(a: Pick<ObjectAttributes, 'direction' | 'speed' | 'size'>): { x: [number, number]; y: [number, number] } {
  const S = SIZE_PIXELS[a.size], travel = SPEED_PIXELS[a.speed] * (FRAMES - 1), [dx, dy] = DIRECTION_STEP[a.direction];
  const axis = (d: number): [number, number] => (d > 0 ? [0, SIDE - S - travel] : d < 0 ? [travel, SIDE - S] : [0, SIDE - S]);
  return { x: axis(dx), y: axis(dy) };
}

/** Where the object's scaled box has its top-left corner in frame f. */
export function positionAt(o: SceneObject, f: number): [number, number] {
  const v = SPEED_PIXELS[o.speed], [dx, dy] = DIRECTION_STEP[o.direction];
  return [o.x0 + dx * v * f, o.y0 + dy * v * f];
}
