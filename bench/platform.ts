// The platform under load on loopback (a benchmark, not a test): N people sign up and each
// submits J jobs at once; every job must complete (none lost), and the health route is polled
// all along to see that the API stays responsive while the workers generate.
// `npx tsx bench/platform.ts MODELS_DIR [people=8] [jobs=2] [workers=2] [steps=10] [--redis]`; JSON on stdout.
// --redis: the Redis path (DESIGN.md's scale-out): the bench starts its own redis-server on a free
// port and `workers` separate `genlab worker` processes; otherwise worker threads in the server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/server/app.js';

const args = process.argv.slice(2), redis = args.includes('--redis');
const [modelsDir, people = '8', perPerson = '2', workers = '2', steps = '10'] = args.filter((a) => a !== '--redis');
if (!modelsDir) { process.stderr.write('usage: tsx bench/platform.ts MODELS_DIR [people] [jobs] [workers] [steps] [--redis]\n'); process.exit(1); }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
let redisUrl: string | undefined;
if (redis) {
  const port = await new Promise<number>((res) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); }); });
  redisUrl = `redis://127.0.0.1:${port}`;
  children.push(spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
  await sleep(500);
  const genlab = join(import.meta.dirname, '..', 'bin', 'genlab.js');
  await Promise.all(Array.from({ length: Number(workers) }, () => new Promise<void>((resolve, reject) => {
    const w = spawn(process.execPath, [genlab, 'worker', '--redis', redisUrl!, '--models', modelsDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(w);
    let log = '';
    w.stderr!.on('data', (d: Buffer) => { log += d.toString(); if (log.includes('waiting for jobs')) resolve(); });
    w.on('exit', (c) => reject(new Error(`a worker exited ${c}: ${log}`)));
  })));
}
const { app } = await buildApp({ dataDir: mkdtempSync(join(tmpdir(), 'genlab-load-')), modelsDir, ...(redisUrl ? { redisUrl } : { workers: Number(workers) }), quota: 100, ratePerMinute: 1000, authPerMinute: 1000 });
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
  people: Number(people), jobsEach: Number(perPerson), workers: Number(workers), path: redis ? 'redis (worker processes)' : 'worker threads', steps: Number(steps),
  jobs: all.length, done: all.filter((j) => j.status === 'done').length, lost: all.filter((j) => j.status !== 'done').length,
  seconds: Math.round(seconds * 10) / 10, clipsPerMinute: Math.round((all.length / seconds) * 60 * 10) / 10,
  healthMs: { median: Math.round(median(health) * 10) / 10, p99: Math.round([...health].sort((a, b) => a - b)[Math.floor(health.length * 0.99)] * 10) / 10, max: Math.round(Math.max(...health) * 10) / 10, samples: health.length },
}) + '\n');
process.exit(0);
