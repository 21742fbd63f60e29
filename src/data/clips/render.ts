// The renderer of the clip world: a scene to 16 frames of 64x64 RGB in [0, 1]. It is the ground
// truth of tests and evaluation as well as the source of training clips.
import { COLOUR_RGB, FRAMES, positionAt, SIDE, SIZE_PIXELS, type Scene } from './world.js';

/** A 28x28 grey image scaled to S x S by averaging the source area under each target pixel (a box filter). */
export function scaleDigit(img: Float32Array, S: number, src = 28): Float32Array {
  const out = new Float32Array(S * S), r = src / S;
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    const y0 = y * r, y1 = (y + 1) * r, x0 = x * r, x1 = (x + 1) * r;
    let sum = 0;
    for (let sy = Math.floor(y0); sy < Math.ceil(y1); sy++) {
      const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
      for (let sx = Math.floor(x0); sx < Math.ceil(x1); sx++) sum += wy * (Math.min(x1, sx + 1) - Math.max(x0, sx)) * img[sy * src + sx];
    }
    out[y * S + x] = sum / (r * r);
  }
  return out;
}

/** [FRAMES, SIDE, SIDE, 3] in [0, 1]; overlapping objects combine by the brighter value per channel. */
export function renderScene(scene: Scene): Float32Array {
  const out = new Float32Array(FRAMES * SIDE * SIDE * 3);
  for (const o of scene.objects) {
    const S = SIZE_PIXELS[o.size], sprite = scaleDigit(o.image, S), rgb = COLOUR_RGB[o.colour];
    for (let f = 0; f < FRAMES; f++) {
      const [px, py] = positionAt(o, f), base = f * SIDE * SIDE * 3;
      for (let y = 0; y < S; y++) {
        const cy = py + y;
        if (cy < 0 || cy >= SIDE) continue;
        for (let x = 0; x < S; x++) {
          const cx = px + x, g = sprite[y * S + x];
          if (cx < 0 || cx >= SIDE || g <= 0) continue;
          const p = base + (cy * SIDE + cx) * 3;
          for (let c = 0; c < 3; c++) out[p + c] = Math.max(out[p + c], g * rgb[c]);
        }
      }
    }
  }
  return out;
}
