// Prompts in other languages on the platform: the server reads a French, Spanish or German
// prompt through the translator in the request and answers with the English reading.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { initTranslatorWeights, Translator } from '../../src/models/translator.js';
import { buildApp } from '../../src/server/app.js';
import { defaultTranslatorConfig, translatorTask } from '../../src/train/translatorRun.js';
import { Rng } from '../../src/util/rng.js';
import { tinyClipDiffusion } from '../models/clipFixtures.js';

let app: FastifyInstance, cookie = '', bare: FastifyInstance;

beforeAll(async () => {
  const models = mkdtempSync(join(tmpdir(), 'genlab-models-')), noTranslator = mkdtempSync(join(tmpdir(), 'genlab-models-'));
  const m = tinyClipDiffusion(3);
  for (const dir of [models, noTranslator]) await saveCheckpoint(join(dir, 'clips-diffusion'), { meta: { format: CHECKPOINT_FORMAT, family: 'clip-diffusion', model: { ...m.config }, step: 0, created: new Date().toISOString(), sampling: { steps: 2, guidance: 2 } }, weights: Object.fromEntries(m.params) as tf.NamedTensorMap });
  m.dispose();
  // a small transformer translator, trained here until it reads the grammars' prompts
  const c = { ...defaultTranslatorConfig('transformer'), dim: 32, layers: 1, heads: 2 };
  const t = new Translator(c, initTranslatorWeights(c, new Rng(1))), task = translatorTask(t, { pOmit: 0.25 }), rng = new Rng(2), opt = tf.train.adam(3e-3);
  for (let s = 0; s < 400; s++) opt.minimize(() => (task as { loss: (r: Rng, b: number) => tf.Scalar }).loss(rng, 32), true)?.dispose();
  opt.dispose();
  await saveCheckpoint(join(models, 'translate'), { meta: { format: CHECKPOINT_FORMAT, family: 'translator', model: { ...c }, step: 400, created: new Date().toISOString() }, weights: Object.fromEntries(t.params) as tf.NamedTensorMap });
  t.dispose();
  ({ app } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-data-')), modelsDir: models, workers: 1, scrypt: { N: 2 ** 10, r: 8, p: 1 } }));
  ({ app: bare } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-data-')), modelsDir: noTranslator, workers: 1, scrypt: { N: 2 ** 10, r: 8, p: 1 } }));
  await app.inject({ method: 'POST', url: '/api/users', payload: { username: 'lea', password: 'correct horse' } });
  const s = await app.inject({ method: 'POST', url: '/api/sessions', payload: { username: 'lea', password: 'correct horse' } });
  cookie = `sid=${s.cookies.find((k) => k.name === 'sid')!.value}`;
}, 180_000);
afterAll(async () => { await app?.close(); await bare?.close(); });

describe('prompts in other languages', () => {
  it('answers a French, Spanish or German prompt with its English reading and the attributes of that reading', async () => {
    for (const [text, from, want] of [
      ['un petit 3 rouge qui se déplace vers la gauche rapidement', 'fr', { digit: 3, colour: 'red', size: 'small', direction: 'left', speed: 'fast' }],
      ['un 7 azul grande que se mueve hacia arriba despacio', 'es', { digit: 7, colour: 'blue', size: 'large', direction: 'up', speed: 'slow' }],
      ['eine kleine grüne 5, die schnell nach unten gleitet', 'de', { digit: 5, colour: 'green', size: 'small', direction: 'down', speed: 'fast' }],
    ] as const) {
      const r = await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie }, payload: { text, seed: 1 } });
      expect(r.statusCode, r.body).toBe(202);
      const j = r.json();
      expect(j.translation.from).toBe(from);
      expect(j.attributes[0]).toEqual(want);
      expect(j.text).toBe(j.translation.english);
      await app.inject({ method: 'DELETE', url: `/api/jobs/${j.id}`, headers: { cookie } });
    }
    // --from given, and English untouched
    const given = (await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie }, payload: { text: 'un 3 rouge', from: 'fr', seed: 2 } })).json();
    expect(given.translation.from).toBe('fr');
    await app.inject({ method: 'DELETE', url: `/api/jobs/${given.id}`, headers: { cookie } });
    const en = (await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie }, payload: { text: 'a red 3 moving left', seed: 2 } })).json();
    expect(en.translation).toBeUndefined();
    expect(en.text).toBe('a red 3 moving left');
    await app.inject({ method: 'DELETE', url: `/api/jobs/${en.id}`, headers: { cookie } });
    expect((await app.inject({ method: 'POST', url: '/api/jobs', headers: { cookie }, payload: { text: 'un 3', from: 'it' } })).statusCode).toBe(400);
  }, 60_000);
  it('says so when the server has no translator', async () => {
    await bare.inject({ method: 'POST', url: '/api/users', payload: { username: 'max', password: 'correct horse' } });
    const s = await bare.inject({ method: 'POST', url: '/api/sessions', payload: { username: 'max', password: 'correct horse' } });
    const r = await bare.inject({ method: 'POST', url: '/api/jobs', headers: { cookie: `sid=${s.cookies.find((k) => k.name === 'sid')!.value}` }, payload: { text: 'eine rote 3, die nach links fährt' } });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/prompts in German need the translator/);
  });
});
