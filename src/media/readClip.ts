// Reading a clip file back into frames [frames, side, side, 3] in [0, 1] (the clip world's 16 of 64x64), for the captioner: a GIF through
// omggif (pure JavaScript: no ffmpeg needed), an MP4 through Debian's ffmpeg. Frames K times the
// world's size (`genlab generate --scale K`) are averaged back down; anything else is a clear error.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { GifReader } from 'omggif';
import { UserError } from '../util/errors.js';
import { readUserFile } from '../util/files.js';

/** a 16-frame GIF at scale 8 is about 4 MB; anything far larger is not a clip of this world */
export const MAX_CLIP_BYTES = 32 * 1024 * 1024;

/** The clip shape a reader expects: frames of side x side. */
export interface ClipFormat { frames: number; side: number }

/** RGBA frames [n][h * w * 4] (bytes) to [frames, side, side, 3] in [0, 1], box-averaging a K-times larger picture. */
export function framesFromRgba(rgba: Uint8Array[], width: number, height: number, what: string, { frames: FRAMES, side: SIDE }: ClipFormat): Float32Array {
  if (rgba.length !== FRAMES) throw new UserError(`${what} has ${rgba.length} frame(s); a clip of the clip world has ${FRAMES}`);
  const k = width / SIDE;
  if (width !== height || !Number.isInteger(k) || k < 1) throw new UserError(`${what} is ${width}x${height}; a clip of the clip world is ${SIDE}x${SIDE} (or a whole multiple, from genlab generate --scale K)`);
  const out = new Float32Array(FRAMES * SIDE * SIDE * 3), norm = 1 / (255 * k * k);
  rgba.forEach((f, i) => {
    for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) s += f[((y * k + dy) * width + x * k + dx) * 4 + c];
      out[((i * SIDE + y) * SIDE + x) * 3 + c] = s * norm;
    }
  });
  return out;
}

export function decodeGifFrames(bytes: Uint8Array, what: string, f: ClipFormat): Float32Array {
  const FRAMES = f.frames;
  let r: GifReader;
  try {
    r = new GifReader(bytes);
  } catch (e) {
    throw new UserError(`${what} is not a readable GIF (${(e as Error).message})`);
  }
  const n = r.numFrames(), W = r.width, H = r.height;
  if (n !== FRAMES) throw new UserError(`${what} has ${n} frame(s); a clip of the clip world has ${FRAMES}`);
  if (W * H > 4096 * 4096) throw new UserError(`${what} is ${W}x${H}: too large for a clip`);
  // each frame is drawn over the last (GIF frames may cover only part of the canvas)
  const canvas = new Uint8Array(W * H * 4), frames: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    try {
      r.decodeAndBlitFrameRGBA(i, canvas);
    } catch (e) {
      throw new UserError(`${what}: frame ${i + 1} cannot be decoded (${(e as Error).message})`);
    }
    frames.push(canvas.slice());
  }
  return framesFromRgba(frames, W, H, what, f);
}

function decodeMp4Frames(path: string, { frames: FRAMES, side: SIDE }: ClipFormat): Float32Array {
  // ffmpeg scales to the world's 64x64 (area averaging) and writes raw RGB; the frame count is what it gives
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-i', path, '-vf', `scale=${SIDE}:${SIDE}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 256 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError('reading an MP4 needs ffmpeg, which is not installed (Debian: apt-get install ffmpeg); give the GIF instead');
  if (r.status !== 0) throw new UserError(`${path} is not a readable video: ${(r.stderr?.toString() ?? '').trim().split('\n').slice(-1)[0] || `ffmpeg exited with ${r.status}`}`);
  const per = SIDE * SIDE * 3, n = r.stdout.length / per;
  if (n !== FRAMES) throw new UserError(`${path} has ${n} frame(s); a clip of the clip world has ${FRAMES}`);
  return Float32Array.from(r.stdout, (v) => v / 255);
}

/** The frames of a .gif or .mp4 clip file, [frames, side, side, 3] in [0, 1]. */
export function readClipFile(path: string, f: ClipFormat): Float32Array {
  const lower = path.toLowerCase();
  if (!lower.endsWith('.gif') && !lower.endsWith('.mp4')) throw new UserError(`${path}: give a .gif or .mp4 clip`);
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    readUserFile(path); // the clear error for a missing or unreadable file
  }
  if (size > MAX_CLIP_BYTES) throw new UserError(`${path} is ${(size / 1048576).toFixed(0)} MB; a clip is at most ${MAX_CLIP_BYTES / 1048576} MB`);
  if (lower.endsWith('.mp4')) {
    readUserFile(path); // a directory or an unreadable file: the same clear errors as everywhere
    return decodeMp4Frames(path, f);
  }
  return decodeGifFrames(new Uint8Array(readUserFile(path)), path, f);
}
