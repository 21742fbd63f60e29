import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, resample } from '../../src/data/wav.js';

/** A WAV file of interleaved sample bytes with a given fmt chunk. */
function wav(format: number, channels: number, rate: number, bits: number, body: Buffer, extensible = false): Buffer {
  const fmtSize = extensible ? 40 : 16, h = Buffer.alloc(12 + 8 + fmtSize + 8);
  h.write('RIFF', 0); h.writeUInt32LE(h.length - 8 + body.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(fmtSize, 16); h.writeUInt16LE(extensible ? 0xfffe : format, 20); h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * channels * bits / 8, 28); h.writeUInt16LE(channels * bits / 8, 32); h.writeUInt16LE(bits, 34);
  if (extensible) { h.writeUInt16LE(22, 36); h.writeUInt16LE(bits, 38); h.writeUInt32LE(0, 40); h.writeUInt16LE(format, 44); }
  const d = 20 + fmtSize;
  h.write('data', d); h.writeUInt32LE(body.length, d + 4);
  return Buffer.concat([h, body]);
}

describe('WAV files', () => {
  const values = [0, 0.5, -0.5, 0.25];
  it('reads 8, 16, 24 and 32-bit PCM and 32/64-bit float, and extensible headers, to the same samples', () => {
    const b8 = Buffer.from(values.map((v) => Math.round(v * 128) + 128));
    const b16 = Buffer.alloc(8); values.forEach((v, i) => b16.writeInt16LE(Math.round(v * 32767), i * 2));
    const b24 = Buffer.alloc(12); values.forEach((v, i) => b24.writeIntLE(Math.round(v * 8388607), i * 3, 3));
    const b32 = Buffer.alloc(16); values.forEach((v, i) => b32.writeInt32LE(Math.round(v * 2147483647), i * 4));
    const f32 = Buffer.alloc(16); values.forEach((v, i) => f32.writeFloatLE(v, i * 4));
    const f64 = Buffer.alloc(32); values.forEach((v, i) => f64.writeDoubleLE(v, i * 8));
    for (const [f, bits, body, ext] of [[1, 8, b8, false], [1, 16, b16, false], [1, 24, b24, false], [1, 32, b32, false], [3, 32, f32, false], [3, 64, f64, false], [1, 16, b16, true]] as const) {
      const a = decodeWav(wav(f, 1, 8000, bits, body, ext));
      expect(a.rate).toBe(8000);
      Array.from(a.samples).forEach((s, i) => expect(s).toBeCloseTo(values[i], 2));
    }
  });

  it('averages the channels of stereo, and round-trips its own 16-bit files', () => {
    const st = Buffer.alloc(8); [0.5, -0.5, 0.5, 0.25].forEach((v, i) => st.writeInt16LE(Math.round(v * 32767), i * 2));
    expect(Array.from(decodeWav(wav(1, 2, 44100, 16, st)).samples).map((v) => +v.toFixed(3))).toEqual([0, 0.375]);
    const x = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i / 5) * 0.8);
    const back = decodeWav(encodeWav(x, 16000));
    expect(back.rate).toBe(16000);
    back.samples.forEach((v, i) => expect(v).toBeCloseTo(x[i], 3));
  });

  it('resamples a 440 Hz tone from 22,050 and 44,100 Hz to 16 kHz: same pitch, same level, the right length', () => {
    for (const rate of [22050, 44100, 8000]) {
      const n = rate, x = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate));
      const y = resample({ rate, samples: x });
      expect(y.length).toBe(16000);
      // the tone's phase at 16 kHz, away from the edges
      let err = 0;
      for (let i = 1000; i < 15000; i++) err = Math.max(err, Math.abs(y[i] - 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
      expect(err).toBeLessThan(0.02);
    }
  });

  it('refuses what is not a WAV file, a compressed encoding, and a file without samples, with a clear message', () => {
    expect(() => decodeWav(Buffer.from('ID3 this is an mp3'), 'x.wav')).toThrow(/x\.wav is not a WAV file/);
    expect(() => decodeWav(wav(2, 1, 8000, 4, Buffer.alloc(10)))).toThrow(/encoding 2 .* not supported/);
    expect(() => decodeWav(wav(1, 1, 8000, 16, Buffer.alloc(0)))).toThrow(/no samples/);
    expect(() => decodeWav(wav(1, 1, 1000, 16, Buffer.alloc(4)))).toThrow(/sample rate 1000/);
    expect(() => decodeWav(Buffer.from('RIFF\0\0\0\0WAVE'))).toThrow(/without a fmt chunk/);
    const nan = Buffer.alloc(8); nan.writeFloatLE(0.5, 0); nan.writeFloatLE(Number.NaN, 4);
    expect(() => decodeWav(wav(3, 1, 8000, 32, nan))).toThrow(/sample 1 is not a finite number/);
  });
});
