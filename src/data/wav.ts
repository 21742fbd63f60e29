// WAV files in, mono 16 kHz samples out: PCM 8/16/24/32-bit or 32/64-bit float (WAVE_FORMAT_EXTENSIBLE
// too), any sample rate from 4 to 192 kHz, any channel count (averaged). Anything else is a UserError.
import { UserError } from '../util/errors.js';

export const SPEECH_RATE = 16_000;

export interface Audio { rate: number; samples: Float32Array }

/** Parses a RIFF/WAVE buffer into mono samples in [-1, 1] at the file's own rate. */
export function decodeWav(buf: Uint8Array, what = 'the audio'): Audio {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number) => String.fromCharCode(buf[o], buf[o + 1], buf[o + 2], buf[o + 3]);
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new UserError(`${what} is not a WAV file (no RIFF/WAVE header)`);
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  for (let o = 12; o + 8 <= buf.length;) {
    const id = tag(o), size = dv.getUint32(o + 4, true), body = o + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new UserError(`${what}: its fmt chunk is cut short`);
      let format = dv.getUint16(body, true);
      if (format === 0xfffe && size >= 26) format = dv.getUint16(body + 24, true); // extensible: the sub-format's first two bytes
      fmt = { format, channels: dv.getUint16(body + 2, true), rate: dv.getUint32(body + 4, true), bits: dv.getUint16(body + 14, true) };
    } else if (id === 'data') {
      // streamed WAVs (espeak-ng --stdout) write 0 or 0xffffffff as the size: the data runs to the end
      data = buf.subarray(body, size === 0 || size === 0xffffffff || body + size > buf.length ? buf.length : body + size);
      if (fmt) break;
    }
    o = body + size + (size & 1);
    if (size === 0xffffffff) break;
  }
  if (!fmt) throw new UserError(`${what}: a WAV file without a fmt chunk`);
  if (!data) throw new UserError(`${what}: a WAV file without a data chunk`);
  const { format, channels, rate, bits } = fmt;
  const pcm = format === 1 && [8, 16, 24, 32].includes(bits), float = format === 3 && (bits === 32 || bits === 64);
  if (!pcm && !float) throw new UserError(`${what}: WAV encoding ${format} with ${bits}-bit samples is not supported (PCM 8/16/24/32-bit or 32/64-bit float)`);
  if (channels < 1 || channels > 16) throw new UserError(`${what}: ${channels} channels`);
  if (rate < 4000 || rate > 192_000) throw new UserError(`${what}: sample rate ${rate} Hz is outside 4,000-192,000`);
  const bytes = bits / 8, frames = Math.floor(data.length / (bytes * channels));
  if (frames === 0) throw new UserError(`${what}: the WAV file holds no samples`);
  const d = new DataView(data.buffer, data.byteOffset, data.byteLength), out = new Float32Array(frames);
  const read = (o: number): number => {
    if (float) return bits === 32 ? d.getFloat32(o, true) : d.getFloat64(o, true);
    if (bits === 8) return (d.getUint8(o) - 128) / 128;
    if (bits === 16) return d.getInt16(o, true) / 32768;
    if (bits === 24) return (((d.getUint8(o + 2) << 24) | (d.getUint8(o + 1) << 16) | (d.getUint8(o) << 8)) >> 8) / 8388608;
    return d.getInt32(o, true) / 2147483648;
  };
  for (let i = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += read((i * channels + c) * bytes);
    if (!Number.isFinite(s)) throw new UserError(`${what}: sample ${i} is not a finite number (a float WAV holding NaN or infinity)`);
    out[i] = Math.max(-1, Math.min(1, s / channels));
  }
  return { rate, samples: out };
}

/** Resamples to `to` Hz: a windowed-sinc low-pass at the lower Nyquist frequency, then interpolation (16 taps a side). */
export function resample(a: Audio, to = SPEECH_RATE): Float32Array {
  if (a.rate === to) return a.samples;
  const ratio = to / a.rate, n = Math.floor(a.samples.length * ratio), out = new Float32Array(n);
  const cut = Math.min(1, ratio), taps = 16, x = a.samples;
  for (let i = 0; i < n; i++) {
    const t = i / ratio, c = Math.floor(t);
    let s = 0, wsum = 0;
    for (let k = c - taps + 1; k <= c + taps; k++) {
      if (k < 0 || k >= x.length) continue;
      const u = t - k, arg = Math.PI * u * cut;
      const sinc = u === 0 ? 1 : Math.sin(arg) / arg, win = 0.5 + 0.5 * Math.cos((Math.PI * u) / (taps + 1));
      s += x[k] * sinc * win; wsum += sinc * win;
    }
    out[i] = wsum ? s / wsum : 0;
  }
  return out;
}

/** A 16-bit PCM mono WAV of samples in [-1, 1] (for tests and the synthesised corpus). */
export function encodeWav(samples: Float32Array, rate: number): Buffer {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples.length * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((v, i) => b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, v)) * 32767), 44 + i * 2));
  return b;
}
