// Clip files: GIF, PNG strip and MP4 decodable with the right frame count, size and frame rate;
// `genlab render` end to end, and its errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gifInfo } from '../../src/media/gif.js';
import { writeClip } from '../../src/media/clip.js';
import { decodeGrayPng } from '../../src/media/png.js';
import { renderText } from '../../src/pipelines/clips.js';
import { expectUserError, run } from '../cli/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'genlab-clip-'));
const clip = renderText('a big red 3 moving left quickly', { seed: 1 });
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

describe('clip files', () => {
  it('GIF: 16 frames of 64x64 (or K times larger) that play for 2 s at 8 fps and loop', () => {
    for (const scale of [1, 3]) {
      const p = join(dir, `c${scale}.gif`);
      writeClip(p, clip.frames, clip.shape, { scale });
      const info = gifInfo(readFileSync(p));
      expect([info.width, info.height, info.frames]).toEqual([64 * scale, 64 * scale, 16]);
      expect(info.delaysMs.reduce((a, b) => a + b, 0)).toBe(2000);
      expect(readFileSync(p).includes(Buffer.from('NETSCAPE2.0'))).toBe(true); // the looping extension
    }
  });
  it('PNG: the 16 frames as one strip, colours kept', () => {
    const p = join(dir, 'c.png');
    writeClip(p, clip.frames, clip.shape, { scale: 2 });
    const img = decodeGrayPng(readFileSync(p), p);
    expect([img.width, img.height]).toEqual([16 * 128 + 15 * 2, 128]);
  });
  it.runIf(hasFfmpeg)('MP4 through ffmpeg: 16 frames at 8 fps, 64x64', () => {
    const p = join(dir, 'c.mp4');
    writeClip(p, clip.frames, clip.shape);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate,nb_read_frames', '-of', 'json', p], { encoding: 'utf8' });
    const s = JSON.parse(probe.stdout).streams[0];
    expect([s.width, s.height, s.r_frame_rate, Number(s.nb_read_frames)]).toEqual([64, 64, '8/1', 16]);
  });
  it('MP4 without ffmpeg is one clear error', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'genlab.js'), 'render', 'a 3', '--out', join(dir, 'x.mp4')], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    expectUserError({ code: r.status ?? -1, err: r.stderr }, /MP4 needs ffmpeg, which is not installed/);
  });
});

describe('genlab render', () => {
  it('writes the true clip and reports attributes, defaults, draws and ignored words', () => {
    const out = join(dir, 'r.gif');
    const r = run('render', 'a red 3 spinning', '--out', out, '--seed', '4');
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(r.out);
    expect(rep.attributes[0]).toMatchObject({ digit: 3, colour: 'red', speed: 'slow', size: 'large' });
    expect(rep.defaults[0]).toEqual({ speed: 'slow', size: 'large' });
    expect(Object.keys(rep.drawn[0])).toEqual(['direction']);
    expect(rep.ignored).toEqual(['spinning']);
    expect(gifInfo(readFileSync(out)).frames).toBe(16);
    expect(run('render', 'a red 3 spinning', '--out', join(dir, 'r2.gif'), '--seed', '4').code).toBe(0);
    expect(readFileSync(join(dir, 'r2.gif')).equals(readFileSync(out))).toBe(true); // the same seed, the same clip
  });
  it('refuses bad text and bad outputs with one line each', () => {
    expectUserError(run('render', 'a red blue 3', '--out', join(dir, 'e.gif')), /two colours for one object/);
    expectUserError(run('render', '', '--out', join(dir, 'e.gif')), /empty/);
    expectUserError(run('render', 'a 3', '--out', join(dir, 'e.jpg')), /--out must name a \.gif, \.png, \.mp4 file/);
    writeFileSync(join(dir, 'notes.gif'), 'mine');
    expectUserError(run('render', 'a 3', '--out', join(dir, 'notes.gif')), /exists and is not a GIF; genlab will not overwrite it/);
    expectUserError(run('render', 'a 3', '--out', join(dir, 'e.gif'), '--scale', '50'), /--scale must be a whole number from 1 to 16/);
  });
});
