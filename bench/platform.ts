// The platform under load on loopback (a benchmark, not a test): N people sign up and each
// submits J jobs at once; every job must complete (none lost), and the health route is polled
// all along to see that the API stays responsive while the workers generate.
// `npx tsx bench/platform.ts MODELS_DIR [people=8] [jobs=2] [workers=2] [steps=10]`; JSON on stdout.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/server/app.js';

const [modelsDir, people = '8', perPerson = '2', workers = '2', steps = '10'] = process.argv.slice(2);
if (!modelsDir) { process.stderr.write('usage: tsx bench/platform.ts MODELS_DIR [people] [jobs] [workers] [steps]\n'); process.exit(1); }
const { app } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-load-')), modelsDir, workers: Number(workers), quota: 100, ratePerMinute: 1000, authPerMinute: 1000 });
await app.listen({ port: 0, host: '127.0.0.1' });
const addr = app.server.address(), base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
const post = (url: string, body: unknown, cookie = '') => fetch(base + url, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN; };

const health: number[] = [];
let polling = true;
const poll = (async () => { while (polling) { const t = performance.now(); await fetch(`${base}/api/health`); health.push(performance.now() - t); await new Promise((r) => setTimeout(r, 50)); } })();

// accounts first, one at a time (the server hashes at most two passwords at once)
const cookies: string[] = [];
for (let p = 0; p < Number(people); p++) {
  await post('/api/users', { username: `load${p}`, password: 'load test password' });
  const s = await post('/api/sessions', { username: `load${p}`, password: 'load test password' });
  cookies.push(s.headers.get('set-cookie')!.split(';')[0]);
}
const t0 = performance.now();
const results = await Promise.all(cookies.map(async (cookie, p) => {
  const ids = await Promise.all(Array.from({ length: Number(perPerson) }, async (_, k) => {
    const r = await post('/api/jobs', { text: `a red ${(p + k) % 10} moving left`, seed: p * 100 + k, steps: Number(steps) }, cookie);
    return ((await r.json()) as { id: string }).id;
  }));
  const done: { status: string; ms: number }[] = [];
  for (const id of ids) {
    const start = performance.now();
    for (;;) {
      const j = (await (await fetch(`${base}/api/jobs/${id}`, { headers: { cookie } })).json()) as { status: string };
      if (!['queued', 'running'].includes(j.status)) { done.push({ status: j.status, ms: performance.now() - start }); break; }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return done;
}));
const seconds = (performance.now() - t0) / 1000;
polling = false;
await poll;
await app.close();
const all = results.flat();
process.stdout.write(JSON.stringify({
  people: Number(people), jobsEach: Number(perPerson), workers: Number(workers), steps: Number(steps),
  jobs: all.length, done: all.filter((j) => j.status === 'done').length, lost: all.filter((j) => j.status !== 'done').length,
  seconds: Math.round(seconds * 10) / 10, clipsPerMinute: Math.round((all.length / seconds) * 60 * 10) / 10,
  healthMs: { median: Math.round(median(health) * 10) / 10, p99: Math.round([...health].sort((a, b) => a - b)[Math.floor(health.length * 0.99)] * 10) / 10, max: Math.round(Math.max(...health) * 10) / 10, samples: health.length },
}) + '\n');
process.exit(0);
