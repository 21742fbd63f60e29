// The sprite latent: a clip of the world is one 28x28 ink image moved rigidly, so its latent is
// 792 numbers, the ink (784, in [-1, 1]) and the path (8: tint, side, velocity, the centre at
// mid-path, each scaled to about [-1, 1]). The box-filter paste is its decoder, differentiable in
// all of them. Sprite diffusion denoises in it and the latent GAN draws in it (one decoder for both).
import * as tf from '@tensorflow/tfjs-core';
import { COLOUR_RGB, DIRECTION_STEP, FRAMES, SIDE, SIZE_PIXELS, SPEED_PIXELS, type SceneObject } from '../data/clips/world.js';

export const INK = 28, PATH = 8, SPRITE_LATENT = INK * INK + PATH;
const CANVAS = SIDE;

/**
 * The box-filter paste weights [N, 64, 28]: how much of output pixel i (the interval [i, i+1])
 * source pixel j of a sprite at `start` with pixels `k` wide covers, which is how the world's
 * renderer scales a digit. Differentiable in start and k. start, k: [N, 1, 1].
 */
export function pasteWeights(start: tf.Tensor, k: tf.Tensor): tf.Tensor3D {
  // both sides of minimum and maximum at full shape: their gradients do not sum over broadcast axes
  const i = tf.reshape(tf.range(0, CANVAS), [1, CANVAS, 1]), j = tf.reshape(tf.range(0, INK), [1, 1, INK]), rows = tf.zeros([1, CANVAS, 1]);
  const lo = tf.add(tf.add(start, tf.mul(j, k)), rows), hi = tf.add(lo, tf.add(k, rows));
  const N = lo.shape[0], iFull = tf.tile(i, [N, 1, INK]);
  return tf.relu(tf.sub(tf.minimum(tf.add(iFull, 1), hi), tf.maximum(iFull, lo))) as tf.Tensor3D;
}

/**
 * Frames [B*T, 64, 64, 3] of sprites: ink [B, 28, 28] in [0, 1] tinted [B, 3], `side` pixels wide
 * [B], its top-left corner at pos [B, T, 2] (x, y) in each of T frames; differentiable in all four.
 */
export function pasteSprite(ink: tf.Tensor3D, tint: tf.Tensor2D, side: tf.Tensor1D, pos: tf.Tensor3D): tf.Tensor4D {
  const [B, T] = pos.shape;
  const k = tf.reshape(tf.tile(tf.reshape(tf.div(side, INK), [B, 1]), [1, T]), [B * T, 1, 1]);
  const [px, py] = tf.split(tf.reshape(pos, [B * T, 2]), 2, 1).map((c) => tf.reshape(c, [B * T, 1, 1]));
  const inkT = tf.reshape(tf.tile(tf.expandDims(ink, 1), [1, T, 1, 1]), [B * T, INK, INK]);
  const grey = tf.matMul(tf.matMul(pasteWeights(py, k), inkT), pasteWeights(px, k), false, true); // [B*T, 64, 64]
  const tintT = tf.reshape(tf.tile(tf.expandDims(tint, 1), [1, T, 1]), [B * T, 1, 1, 3]);
  return tf.mul(tf.expandDims(grey, 3), tintT) as tf.Tensor4D;
}

/** Mid-path centre's scale: centres lie in [10, 54] (a small digit standing still), so (c - 32) / 22 is in [-1, 1]. */
const CENTRE = SIDE / 2, CENTRE_RANGE = 22, MID = (FRAMES - 1) / 2;

/** A scene object's sprite latent: ink [784] and path [8], the target the denoiser learns to draw. */
export function spriteLatent(o: SceneObject): Float32Array {
  const out = new Float32Array(SPRITE_LATENT), S = SIZE_PIXELS[o.size], v = SPEED_PIXELS[o.speed], [dx, dy] = DIRECTION_STEP[o.direction];
  for (let i = 0; i < INK * INK; i++) out[i] = 2 * o.image[i] - 1;
  const rgb = COLOUR_RGB[o.colour], p = INK * INK;
  out.set([2 * rgb[0] - 1, 2 * rgb[1] - 1, 2 * rgb[2] - 1, (S - 26) / 6, (dx * v) / 2, (dy * v) / 2,
    (o.x0 + dx * v * MID + S / 2 - CENTRE) / CENTRE_RANGE, (o.y0 + dy * v * MID + S / 2 - CENTRE) / CENTRE_RANGE], p);
  return out;
}

/** Sprite latents [B, 792] to frames [B * 16, 64, 64, 3] in [0, 1] by the paste (differentiable). */
export function decodeSpriteLatents(z: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const B = z.shape[0];
    const ink = tf.reshape(tf.clipByValue(tf.div(tf.add(tf.slice(z, [0, 0], [B, INK * INK]), 1), 2), 0, 1), [B, INK, INK]) as tf.Tensor3D;
    const path = tf.slice(z, [0, INK * INK], [B, PATH]);
    const tint = tf.clipByValue(tf.div(tf.add(tf.slice(path, [0, 0], [B, 3]), 1), 2), 0, 1) as tf.Tensor2D;
    const side = tf.clipByValue(tf.reshape(tf.add(26, tf.mul(6, tf.slice(path, [0, 3], [B, 1]))), [B]), 4, SIDE) as tf.Tensor1D;
    const v = tf.mul(2, tf.slice(path, [0, 4], [B, 2]));
    const mid = tf.sub(tf.add(CENTRE, tf.mul(CENTRE_RANGE, tf.slice(path, [0, 6], [B, 2]))), tf.div(tf.expandDims(side, 1), 2));
    const t = tf.reshape(tf.sub(tf.range(0, FRAMES), MID), [1, FRAMES, 1]);
    const pos = tf.add(tf.expandDims(mid, 1), tf.mul(t, tf.expandDims(v, 1))) as tf.Tensor3D;
    return pasteSprite(ink, tint, side, pos);
  });
}
