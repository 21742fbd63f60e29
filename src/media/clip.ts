// A clip [frames, h, w, 3] in [0, 1] to a file by its extension: .gif (looping, at the clip's
// frame rate), .png (the frames as one strip) or .mp4 (H.264 through Debian's ffmpeg, raw RGB on
// its stdin). Written atomically; a missing ffmpeg is one clear error.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { checkOutputFile, writeFileAtomic } from '../util/files.js';
import { encodeGif, framesToRgba } from './gif.js';
import { encodeRgbPng, frameStrip } from './png.js';

export const CLIP_EXTENSIONS = ['.gif', '.png', '.mp4'] as const;
// what an existing file must begin with (MP4: 'ftyp' after the box size) to be replaced
const MAGIC: Record<string, { bytes: Uint8Array; at: number }> = {
  '.gif': { bytes: Uint8Array.from([0x47, 0x49, 0x46, 0x38]), at: 0 },
  '.png': { bytes: Uint8Array.from([0x89, 0x50, 0x4e, 0x47]), at: 0 },
  '.mp4': { bytes: Uint8Array.from([0x66, 0x74, 0x79, 0x70]), at: 4 },
};

export interface ClipShape { frames: number; height: number; width: number; fps: number }

function extensionOf(path: string): string {
  const ext = CLIP_EXTENSIONS.find((e) => path.toLowerCase().endsWith(e));
  if (!ext) throw new UserError(`--out must name a ${CLIP_EXTENSIONS.join(', ')} file, got ${path}`);
  return ext;
}

/** Checks an output path for a clip before any work is done (`flag` names it in errors). */
export function checkClipOutput(path: string, inputs: string[] = [], flag = '--out'): void {
  const ext = extensionOf(path);
  checkOutputFile(path, { extensions: [ext], magic: MAGIC[ext].bytes, magicAt: MAGIC[ext].at, kind: ext.slice(1).toUpperCase(), inputs, flag });
}

/** Whether Debian's ffmpeg (or any on PATH) runs. */
export function ffmpegAvailable(): boolean {
  const r = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function rgbOf(frames: Float32Array, s: ClipShape, scale: number): { rgb: Uint8Array; W: number; H: number } {
  const raw = framesToRgba(frames, s.frames, s.height, s.width, scale);
  const W = s.width * scale, H = s.height * scale, rgb = new Uint8Array(s.frames * W * H * 3);
  raw.forEach((f, i) => { for (let p = 0; p < W * H; p++) for (let c = 0; c < 3; c++) rgb[(i * W * H + p) * 3 + c] = f[p * 4 + c]; });
  return { rgb, W, H };
}

const ffmpegArgs = (W: number, H: number, fps: number, out: string) => ['-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', '-',
  '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-y', out];
const NO_FFMPEG = 'MP4 needs ffmpeg, which is not installed (Debian: apt-get install ffmpeg); write a .gif or .png instead';

export function encodeMp4(frames: Float32Array, s: ClipShape, scale: number): Uint8Array {
  const { rgb, W, H } = rgbOf(frames, s, scale);
  // to a private temporary file: MP4's index ('moov', moved to the front for streaming) needs a seekable output
  const dir = mkdtempSync(join(tmpdir(), 'genlab-mp4-')), tmp = join(dir, 'clip.mp4');
  try {
    const r = spawnSync('ffmpeg', ffmpegArgs(W, H, s.fps, tmp), { input: rgb });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(NO_FFMPEG);
    if (r.status !== 0) throw new UserError(`ffmpeg could not encode the clip: ${(r.stderr?.toString() ?? '').trim().split('\n').slice(-2).join(' | ')}`);
    return new Uint8Array(readFileSync(tmp));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** encodeMp4 without blocking the event loop (the server's), killed after `timeoutMs`. */
export function encodeMp4Async(frames: Float32Array, s: ClipShape, scale: number, timeoutMs = 30_000): Promise<Uint8Array> {
  const { rgb, W, H } = rgbOf(frames, s, scale);
  const dir = mkdtempSync(join(tmpdir(), 'genlab-mp4-')), tmp = join(dir, 'clip.mp4');
  return new Promise<Uint8Array>((resolve, reject) => {
    const p = spawn('ffmpeg', ffmpegArgs(W, H, s.fps, tmp), { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutMs });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new UserError(NO_FFMPEG) : e));
    p.on('close', (code) => (code === 0 ? resolve(new Uint8Array(readFileSync(tmp))) : reject(new UserError(`ffmpeg could not encode the clip: ${err.trim().split('\n').slice(-2).join(' | ') || `exit ${code}`}`))));
    p.stdin!.on('error', () => { /* reported by close */ });
    p.stdin!.end(rgb);
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Encodes the clip as the extension says and writes it atomically. */
export function writeClip(path: string, frames: Float32Array, s: ClipShape, o: { scale?: number; inputs?: string[]; flag?: string } = {}): void {
  const scale = o.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 16) throw new UserError(`--scale must be a whole number from 1 to 16, got ${o.scale}`);
  checkClipOutput(path, o.inputs, o.flag);
  const ext = extensionOf(path);
  const bytes = ext === '.gif' ? encodeGif(frames, { ...s, scale })
    : ext === '.png' ? encodeRgbPng(frameStrip(frames, s.frames, s.height, s.width, scale))
      : encodeMp4(frames, s, scale);
  writeFileAtomic(path, bytes);
}
