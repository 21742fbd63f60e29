// A server killed with SIGKILL mid-generation loses no accepted job: at the next start the job
// runs again and completes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, saveCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { tinyClipDiffusion } from '../models/clipFixtures.js';

const serveBin = join(import.meta.dirname, '..', '..', 'bin', 'serve.js');

function start(env: Record<string, string>): Promise<ChildProcess> {
  const p = spawn(process.execPath, [serveBin], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    p.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('genlab platform on')) resolve(p); });
    p.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
  });
}

describe('platform restart', () => {
  it('runs a job again after the server was killed with SIGKILL while generating it', async () => {
    const models = mkdtempSync(join(tmpdir(), 'genlab-models-')), m = tinyClipDiffusion(3);
    await saveCheckpoint(join(models, 'clips-diffusion'), { meta: { format: CHECKPOINT_FORMAT, family: 'clip-diffusion', model: { ...m.config }, step: 0, created: new Date().toISOString() }, weights: Object.fromEntries(m.params) as tf.NamedTensorMap });
    m.dispose();
    const env = { PORT: String(20000 + Math.floor(Math.random() * 20000)), GENLAB_DATA: mkdtempSync(join(tmpdir(), 'genlab-data-')), GENLAB_MODELS: models };
    const base = `http://127.0.0.1:${env.PORT}`;
    let srv = await start(env);
    const post = (url: string, body: unknown, cookie = '') => fetch(base + url, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
    expect((await post('/api/users', { username: 'ivan', password: 'long enough' })).status).toBe(201);
    const s = await post('/api/sessions', { username: 'ivan', password: 'long enough' });
    const cookie = s.headers.get('set-cookie')!.split(';')[0];
    const job = await (await post('/api/jobs', { text: 'a red 3 moving left', seed: 1, steps: 200 }, cookie)).json() as { id: string };
    const status = async () => (await (await fetch(`${base}/api/jobs/${job.id}`, { headers: { cookie } })).json() as { status: string; progress: { step?: number } });
    for (let i = 0; i < 300; i++) { const st = await status(); if (st.status === 'running' && (st.progress.step ?? 0) >= 2) break; await new Promise((r) => setTimeout(r, 50)); }
    expect((await status()).status).toBe('running');
    srv.kill('SIGKILL');
    await new Promise((r) => srv.on('exit', r));
    srv = await start(env);
    try {
      let st = await status();
      for (let i = 0; i < 1200 && st.status !== 'done'; i++) { await new Promise((r) => setTimeout(r, 100)); st = await status(); }
      expect(st.status).toBe('done');
      const clips = await (await fetch(`${base}/api/clips`, { headers: { cookie } })).json() as { clips: unknown[] };
      expect(clips.clips).toHaveLength(1); // one clip, however many times the job ran
    } finally {
      srv.kill('SIGTERM');
    }
  }, 300_000);
});
