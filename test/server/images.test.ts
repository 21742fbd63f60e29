// Digits through the image models in the platform: restore a damaged digit, start from a sketch.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeGrayPng, encodeGrayPng } from '../../src/media/png.js';
import { initUnetWeights, Unet, type UnetConfig } from '../../src/models/unet.js';
import { AcousticModel, initAcousticWeights } from '../../src/models/acoustic.js';
import { defaultAcousticConfig } from '../../src/train/acousticRun.js';
import { espeak } from '../../src/data/speech.js';
import { encodeWav } from '../../src/data/wav.js';
import { buildApp } from '../../src/server/app.js';
import { ImageThread } from '../../src/server/images.js';
import { Rng } from '../../src/util/rng.js';

let app: FastifyInstance, bare: FastifyInstance, cookie = '', models = '';
const png = (pixels: Float32Array, w = 28, h = 28) => `data:image/png;base64,${encodeGrayPng({ width: w, height: h, pixels }).toString('base64')}`;
const pixelsOf = (data: string) => decodeGrayPng(Buffer.from(data.split(',')[1], 'base64'), 'reply');
const digit = Float32Array.from({ length: 784 }, (_, i) => ((i % 28) > 9 && (i % 28) < 18 && i > 120 && i < 660 ? 1 : 0));
const topHalf = Float32Array.from({ length: 784 }, (_, i) => (i < 392 ? 1 : 0));

beforeAll(async () => {
  models = mkdtempSync(join(tmpdir(), 'genlab-models-'));
  const cfg: UnetConfig = { channels: 1, groups: 8, tembDim: 32, classes: 10 }, m = new Unet(cfg, initUnetWeights(cfg, new Rng(1)));
  await saveCheckpoint(join(models, 'digits-diffusion'), { meta: { format: CHECKPOINT_FORMAT, family: 'diffusion', model: { ...cfg }, image: { height: 28, width: 28, classes: 10 }, data: 'mnist', step: 0, created: new Date().toISOString(), sampling: { steps: 3, guidance: 1.5, scheduler: 'ddim' } }, weights: Object.fromEntries(m.params) as tf.NamedTensorMap });
  m.dispose();
  const ac = { ...defaultAcousticConfig(), dim: 8, layers: 1 }, am = new AcousticModel(ac, initAcousticWeights(ac, new Rng(1)));
  await saveCheckpoint(join(models, 'voice'), { meta: { format: CHECKPOINT_FORMAT, family: 'voice', model: { ...ac }, data: 'espeak-ng', step: 0, created: new Date().toISOString() }, weights: Object.fromEntries(am.params) as tf.NamedTensorMap });
  am.dispose();
  const scrypt = { N: 2 ** 10, r: 8, p: 1 };
  ({ app } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-data-')), modelsDir: models, workers: 1, scrypt, authPerMinute: 1000, ratePerMinute: 100 }));
  ({ app: bare } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-data-')), modelsDir: mkdtempSync(join(tmpdir(), 'genlab-models-')), workers: 1, scrypt }));
  const body = { username: 'dora', password: 'correct horse' };
  expect((await app.inject({ method: 'POST', url: '/api/users', payload: body })).statusCode).toBe(201);
  cookie = `sid=${(await app.inject({ method: 'POST', url: '/api/sessions', payload: body })).cookies.find((k) => k.name === 'sid')!.value}`;
}, 60_000);
afterAll(async () => { await app?.close(); await bare?.close(); });

describe('digits in the platform', () => {
  it('restores the marked region of a damaged digit and keeps every other pixel', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/images/restore', headers: { cookie }, payload: { image: png(digit), mask: png(topHalf), digit: 4, seed: 2 } });
    expect(r.statusCode, r.body).toBe(200);
    const out = pixelsOf(r.json().image);
    expect([out.width, out.height]).toEqual([28, 28]);
    let keptOff = 0, filledOff = 0;
    for (let i = 0; i < 784; i++) (topHalf[i] ? (filledOff = Math.max(filledOff, Math.abs(out.pixels[i] - digit[i]))) : (keptOff = Math.max(keptOff, Math.abs(out.pixels[i] - digit[i]))));
    expect(keptOff).toBeLessThanOrEqual(1 / 255);
    expect(filledOff).toBeGreaterThan(0.05);
  }, 60_000);

  it('turns a sketch into n digits, the same seed giving the same ones', async () => {
    const ask = () => app.inject({ method: 'POST', url: '/api/images/sketch', headers: { cookie }, payload: { image: png(digit), n: 2, strength: 0.5, seed: 7 } });
    const a = await ask(), b = await ask();
    expect(a.statusCode, a.body).toBe(200);
    expect(a.json().images).toHaveLength(2);
    expect(a.json().images).toEqual(b.json().images);
  }, 60_000);

  it('bad input: a 4xx with a message; no session: 401; no digits model: 400', async () => {
    const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: { cookie }, payload: payload as object });
    const cases: [string, unknown, number, RegExp][] = [
      ['/api/images/restore', { image: 'hello', mask: png(topHalf) }, 400, /data URL/],
      ['/api/images/restore', { image: `data:image/jpeg;base64,${Buffer.from('xx').toString('base64')}`, mask: png(topHalf) }, 400, /data URL/],
      ['/api/images/restore', { image: `data:image/png;base64,${Buffer.from('not a png').toString('base64')}`, mask: png(topHalf) }, 400, /not a PNG/],
      ['/api/images/restore', { image: png(new Float32Array(27 * 27), 27, 27), mask: png(topHalf) }, 400, /27x27; the digit model takes 28x28/],
      ['/api/images/restore', { image: png(digit), mask: png(new Float32Array(784)) }, 400, /marks no pixel/],
      ['/api/images/restore', { image: png(digit) }, 400, /give a mask/],
      ['/api/images/restore', { image: png(digit), denoise: 0 }, 400, /denoise/],
      ['/api/images/sketch', { image: png(digit), digit: 10 }, 400, /digit/],
      ['/api/images/sketch', { image: png(digit), extra: 1 }, 400, /additional properties|extra/i],
    ];
    for (const [url, payload, code, msg] of cases) {
      const r = await post(url, payload);
      expect(r.statusCode, `${url} ${JSON.stringify(payload).slice(0, 80)}`).toBe(code);
      expect(r.json().message).toMatch(msg);
    }
    expect((await post('/api/images/sketch', { image: 'data:image/png;base64,' + 'A'.repeat(70_000) })).statusCode).toBe(413);
    expect((await app.inject({ method: 'POST', url: '/api/images/sketch', payload: { image: png(digit) } })).statusCode).toBe(401);
    const body = { username: 'eve', password: 'correct horse' };
    await bare.inject({ method: 'POST', url: '/api/users', payload: body });
    const c = `sid=${(await bare.inject({ method: 'POST', url: '/api/sessions', payload: body })).cookies.find((k) => k.name === 'sid')!.value}`;
    const none = await bare.inject({ method: 'POST', url: '/api/images/sketch', headers: { cookie: c }, payload: { image: png(digit) } });
    expect(none.statusCode).toBe(400);
    expect(none.json().message).toMatch(/no digits diffusion model/);
  }, 60_000);

  it('a spoken prompt: POST /api/voice with a WAV body answers the words heard and what they parse to; bad recordings get a 4xx', async () => {
    const wav = encodeWav(espeak('a big red seven moving left', { accent: 'en-us', variant: '', rate: 160, pitch: 50 }), 22050);
    const say = (body: Buffer | string, type = 'audio/wav', server = app, c = cookie) => server.inject({ method: 'POST', url: '/api/voice', headers: { cookie: c, 'content-type': type }, payload: body });
    const r = await say(wav);
    expect(r.statusCode, r.body).toBe(200);
    const v = r.json() as { text: string; attributes: Record<string, unknown>; seconds: number };
    expect(typeof v.text).toBe('string');
    expect(typeof v.attributes).toBe('object');
    expect(v.seconds).toBeGreaterThan(1);
    const notWav = await say(Buffer.from('OggS this is an ogg file'));
    expect(notWav.statusCode).toBe(400);
    expect(notWav.json().message).toMatch(/not a WAV file/);
    const long = await say(encodeWav(new Float32Array(8000 * 31), 8000));
    expect(long.statusCode).toBe(400);
    expect(long.json().message).toMatch(/at most 30 s/);
    expect((await say(Buffer.alloc(7 * 1024 * 1024))).statusCode).toBe(413);
    expect((await say('{"a":1}', 'application/json')).statusCode).toBe(415);
    const ogg = await say(wav, 'audio/ogg');
    expect(ogg.statusCode).toBe(415);
    expect(ogg.json().message).toMatch(/Content-Type: audio\/wav/);
    expect((await app.inject({ method: 'POST', url: '/api/voice', headers: { 'content-type': 'audio/wav' }, payload: wav })).statusCode).toBe(401);
    const body = { username: 'fay', password: 'correct horse' };
    await bare.inject({ method: 'POST', url: '/api/users', payload: body });
    const c = `sid=${(await bare.inject({ method: 'POST', url: '/api/sessions', payload: body })).cookies.find((k) => k.name === 'sid')!.value}`;
    const none = await say(wav, 'audio/wav', bare, c);
    expect(none.statusCode).toBe(400);
    expect(none.json().message).toMatch(/no acoustic model/);
  }, 60_000);

  it('a request past its time limit answers 503 and stops; the request behind it still runs, on a new thread', async () => {
    const th = new ImageThread();
    try {
      const job = { op: 'sketch' as const, checkpoint: join(models, 'digits-diffusion'), image: digit, strength: 0.9, n: 8, seed: 1 };
      const [slow, next] = await Promise.all([th.run(job, 1), th.run({ ...job, n: 1 })]);
      expect(slow).toMatchObject({ ok: false, status: 503, error: expect.stringMatching(/took longer than 0.001 s and was stopped/) });
      expect(next, JSON.stringify(next).slice(0, 200)).toMatchObject({ ok: true, width: 28, height: 28 });
      expect(() => th.run(job, 0)).toThrow(/not positive/);
    } finally {
      await th.close();
    }
    const { app: strict } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-data-')), modelsDir: models, workers: 1, scrypt: { N: 2 ** 10, r: 8, p: 1 }, modelTimeoutMs: 1 });
    try {
      const body = { username: 'gus', password: 'correct horse' };
      await strict.inject({ method: 'POST', url: '/api/users', payload: body });
      const c = `sid=${(await strict.inject({ method: 'POST', url: '/api/sessions', payload: body })).cookies.find((k) => k.name === 'sid')!.value}`;
      const r = await strict.inject({ method: 'POST', url: '/api/images/sketch', headers: { cookie: c }, payload: { image: png(digit), n: 4 } });
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json().message).toMatch(/took longer than/);
    } finally {
      await strict.close();
    }
  }, 60_000);
});
