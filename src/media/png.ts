// PNG in and out for image models: grayscale images as Float32Array in [0, 1], grids of them,
// clear errors for files that are not PNGs or have the wrong size, and atomic writes.
import { PNG } from 'pngjs';
import { UserError } from '../util/errors.js';
import { readUserFile } from '../util/files.js';

export interface GrayImage {
  width: number;
  height: number;
  /** [height * width] in [0, 1] */
  pixels: Float32Array;
}

export function encodeGrayPng(img: GrayImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    const v = Math.round(Math.min(1, Math.max(0, img.pixels[i])) * 255);
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Decodes a PNG to grayscale (the mean of R, G, B, times alpha); `what` names the source in errors. */
export function decodeGrayPng(buf: Buffer, what: string): GrayImage {
  const magic = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(magic)) throw new UserError(`${what} is not a PNG file`);
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    throw new UserError(`${what} is a damaged PNG (${(e as Error).message})`);
  }
  const pixels = new Float32Array(png.width * png.height);
  for (let i = 0; i < pixels.length; i++) {
    const d = png.data;
    pixels[i] = ((d[4 * i] + d[4 * i + 1] + d[4 * i + 2]) / (3 * 255)) * (d[4 * i + 3] / 255);
  }
  return { width: png.width, height: png.height, pixels };
}

/** Reads a PNG that must be `width` x `height` (a UserError names both sizes otherwise). */
export function readGrayPng(path: string, size?: { width: number; height: number }): GrayImage {
  const img = decodeGrayPng(readUserFile(path), path);
  if (size && (img.width !== size.width || img.height !== size.height)) {
    throw new UserError(`${path} is ${img.width}x${img.height}; the model takes ${size.width}x${size.height} images`);
  }
  return img;
}

/** Lays out n images of h x w in rows of `cols`, with `pad` black pixels between them. */
export function imageGrid(images: Float32Array, n: number, h: number, w: number, cols = Math.ceil(Math.sqrt(n)), pad = 2): GrayImage {
  const rows = Math.ceil(n / cols);
  const width = cols * w + (cols + 1) * pad, height = rows * h + (rows + 1) * pad;
  const pixels = new Float32Array(width * height);
  for (let k = 0; k < n; k++) {
    const x0 = pad + (k % cols) * (w + pad), y0 = pad + Math.floor(k / cols) * (h + pad);
    for (let y = 0; y < h; y++) pixels.set(images.subarray(k * h * w + y * w, k * h * w + (y + 1) * w), (y0 + y) * width + x0);
  }
  return { width, height, pixels };
}

/** An RGB image [height * width * 3] in [0, 1] as PNG bytes. */
export function encodeRgbPng(img: { width: number; height: number; rgb: Float32Array }): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) png.data[4 * i + c] = Math.round(Math.min(1, Math.max(0, img.rgb[3 * i + c])) * 255);
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** Frames [n, h, w, 3] side by side in one row, each pixel `scale` times, `pad` black pixels between. */
export function frameStrip(frames: Float32Array, n: number, h: number, w: number, scale = 1, pad = 2): { width: number; height: number; rgb: Float32Array } {
  const H = h * scale, W = w * scale, width = n * W + (n - 1) * pad, rgb = new Float32Array(H * width * 3);
  for (let f = 0; f < n; f++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const s = ((f * h + Math.floor(y / scale)) * w + Math.floor(x / scale)) * 3, d = (y * width + f * (W + pad) + x) * 3;
    rgb[d] = frames[s]; rgb[d + 1] = frames[s + 1]; rgb[d + 2] = frames[s + 2];
  }
  return { width, height: H, rgb };
}
