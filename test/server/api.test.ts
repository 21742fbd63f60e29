// The platform's API through app.inject, with a tiny random clip-diffusion model and one worker thread.
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { gifInfo } from '../../src/media/gif.js';
import { buildApp } from '../../src/server/app.js';
import type { JobRunner } from '../../src/server/jobs.js';
import { tinyClipDiffusion } from '../models/clipFixtures.js';
import { Captioner, initCaptionerWeights } from '../../src/models/captioner.js';
import { defaultCaptionerConfig } from '../../src/train/captionerRun.js';
import { Rng } from '../../src/util/rng.js';
import { parseText } from '../../src/data/clips/words.js';

const CHEAP = { N: 2 ** 10, r: 8, p: 1 }; // the tests' scrypt cost (the server's default is OWASP's 2^17)
let app: FastifyInstance, dataDir: string, jobs: JobRunner;
export let modelsDir = '';

beforeAll(async () => {
  const models = mkdtempSync(join(tmpdir(), 'genlab-models-')), m = tinyClipDiffusion(3);
  modelsDir = models;
  await saveCheckpoint(join(models, 'clips-diffusion'), { meta: { format: CHECKPOINT_FORMAT, family: 'clip-diffusion', model: { ...m.config }, step: 0, created: new Date().toISOString(), sampling: { steps: 2, guidance: 2 } }, weights: Object.fromEntries(m.params) as tf.NamedTensorMap });
  m.dispose();
  // a tiny random clip captioner: the platform titles each clip with its caption
  const cc = { ...defaultCaptionerConfig(), dim: 16, c1: 4, c2: 8, c3: 8, g1: 4, g2: 4 }, cap = new Captioner(cc, initCaptionerWeights(cc, new Rng(1)));
  await saveCheckpoint(join(models, 'captions'), { meta: { format: CHECKPOINT_FORMAT, family: 'captioner', model: { ...cc }, step: 0, created: new Date().toISOString() }, weights: Object.fromEntries(cap.params) as tf.NamedTensorMap });
  cap.dispose();
  // the shipped summariser (229 KB): long, chatty descriptions with summarise: true
  cpSync(join(import.meta.dirname, '..', '..', 'models', 'summarise'), join(models, 'summarise'), { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'genlab-data-'));
  ({ app, jobs } = await buildApp({ dataDir, modelsDir: models, workers: 1, scrypt: CHEAP, quota: 3, ratePerMinute: 6, authPerMinute: 1000 }));
}, 60_000);
afterAll(async () => { await app?.close(); });

async function person(name: string): Promise<string> {
  const c = await app.inject({ method: 'POST', url: '/api/users', payload: { username: name, password: 'correct horse' } });
  expect(c.statusCode, c.body).toBe(201);
  const s = await app.inject({ method: 'POST', url: '/api/sessions', payload: { username: name, password: 'correct horse' } });
  expect(s.statusCode).toBe(200);
  const cookie = s.cookies.find((k) => k.name === 'sid')!;
  expect(cookie.httpOnly).toBe(true);
  expect(cookie.sameSite).toBe('Lax');
  return `sid=${cookie.value}`;
}

async function waitDone(cookie: string, id: string): Promise<{ status: string; clipId?: string; error?: string }> {
  for (let i = 0; i < 600; i++) {
    const r = (await app.inject({ url: `/api/jobs/${id}`, headers: { cookie } })).json();
    if (!['queued', 'running'].includes(r.status)) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('job did not finish');
}

describe('platform API', () => {
  it('signs up, signs in, makes a clip through the queue and serves it; another person sees none of it', async () => {
    const a = await person('alice');
    const j = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: a }, payload: { text: 'a big red 3 moving left, sparkling', seed: 4 } });
    expect(j.statusCode, j.body).toBe(202);
    const job = j.json();
    expect(job).toMatchObject({ attributes: [{ digit: 3, colour: 'red', direction: 'left', size: 'large', speed: 'slow' }], ignored: ['sparkling'], defaults: [{ speed: 'slow' }], seed: 4 });
    const done = await waitDone(a, job.id);
    expect(done.status, done.error).toBe('done');
    const clip = (await app.inject({ url: `/api/clips/${done.clipId}`, headers: { cookie: a } })).json();
    expect(clip).toMatchObject({ id: done.clipId, text: 'a big red 3 moving left, sparkling', seed: 4, model: 'diffusion', steps: 2, guidance: 2 });
    expect(typeof clip.caption).toBe('string'); // the captioner's title (a random one here: any words)
    const gif = await app.inject({ url: `/api/clips/${done.clipId}/clip.gif`, headers: { cookie: a } });
    expect(gif.headers['content-type']).toBe('image/gif');
    expect(gifInfo(new Uint8Array(gif.rawPayload))).toMatchObject({ frames: 16, width: 64, height: 64 });
    expect((await app.inject({ url: '/api/clips', headers: { cookie: a } })).json().clips).toHaveLength(1);
    // another person: 404 for the job and the clip, an empty gallery
    const b = await person('bob');
    for (const url of [`/api/jobs/${job.id}`, `/api/clips/${done.clipId}`, `/api/clips/${done.clipId}/clip.gif`, `/api/jobs/${job.id}/events`]) expect((await app.inject({ url, headers: { cookie: b } })).statusCode, url).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/clips/${done.clipId}`, headers: { cookie: b } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/jobs/${job.id}`, headers: { cookie: b } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: `/api/clips/${done.clipId}/share`, headers: { cookie: b } })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/clips', headers: { cookie: b } })).json().clips).toHaveLength(0);
    // a share link shows the clip to anyone until revoked
    const sh = (await app.inject({ method: 'POST', url: `/api/clips/${done.clipId}/share`, headers: { cookie: a } })).json();
    expect((await app.inject({ url: `/api/shared/${sh.token}/clip.png` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/api/clips/${done.clipId}/share`, headers: { cookie: a } })).statusCode).toBe(204);
    expect((await app.inject({ url: `/api/shared/${sh.token}` })).statusCode).toBe(404);
    // delete removes the record and the files
    expect((await app.inject({ method: 'DELETE', url: `/api/clips/${done.clipId}`, headers: { cookie: a } })).statusCode).toBe(204);
    expect(readdirSync(join(dataDir, 'clips')).filter((f) => f.startsWith(done.clipId!))).toEqual([]);
  }, 120_000);
  it('answers 401 without a session except on the open routes, and ends a session at sign-out', async () => {
    for (const [method, url] of [['GET', '/api/clips'], ['POST', '/api/jobs'], ['GET', '/api/me'], ['GET', '/api/jobs/00000000-0000-0000-0000-000000000000'], ['GET', '/api/jobs/not-an-id'], ['PUT', '/api/me/settings'], ['DELETE', '/api/clips/x']] as const) {
      // 401 before any validation: a bad body or id tells an anonymous caller nothing
      for (const payload of [{ text: 'a 3' }, {}, { colour: 'purple' }]) expect((await app.inject({ method, url, payload: method === 'GET' ? undefined : payload })).statusCode, `${method} ${url}`).toBe(401);
    }
    for (const url of ['/api/models', '/api/health', '/api/openapi.json']) expect((await app.inject({ url })).statusCode, url).toBe(200);
    const c = await person('carol');
    const again = await app.inject({ method: 'POST', url: '/api/sessions', payload: { username: 'carol', password: 'correct horse' } });
    expect(again.cookies.find((k) => k.name === 'sid')!.value).not.toBe(c.slice(4)); // a new session id at every sign-in
    const same = await app.inject({ method: 'PUT', url: '/api/me/settings', headers: { cookie: c, origin: 'http://localhost:8080', host: 'localhost:8080', 'sec-fetch-site': 'same-origin' }, payload: {} });
    expect(same.statusCode).toBe(200); // a same-origin change is accepted
    expect((await app.inject({ url: '/api/me', headers: { cookie: c } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/api/sessions', headers: { cookie: c } })).statusCode).toBe(204);
    expect((await app.inject({ url: '/api/me', headers: { cookie: c } })).statusCode).toBe(401); // the old cookie is dead on the server
    expect((await app.inject({ method: 'POST', url: '/api/sessions', payload: { username: 'carol', password: 'wrong one!' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/users', payload: { username: 'carol', password: 'another pw' } })).statusCode).toBe(409);
  }, 60_000);
  it('gives every bad input a 4xx with a JSON message', async () => {
    const d = await person('dave');
    const bad: [unknown, RegExp][] = [
      [{}, /text/], [{ text: '' }, /text/], [{ text: 'x'.repeat(501) }, /text/], [{ text: 'a red blue 3' }, /two colours/],
      [{ text: 'a 3', seed: -1 }, /seed/], [{ text: 'a 3', seed: 2 ** 31 }, /seed/], [{ text: 'a 3', seed: '3' }, /seed/], [{ text: 'a 3', steps: 0 }, /steps/],
      [{ text: 'a 3', model: 'sora' }, /model/], [{ text: 'a 3', extra: 1 }, /additional/], [{ text: 'a 3', model: 'gan' }, /not available/], [{ text: 'a 3', guidance: 99 }, /guidance/],
    ];
    for (const [payload, msg] of bad) {
      const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: d }, payload: payload as object });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().message, JSON.stringify(payload)).toMatch(msg);
    }
    const notJson = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: d, 'content-type': 'application/json' }, payload: '{"text": ' });
    expect(notJson.statusCode).toBe(400);
    const text = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: d, 'content-type': 'text/plain' }, payload: 'a 3' });
    expect(text.statusCode).toBe(415);
    const big = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: d }, payload: { text: 'a 3', pad: 'x'.repeat(70_000) } });
    expect(big.statusCode).toBe(413);
    const cross = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: d, origin: 'https://evil.example', host: 'localhost:8080' }, payload: { text: 'a 3' } });
    expect(cross.statusCode).toBe(403);
    const site = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: d, 'sec-fetch-site': 'cross-site' }, payload: { text: 'a 3' } });
    expect(site.statusCode).toBe(403);
    expect((await app.inject({ url: '/api/jobs/not-an-id', headers: { cookie: d } })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/nope' })).statusCode).toBe(404);
  }, 60_000);
  it('summarise: a long, chatty description is rewritten into the caption grammar first, and the job makes the summary', async () => {
    const f = await person('fiona');
    const chatty = 'hello! my nephew loves these. could you draw a big seven, no wait, an eight. make it green. actually make that blue. it should go to the left. quickly please. ' + 'thanks so much, '.repeat(30);
    expect(chatty.length).toBeGreaterThan(500);
    const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: f }, payload: { text: chatty, summarise: true, seed: 1 } });
    expect(r.statusCode, r.body).toBe(202);
    const j = r.json() as { id: string; summary: string; text: string; attributes: Record<string, unknown>[] };
    expect(j.summary.length).toBeGreaterThan(0);
    expect(j.text).toBe(j.summary);
    expect(j.attributes[0]).toMatchObject({ ...parseText(j.summary).objects[0] });
    const bad: [unknown, RegExp][] = [
      [{ text: chatty }, /at most 500 \(or 2000 with summarise\)/], [{ text: 'x'.repeat(2001), summarise: true }, /text/],
      [{ text: 'un petit 3 rouge qui glisse vers la gauche', summarise: true }, /summariser reads English/], [{ text: 'a 3', summarise: 'yes' }, /summarise/],
    ];
    for (const [payload, msg] of bad) {
      const b = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: f }, payload: payload as object });
      expect(b.statusCode, JSON.stringify(payload).slice(0, 60)).toBe(400);
      expect(b.json().message).toMatch(msg);
    }
    await app.inject({ method: 'DELETE', url: `/api/jobs/${j.id}`, headers: { cookie: f } });
  }, 60_000);
  it('holds a quota of open jobs and a rate a minute (429), and cancels queued and running jobs', async () => {
    const e = await person('erin');
    const ids: string[] = [];
    let r;
    for (let i = 0; i < 4; i++) {
      r = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: e }, payload: { text: `a ${i} moving up`, seed: i, steps: 200 } });
      if (r.statusCode === 202) ids.push(r.json().id);
    }
    expect(ids).toHaveLength(3);
    expect(r!.statusCode).toBe(429);
    expect(r!.json().message).toMatch(/at most 3 jobs queued or running/);
    // the first is running (200 steps), the others queued behind it
    for (let i = 0; i < 100 && (await app.inject({ url: `/api/jobs/${ids[0]}`, headers: { cookie: e } })).json().status !== 'running'; i++) await new Promise((res) => setTimeout(res, 50));
    expect((await app.inject({ url: `/api/jobs/${ids[2]}`, headers: { cookie: e } })).json()).toMatchObject({ status: 'queued', progress: { position: 2 } });
    for (const id of [...ids].reverse()) expect((await app.inject({ method: 'DELETE', url: `/api/jobs/${id}`, headers: { cookie: e } })).statusCode).toBe(202);
    for (const id of ids) expect((await waitDone(e, id)).status).toBe('cancelled');
    expect((await app.inject({ method: 'DELETE', url: `/api/jobs/${ids[0]}`, headers: { cookie: e } })).statusCode).toBe(409);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: e }, payload: { text: 'a 5' } })).statusCode);
    expect(codes).toEqual([202, 202, 202, 429]); // 6 a minute: 3 before and 3 now
  }, 120_000);
  it('streams a job as server-sent events (status first, then running, progress with previews, done); a reconnect gets only what it missed', async () => {
    const f = await person('frank');
    const id = (await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: f }, payload: { text: 'a blue 4 moving up', seed: 1, steps: 3 } })).json().id;
    const r = await app.inject({ url: `/api/jobs/${id}/events`, headers: { cookie: f } });
    expect(r.headers['content-type']).toBe('text/event-stream');
    const events = r.body.trim().split('\n\n').map((b) => Object.fromEntries(b.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])));
    expect(events[0].event).toBe('status');
    expect(events.at(-1)!.event).toBe('done');
    const progress = events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data));
    expect(progress.at(-1)).toMatchObject({ step: 3, steps: 3 });
    expect(progress.at(-1).preview).toMatch(/^data:image\/png;base64,/);
    // replay after an id: only later events
    const seen: number[] = [];
    const stop = jobs.subscribe(id, Number(events[1].id), (e) => seen.push(e.id));
    stop();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((k) => k > Number(events[1].id))).toBe(true);
    const again = await app.inject({ url: `/api/jobs/${id}/events`, headers: { cookie: f, 'last-event-id': events.at(-1)!.id } });
    expect(again.body).toMatch(/^event: status\ndata: .*"status":"done"/);
  }, 120_000);
  it('serves a model\'s weights for the in-browser draft, and only the three files of an available model', async () => {
    const cfg = await app.inject({ url: '/api/models/diffusion/files/config.json' });
    expect(cfg.statusCode).toBe(200);
    expect(cfg.json()).toMatchObject({ family: 'clip-diffusion' });
    const bin = await app.inject({ url: '/api/models/diffusion/files/weights.bin' });
    expect(bin.headers['content-type']).toBe('application/octet-stream');
    expect(bin.rawPayload.length).toBe(readFileSync(join(modelsDir, 'clips-diffusion', 'weights.bin')).length);
    expect((await app.inject({ url: '/api/models/vae/files/config.json' })).statusCode).toBe(404); // not on this server
    for (const url of ['/api/models/diffusion/files/MANIFEST', '/api/models/diffusion/files/..%2Fconfig.json', '/api/models/unet/files/config.json']) expect((await app.inject({ url })).statusCode, url).toBe(400);
    const wasm = await app.inject({ url: '/tfjs-wasm/tfjs-backend-wasm-simd.wasm' });
    expect(wasm.headers['content-type']).toBe('application/wasm');
    expect([...wasm.rawPayload.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]); // \0asm
    expect((await app.inject({ url: '/tfjs-wasm/package.json' })).statusCode).toBe(404);
  });
  it('applies personal defaults where the text names no value, and keeps playback settings', async () => {
    const g = await person('gina');
    expect((await app.inject({ method: 'PUT', url: '/api/me/settings', headers: { cookie: g }, payload: { colour: 'green', size: 'small', fps: 12, loop: false } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'PUT', url: '/api/me/settings', headers: { cookie: g }, payload: { colour: 'purple' } })).statusCode).toBe(400);
    const j = (await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: g }, payload: { text: 'a 7 moving down', seed: 2 } })).json();
    expect(j.attributes[0]).toMatchObject({ colour: 'green', size: 'small', speed: 'slow' });
    const k = (await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: g }, payload: { text: 'a big red 7', seed: 2 } })).json();
    expect(k.attributes[0]).toMatchObject({ colour: 'red', size: 'large' });
    expect((await app.inject({ url: '/api/me', headers: { cookie: g } })).json().settings).toEqual({ colour: 'green', size: 'small', fps: 12, loop: false });
    // a description near the limit that the defaults would push past it: a clear 400, not a confusing "too long"
    const long = `a 7 moving down ${'zorp '.repeat(96)}`.trim();
    expect(long.length).toBeLessThanOrEqual(500);
    const over = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: g }, payload: { text: long } });
    expect(over.statusCode).toBe(400);
    expect(over.json().message).toMatch(/with your personal defaults \(green small\) the description is 507 characters, over the 500 allowed: shorten it by 7/);
  }, 60_000);

  it('behind a trusted TLS proxy the session cookie is Secure and the Origin check reads X-Forwarded-Host; from anyone else those headers change nothing', async () => {
    const https = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'genlab.example' };
    await person('hugo');
    const direct = await app.inject({ method: 'POST', url: '/api/sessions', headers: https, payload: { username: 'hugo', password: 'correct horse' } });
    expect(direct.cookies.find((k) => k.name === 'sid')!.secure).toBeFalsy();
    expect((await app.inject({ method: 'POST', url: '/api/sessions', headers: { ...https, origin: 'https://genlab.example' }, payload: { username: 'hugo', password: 'correct horse' } })).statusCode).toBe(403);
    const proxied = (await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-data-')), modelsDir, workers: 1, scrypt: CHEAP, trustProxy: '127.0.0.1' })).app;
    try {
      const body = { username: 'ivy', password: 'correct horse' }, headers = { ...https, origin: 'https://genlab.example' };
      expect((await proxied.inject({ method: 'POST', url: '/api/users', headers, payload: body })).statusCode).toBe(201);
      const s = await proxied.inject({ method: 'POST', url: '/api/sessions', headers, payload: body });
      expect(s.statusCode).toBe(200);
      expect(s.cookies.find((k) => k.name === 'sid')!.secure).toBe(true);
      expect((await proxied.inject({ method: 'POST', url: '/api/sessions', headers: { ...headers, origin: 'https://evil.example' }, payload: body })).statusCode).toBe(403);
      // a client that is not the proxy cannot claim https
      const other = await proxied.inject({ method: 'POST', url: '/api/sessions', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-proto': 'https' }, payload: body });
      expect(other.cookies.find((k) => k.name === 'sid')!.secure).toBeFalsy();
    } finally {
      await proxied.close();
    }
  }, 60_000);
});
