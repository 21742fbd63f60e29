// Boots the platform: `npm run serve` (PORT, default 8080; GENLAB_DATA, default ./data;
// GENLAB_MODELS, default the shipped models/; GENLAB_WORKERS, default 1; REDIS_URL to hand jobs to
// `genlab worker` processes through BullMQ; GENLAB_TRUST_PROXY, the addresses of a TLS-terminating
// reverse proxy whose X-Forwarded-* headers count, e.g. 127.0.0.1). Ctrl-C or SIGTERM closes
// it; a job cut off by a kill runs again at the next start.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.js';

const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`genlab: error: PORT must be a port number, got "${process.env.PORT}"\n`);
  process.exit(1);
}
const workers = Number(process.env.GENLAB_WORKERS ?? 1);
const dataDir = resolve(process.env.GENLAB_DATA ?? 'data');
const modelsDir = resolve(process.env.GENLAB_MODELS ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models'));
const redisUrl = process.env.REDIS_URL || undefined;
if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
  process.stderr.write(`genlab: error: REDIS_URL must be a redis:// or rediss:// URL, got "${redisUrl}"\n`);
  process.exit(1);
}
const trustProxy = process.env.GENLAB_TRUST_PROXY || undefined;
// addresses and CIDRs only: "true" (trust every hop) would let any client claim https or another host
if (trustProxy && !trustProxy.split(',').every((a) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a.trim()))) {
  process.stderr.write(`genlab: error: GENLAB_TRUST_PROXY must list proxy addresses or CIDRs separated by commas (e.g. 127.0.0.1), got "${trustProxy}"\n`);
  process.exit(1);
}
// with REDIS_URL, jobs go to `genlab worker` processes and this server runs none itself
let app: Awaited<ReturnType<typeof buildApp>>['app'];
try {
  ({ app } = await buildApp({ dataDir, modelsDir, redisUrl, trustProxy, workers: Number.isInteger(workers) && workers >= 1 ? workers : 1 }));
} catch (e) {
  process.stderr.write(`genlab: error: ${(e as Error).message}\n`);
  process.exit(1);
}
const stop = async () => { await app.close(); process.exit(0); };
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
try {
  await app.listen({ port, host: '127.0.0.1' });
  process.stderr.write(`genlab platform on http://127.0.0.1:${port} (data in ${dataDir})\n`);
} catch (e) {
  process.stderr.write(`genlab: error: cannot listen on port ${port}: ${(e as Error).message}\n`);
  process.exit(1);
}
