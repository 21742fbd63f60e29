// Animated GIFs of clips (gifenc: one palette quantized over all frames, so colours do not flicker
// between frames), and the few header facts a test or a caller needs back from a GIF.
import * as gifencModule from 'gifenc';

interface GifEncoderApi {
  writeFrame(index: Uint8Array, width: number, height: number, opts: { palette?: number[][]; delay?: number; repeat?: number }): void;
  finish(): void;
  bytes(): Uint8Array;
}
// CommonJS under Node's loader (the functions on the default export), ESM under vitest's (named exports)
const gifenc = ((gifencModule as { default?: unknown }).default ?? gifencModule) as Record<string, unknown>;
const { GIFEncoder, quantize, applyPalette } = (typeof gifenc.quantize === 'function' ? gifenc : gifencModule) as unknown as {
  GIFEncoder(): GifEncoderApi;
  quantize(rgba: Uint8Array, maxColors: number): number[][];
  applyPalette(rgba: Uint8Array, palette: number[][]): Uint8Array;
};

/** Frames [n, h, w, 3] in [0, 1] as RGBA bytes, each pixel repeated `scale` times in both directions. */
export function framesToRgba(frames: Float32Array, n: number, h: number, w: number, scale = 1): Uint8Array[] {
  const H = h * scale, W = w * scale;
  return Array.from({ length: n }, (_, f) => {
    const out = new Uint8Array(H * W * 4);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const s = ((f * h + Math.floor(y / scale)) * w + Math.floor(x / scale)) * 3, d = (y * W + x) * 4;
      for (let c = 0; c < 3; c++) out[d + c] = Math.round(Math.min(1, Math.max(0, frames[s + c])) * 255);
      out[d + 3] = 255;
    }
    return out;
  });
}

/** An animated GIF that loops forever at `fps`. */
export function encodeGif(frames: Float32Array, o: { frames: number; height: number; width: number; fps: number; scale?: number }): Uint8Array {
  const scale = o.scale ?? 1, rgba = framesToRgba(frames, o.frames, o.height, o.width, scale);
  const all = new Uint8Array(rgba.reduce((s, f) => s + f.length, 0));
  rgba.reduce((off, f) => { all.set(f, off); return off + f.length; }, 0);
  const palette = quantize(all, 256), gif = GIFEncoder();
  // GIF delays are whole hundredths of a second: 8 fps (12.5 cs) alternates 13 and 12 so that the clip lasts exactly 2 s
  const cs = (f: number) => Math.round((f * 100) / o.fps);
  rgba.forEach((f, i) => gif.writeFrame(applyPalette(f, palette), o.width * scale, o.height * scale, { palette, delay: (cs(i + 1) - cs(i)) * 10, repeat: 0 }));
  gif.finish();
  return gif.bytes();
}

/** Size, frame count and per-frame delays (ms) read from a GIF's blocks. */
export function gifInfo(b: Uint8Array): { width: number; height: number; frames: number; delaysMs: number[] } {
  const sig = String.fromCharCode(...b.subarray(0, 6));
  if (sig !== 'GIF89a' && sig !== 'GIF87a') throw new Error('not a GIF');
  const width = b[6] | (b[7] << 8), height = b[8] | (b[9] << 8);
  let p = 13;
  if (b[10] & 0x80) p += 3 * (1 << ((b[10] & 7) + 1));
  const delays: number[] = [];
  let frames = 0;
  const skipSubBlocks = () => { while (b[p] !== 0) p += b[p] + 1; p += 1; };
  while (p < b.length) {
    const t = b[p++];
    if (t === 0x3b) break;
    if (t === 0x21) {
      const label = b[p++];
      if (label === 0xf9) delays.push((b[p + 2] | (b[p + 3] << 8)) * 10);
      skipSubBlocks();
    } else if (t === 0x2c) {
      frames += 1;
      const flags = b[p + 8];
      p += 9;
      if (flags & 0x80) p += 3 * (1 << ((flags & 7) + 1));
      p += 1; // LZW minimum code size
      skipSubBlocks();
    } else throw new Error(`unexpected GIF block 0x${t.toString(16)}`);
  }
  return { width, height, frames, delaysMs: delays };
}
