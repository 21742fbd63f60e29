// The platform's HTTP API as one Fastify app (fastify/demo's shape: the app is built here, the
// server only boots it). TypeBox schemas validate every request and generate the OpenAPI
// document; type coercion is off, so "seed": "3" is a 400, not a 3.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { PNG } from 'pngjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { detectLanguage, LANGUAGE_NAMES, LANGUAGES, type Language } from '../data/clips/languages.js';
import { MAX_PROMPT_CHARS, parseText, resolveText } from '../data/clips/words.js';
import { loadTranslator, translatePrompt, type LoadedTranslator } from '../pipelines/translate.js';
import { initBackend } from '../tensor/backend.js';
import { COLOURS, SIZES, SPEEDS } from '../data/clips/world.js';
import { encodeMp4Async } from '../media/clip.js';
import { CLIP_MODELS, MAX_SEED, type ClipModelKind } from '../pipelines/clipEngine.js';
import { Type, type Static } from '../util/config.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/files.js';
import { hashPassword, newToken, OWASP_SCRYPT, SESSION_IDLE_MS, SESSION_MAX_MS, tokenHash, verifyPassword, type ScryptCost } from './auth.js';
import { Db, type ClipRow, type JobRow, type UserRow } from './db.js';
import { clipFile, JobRunner } from './jobs.js';
import { RedisExecutor } from './redisQueue.js';
import { draftScript, pageScript } from './bundle.js';
import { resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import type { JobParams } from './protocol.js';
import { decodeGrayPng, encodeGrayPng } from '../media/png.js';
import { loadSummariser, summarise, type LoadedSummariser } from '../pipelines/summarise.js';
import { ImageThread } from './images.js';

export interface AppOptions {
  dataDir: string;
  /** where clips-diffusion, clips-gan and clips-vae live */
  modelsDir: string;
  workers?: number;
  /** run jobs through BullMQ on this Redis (genlab worker processes) instead of threads here */
  redisUrl?: string;
  /** how long the start waits for Redis (default 10 s) */
  redisTimeoutMs?: number;
  /** how long one request may keep the model thread (restore, sketch, voice; default 60 s) */
  modelTimeoutMs?: number;
  scrypt?: ScryptCost;
  /** per person: jobs queued or running at once, and jobs submitted a minute */
  quota?: number;
  ratePerMinute?: number;
  /** sign-up and sign-in attempts a minute per address */
  authPerMinute?: number;
  logger?: boolean;
  /** the reverse proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-Proto/-Host/-For count: behind a TLS proxy, the cookie is then Secure */
  trustProxy?: string;
}

const Settings = Type.Object({
  colour: Type.Optional(Type.Union(COLOURS.map((c) => Type.Literal(c)))),
  speed: Type.Optional(Type.Union(SPEEDS.map((c) => Type.Literal(c)))),
  size: Type.Optional(Type.Union(SIZES.map((c) => Type.Literal(c)))),
  fps: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })),
  loop: Type.Optional(Type.Boolean()),
  scale: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
}, { additionalProperties: false });
type SettingsT = Static<typeof Settings>;
const Credentials = Type.Object({
  username: Type.String({ minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_.-]+$' }),
  password: Type.String({ minLength: 8, maxLength: 256 }),
}, { additionalProperties: false });
const JobBody = Type.Object({
  text: Type.String({ minLength: 1, maxLength: 2000, description: 'the description: at most 500 characters, or 2,000 with summarise' }),
  summarise: Type.Optional(Type.Boolean({ description: 'rewrite a long, chatty English description into the caption grammar first (models/summarise); the reading is in the 202' })),
  model: Type.Optional(Type.Union(CLIP_MODELS.map((m) => Type.Literal(m)))),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SEED })),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  guidance: Type.Optional(Type.Number({ minimum: 1, maximum: 20 })),
  from: Type.Optional(Type.Union(LANGUAGES.map((l) => Type.Literal(l)), { description: 'the prompt\'s language when not English (default: detected)' })),
}, { additionalProperties: false });
// a 28x28 digit as a PNG data URL (a few hundred bytes; the 64 KB body limit bounds it anyway)
const DigitPng = Type.String({ minLength: 1, maxLength: 40_000, description: 'a 28x28 PNG as a data URL (data:image/png;base64,...); grey levels, white on black' });
const DigitOptions = {
  digit: Type.Optional(Type.Integer({ minimum: 0, maximum: 9, description: 'the digit to draw (default: the model decides)' })),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SEED })),
};
const RestoreBody = Type.Object({
  image: DigitPng,
  mask: Type.Optional({ ...DigitPng, description: 'the damaged region, white where the digit is to be redrawn' }),
  denoise: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'how much of the whole image to redraw (noise, scratches)' })),
  ...DigitOptions,
}, { additionalProperties: false });
const SketchBody = Type.Object({
  image: { ...DigitPng, description: 'a drawn sketch (white strokes on black), 28x28 PNG data URL' },
  strength: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'how far from the sketch the digits may go (default 0.6)' })),
  n: Type.Optional(Type.Integer({ minimum: 1, maximum: 4 })),
  ...DigitOptions,
}, { additionalProperties: false });
/** A spoken prompt's WAV file at most: 30 s of 16-bit stereo at 48 kHz is 5.8 MB. */
const VOICE_BYTES = 6 * 1024 * 1024;
const VoiceReply = Type.Object({
  text: Type.String({ description: 'the words heard' }),
  attributes: Type.Record(Type.String(), Type.Unknown(), { description: 'what the text parses to' }),
  seconds: Type.Number(),
});
const Id = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) });
const Token = Type.Object({ token: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }) });
const Message = Type.Object({ error: Type.String(), message: Type.String() });

declare module 'fastify' {
  interface FastifyRequest { user?: UserRow }
}

class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) { super(message); }
}

export async function buildApp(o: AppOptions): Promise<{ app: FastifyInstance; db: Db; jobs: JobRunner }> {
  const db = new Db(o.dataDir);
  db.dropExpiredSessions(Date.now(), SESSION_IDLE_MS, SESSION_MAX_MS);
  const checkpointFor = (p: JobParams) => join(o.modelsDir, `clips-${p.model}`);
  // the prompt translator runs here, in the request: a prompt takes a few milliseconds, and the English reading is in the 202
  let translator: LoadedTranslator | undefined;
  if (existsSync(join(o.modelsDir, 'translate', 'config.json')) || existsSync(join(o.modelsDir, 'translate', 'checkpoint', 'config.json'))) {
    await initBackend();
    translator = loadTranslator(join(o.modelsDir, 'translate'));
  }
  // the summariser too (about 10 ms a description)
  let summariser: LoadedSummariser | undefined;
  if (existsSync(join(o.modelsDir, 'summarise', 'config.json'))) {
    await initBackend();
    summariser = loadSummariser(join(o.modelsDir, 'summarise'));
  }
  const executor = o.redisUrl ? new RedisExecutor(db, o.redisUrl, o.redisTimeoutMs) : undefined;
  let jobs: JobRunner;
  try {
    jobs = await JobRunner.start(db, { workers: o.workers ?? 1, checkpointFor, executor });
  } catch (e) {
    db.close();
    translator?.model.dispose();
    summariser?.model.dispose();
    throw new UserError((e as Error).message);
  }
  const app = Fastify({
    logger: o.logger ?? false, bodyLimit: 64 * 1024, forceCloseConnections: true, trustProxy: o.trustProxy ?? false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const quota = o.quota ?? 4, rate = o.ratePerMinute ?? 30, recent = new Map<string, number[]>();
  app.removeContentTypeParser('text/plain'); // JSON only where JSON is expected (415 otherwise)
  await app.register(swagger, { openapi: { info: { title: 'genlab platform', version: '1' } } });
  if (o.modelTimeoutMs !== undefined && !(o.modelTimeoutMs > 0)) throw new RangeError(`modelTimeoutMs must be positive, got ${o.modelTimeoutMs}`);
  const images = new ImageThread();
  app.addHook('onClose', async () => { await jobs.close(); await images.close(); db.close(); translator?.model.dispose(); summariser?.model.dispose(); });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.statusCode).send({ error: httpName(err.statusCode), message: err.message });
    if (err instanceof UserError) return reply.code(400).send({ error: 'Bad Request', message: err.message });
    if (err.validation) return reply.code(400).send({ error: 'Bad Request', message: err.message });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' && _req.url.startsWith('/api/voice')) return reply.code(415).send({ error: 'Unsupported Media Type', message: 'send the recording as the body, Content-Type: audio/wav' });
    const code = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (code === 500) app.log.error(err);
    return reply.code(code).send({ error: httpName(code), message: code === 500 ? 'unexpected server error' : err.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'Not Found', message: 'no such route' }));

  // Cross-site state changes are refused (OWASP CSRF: Fetch Metadata, then Origin against Host).
  app.addHook('onRequest', async (req) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site') throw new HttpError(403, 'cross-site requests may not change anything');
    const origin = req.headers.origin;
    if (origin && origin !== 'null') {
      let host = '';
      try { host = new URL(origin).host; } catch { /* unparsable origin */ }
      if (host !== req.host) throw new HttpError(403, 'cross-origin requests may not change anything'); // req.host: Host, or a trusted proxy's X-Forwarded-Host
    } else if (origin === 'null') throw new HttpError(403, 'requests from an opaque origin may not change anything');
  });

  const auth = async (req: FastifyRequest) => {
    const sid = sessionCookie(req);
    const now = Date.now();
    const s = sid ? db.session(tokenHash(sid)) : undefined;
    if (!s || now - s.seen > SESSION_IDLE_MS || now - s.created > SESSION_MAX_MS) {
      if (s && sid) db.dropSession(tokenHash(sid));
      throw new HttpError(401, 'sign in first');
    }
    db.touchSession(tokenHash(sid!), now);
    req.user = db.userById(s.user_id);
    if (!req.user) throw new HttpError(401, 'sign in first');
  };
  const setCookie = (req: FastifyRequest, reply: FastifyReply, value: string, maxAge: number) =>
    reply.header('set-cookie', `sid=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${req.protocol === 'https' ? '; Secure' : ''}`);

  // password hashing is 128 MiB and ~0.3 s each: at most 2 at once, and 10 attempts a minute per address
  let hashing = 0;
  const attempts = new Map<string, number[]>();
  const limitAuth = async (req: FastifyRequest) => {
    const now = Date.now(), key = req.ip, t = (attempts.get(key) ?? []).filter((x) => now - x < 60_000);
    if (t.length >= (o.authPerMinute ?? 10)) throw new HttpError(429, 'too many sign-in attempts; wait a minute');
    attempts.set(key, [...t, now]);
    if (attempts.size > 10_000) for (const [k, v] of attempts) if (v.every((x) => now - x >= 60_000)) attempts.delete(k);
  };
  const slowHash = async <T>(f: () => Promise<T>): Promise<T> => {
    if (hashing >= 2) throw new HttpError(503, 'the server is busy signing people in; try again in a moment');
    hashing += 1;
    try { return await f(); } finally { hashing -= 1; }
  };

  app.post('/api/users', { onRequest: limitAuth, schema: { body: Credentials, response: { 201: Type.Object({ id: Type.String(), username: Type.String() }), 409: Message } } }, async (req, reply) => {
    const id = randomUUID();
    const ok = db.addUser({ id, username: req.body.username, password: await slowHash(() => hashPassword(req.body.password, o.scrypt ?? OWASP_SCRYPT)), created: Date.now(), settings: '{}' });
    if (!ok) throw new HttpError(409, `the name ${req.body.username} is taken`);
    return reply.code(201).send({ id, username: req.body.username });
  });
  app.post('/api/sessions', { onRequest: limitAuth, schema: { body: Credentials } }, async (req, reply) => {
    const u = db.userByName(req.body.username);
    // the same work and the same answer whether or not the name exists
    const ok = await slowHash(() => verifyPassword(req.body.password, u?.password ?? `scrypt$${(o.scrypt ?? OWASP_SCRYPT).N}$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`));
    if (!u || !ok) throw new HttpError(401, 'wrong name or password');
    const old = sessionCookie(req);
    if (old) db.dropSession(tokenHash(old));
    const sid = newToken();
    db.addSession(tokenHash(sid), u.id, Date.now());
    setCookie(req, reply, sid, SESSION_MAX_MS / 1000);
    return { username: u.username };
  });
  app.delete('/api/sessions', async (req, reply) => {
    const sid = sessionCookie(req);
    if (sid) db.dropSession(tokenHash(sid));
    setCookie(req, reply, '', 0);
    return reply.code(204).send();
  });

  app.get('/api/me', { onRequest: auth }, async (req) => ({ username: req.user!.username, settings: JSON.parse(req.user!.settings) as SettingsT }));
  app.put('/api/me/settings', { onRequest: auth, schema: { body: Settings } }, async (req) => {
    db.setSettings(req.user!.id, JSON.stringify(req.body));
    return { settings: req.body };
  });

  const available = (m: ClipModelKind) => existsSync(join(o.modelsDir, `clips-${m}`, 'config.json')) || existsSync(join(o.modelsDir, `clips-${m}`, 'checkpoint', 'config.json'));
  app.get('/api/models', async () => ({
    models: CLIP_MODELS.map((m) => {
      const dir = join(o.modelsDir, `clips-${m}`);
      const cfgPath = [join(dir, 'config.json'), join(dir, 'checkpoint', 'config.json')].find((p) => existsSync(p));
      const meta = cfgPath ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as { evaluation?: unknown; sampling?: unknown; step?: number }) : undefined;
      return { model: m, available: Boolean(meta), step: meta?.step, evaluation: meta?.evaluation ?? null, sampling: meta?.sampling ?? null };
    }),
  }));
  // a model's files in TensorFlow.js's weights format, for the page's in-browser draft (the EMA weights where a run kept them, as the server samples)
  const FILES = { 'config.json': ['config.json', 'application/json'], 'weights.json': ['weights.json', 'application/json'], 'weights.bin': ['weights.bin', 'application/octet-stream'] } as const;
  app.get('/api/models/:model/files/:file', {
    schema: { params: Type.Object({ model: Type.Union(CLIP_MODELS.map((m) => Type.Literal(m))), file: Type.Union(Object.keys(FILES).map((f) => Type.Literal(f))) }) },
  }, (req, reply) => {
    const { model, file } = req.params as { model: ClipModelKind; file: keyof typeof FILES };
    if (!available(model)) throw new HttpError(404, `the ${model} clip model is not available on this server`);
    const dir = resolveCheckpointDir(join(o.modelsDir, `clips-${model}`)); // the folder the server itself loads
    const ema = file !== 'config.json' && existsSync(join(dir, 'ema.json'));
    const path = join(dir, ema ? file.replace('weights', 'ema') : FILES[file][0]);
    if (!existsSync(path)) throw new HttpError(404, 'no such file');
    let body: Buffer | string = readFileSync(path);
    // the run's command lines name the operator's folders; the page needs the model, not them
    if (file === 'config.json') { const { commands: _c, command: _d, ...meta } = JSON.parse(body.toString('utf8')) as Record<string, unknown>; body = JSON.stringify(meta); }
    return reply.header('content-type', FILES[file][1]).header('cache-control', 'no-cache').send(body);
  });
  app.get('/api/health', async () => ({ ok: jobs.readyWorkers() > 0, workers: jobs.readyWorkers() }));
  app.get('/api/openapi.json', async () => app.swagger());

  const ownJob = (req: FastifyRequest): JobRow => {
    const j = db.job((req.params as { id: string }).id);
    if (!j || j.user_id !== req.user!.id) throw new HttpError(404, 'no such job');
    return j;
  };
  const jobView = (j: JobRow) => {
    const last = jobs.lastEvent(j.id);
    const progress = j.status === 'queued' ? { position: db.queuePosition(j.id) } : j.status === 'running' && last?.event === 'progress' ? { step: last.data.step, steps: last.data.steps } : {};
    return { id: j.id, status: j.status, progress, clipId: j.clip_id ?? undefined, error: j.error ?? undefined, params: JSON.parse(j.params) as JobParams };
  };

  app.post('/api/jobs', { onRequest: auth, schema: { body: JobBody } }, async (req, reply) => {
    const u = req.user!, b = req.body, model = b.model ?? 'diffusion';
    if (!available(model)) throw new HttpError(400, `the ${model} clip model is not available on this server yet`);
    if (model !== 'diffusion' && (b.steps !== undefined || b.guidance !== undefined)) throw new HttpError(400, `steps and guidance are for the diffusion model; the ${model} makes a clip in one pass`);
    // the limits first: translation spends the server's CPU
    const now = Date.now(), times = (recent.get(u.id) ?? []).filter((t) => now - t < 60_000);
    if (times.length >= rate) throw new HttpError(429, `at most ${rate} jobs a minute; wait a little`);
    if (db.openJobs(u.id) >= quota) throw new HttpError(429, `at most ${quota} jobs queued or running at once; wait for one to finish`);
    // a prompt in French, Spanish or German is read through the translator; the English is what the job makes
    const lang = b.from ?? detectLanguage(b.text);
    let english = b.text, translation: { from: string; english: string } | undefined, summary: string | undefined;
    if (b.summarise) {
      if (!summariser) throw new HttpError(400, 'this server has no summariser (models/summarise); send the description without summarise');
      if (lang !== 'en') throw new HttpError(400, `the summariser reads English; send a ${LANGUAGE_NAMES[lang]} prompt without summarise`);
      english = summary = summarise(summariser, b.text).summary;
      if (!summary) throw new HttpError(400, 'the summariser found nothing to show in the description');
    } else if (b.text.length > MAX_PROMPT_CHARS) throw new HttpError(400, `the text has ${b.text.length} characters; at most ${MAX_PROMPT_CHARS} (or ${4 * MAX_PROMPT_CHARS} with summarise)`);
    if (lang !== 'en' && !b.summarise) {
      if (!translator) throw new HttpError(400, `prompts in ${LANGUAGE_NAMES[lang]} need the translator, which this server does not have; write the prompt in English`);
      english = translatePrompt(translator, b.text, { from: lang }).english;
      translation = { from: lang, english };
    }
    let parsed: ReturnType<typeof parseText>;
    try {
      parsed = parseText(english);
    } catch (e) {
      if (summary !== undefined) throw new HttpError(400, `${(e as Error).message} (the summary read "${summary}")`);
      throw translation ? new HttpError(400, `${(e as Error).message} (the ${LANGUAGE_NAMES[lang as Language]} prompt read as "${english}")`) : e;
    }
    // personal defaults join the text as words, where the text names no value
    const s = JSON.parse(u.settings) as SettingsT, extra: string[] = [];
    for (const k of ['colour', 'speed', 'size'] as const) if (s[k] && parsed.objects[0][k] === undefined) extra.push(s[k]!);
    const text = extra.length ? `${english} ${extra.join(' ')}` : english;
    if (text.length > MAX_PROMPT_CHARS && english.length <= MAX_PROMPT_CHARS) throw new HttpError(400, `with your personal defaults (${extra.join(' ')}) the description is ${text.length} characters, over the ${MAX_PROMPT_CHARS} allowed: shorten it by ${text.length - MAX_PROMPT_CHARS} or name the ${extra.length > 1 ? 'values' : 'value'} yourself`);
    const seed = b.seed ?? Math.floor(Math.random() * MAX_SEED);
    const resolved = resolveText(parseText(text), seed);
    recent.set(u.id, [...times, now]);
    if (recent.size > 10_000) for (const [k, v] of recent) if (v.every((x) => now - x >= 60_000)) recent.delete(k);
    let id: string;
    try {
      id = await jobs.submit(u.id, { text, model, seed, steps: b.steps, guidance: b.guidance });
    } catch {
      throw new HttpError(503, 'the job queue is unavailable; try again later');
    }
    return reply.code(202).send({ id, attributes: resolved.objects, defaults: resolved.defaults, drawn: resolved.drawn, ignored: resolved.ignored, text, seed, ...(translation ? { translation } : {}), ...(summary !== undefined ? { summary } : {}) });
  });
  // digits through the image models: restore a damaged photo, or start from a sketch (the shipped digits diffusion model)
  const digitsModel = join(o.modelsDir, 'digits-diffusion');
  const digitPixels = (data: string, what: string): Float32Array => {
    const m = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(data);
    if (!m) throw new HttpError(400, `${what} must be a PNG image as a data URL (data:image/png;base64,...)`);
    const img = decodeGrayPng(Buffer.from(m[1], 'base64'), what);
    if (img.width !== 28 || img.height !== 28) throw new HttpError(400, `${what} is ${img.width}x${img.height}; the digit model takes 28x28 images`);
    return img.pixels;
  };
  const runModel = async (req: FastifyRequest, job: Parameters<ImageThread['run']>[0]) => {
    const u = req.user!, now = Date.now(), times = (recent.get(u.id) ?? []).filter((t) => now - t < 60_000);
    if (times.length >= rate) throw new HttpError(429, `at most ${rate} requests a minute; wait a little`);
    const pending = images.run(job, o.modelTimeoutMs ?? 60_000);
    if (!pending) throw new HttpError(503, 'the model thread is busy; try again in a few seconds');
    recent.set(u.id, [...times, now]); // a request turned away as busy does not count
    const r = await pending;
    if (!r.ok) throw r.error === 'the image model failed' ? new Error(r.detail ?? r.error) : new HttpError(r.status ?? 400, r.error);
    return r;
  };
  const runImages = async (req: FastifyRequest, job: Parameters<ImageThread['run']>[0]) => {
    const r = await runModel(req, job);
    if (!('images' in r)) throw new Error('the image thread answered without images');
    const n = r.images.length / (r.width * r.height);
    return Array.from({ length: n }, (_, i) => `data:image/png;base64,${encodeGrayPng({ width: r.width, height: r.height, pixels: r.images.subarray(i * r.width * r.height, (i + 1) * r.width * r.height) }).toString('base64')}`);
  };
  const needDigits = () => { if (!existsSync(digitsModel)) throw new HttpError(400, 'this server has no digits diffusion model (models/digits-diffusion)'); };
  app.post('/api/images/restore', { onRequest: auth, schema: { body: RestoreBody } }, async (req) => {
    const b = req.body;
    needDigits();
    const image = digitPixels(b.image, 'image'), mask = b.mask === undefined ? undefined : digitPixels(b.mask, 'mask').map((v) => (v > 0.5 ? 1 : 0));
    if (mask && !mask.some((v) => v > 0) && b.denoise === undefined) throw new HttpError(400, 'the mask marks no pixel: draw the damaged region (white), or give denoise');
    if (!mask && b.denoise === undefined) throw new HttpError(400, 'give a mask (the damaged region), denoise (how much to redraw), or both');
    const [out] = await runImages(req, { op: 'restore', checkpoint: digitsModel, image, mask, denoise: b.denoise, digit: b.digit, seed: b.seed ?? 0 });
    return { image: out };
  });
  app.post('/api/images/sketch', { onRequest: auth, schema: { body: SketchBody } }, async (req) => {
    const b = req.body;
    needDigits();
    const image = digitPixels(b.image, 'image');
    return { images: await runImages(req, { op: 'sketch', checkpoint: digitsModel, image, strength: b.strength ?? 0.6, n: b.n ?? 1, digit: b.digit, seed: b.seed ?? 0 }) };
  });
  // a spoken prompt: the page records it and sends it as WAV; the person sees the text and can edit it before the job starts
  const voiceModel = join(o.modelsDir, 'voice');
  for (const type of ['audio/wav', 'audio/x-wav', 'audio/wave']) app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: VOICE_BYTES }, (_req, body, done) => done(null, body));
  app.post('/api/voice', { onRequest: auth, bodyLimit: VOICE_BYTES, schema: { response: { 200: VoiceReply } } }, async (req) => {
    if (!existsSync(voiceModel)) throw new HttpError(400, 'this server has no acoustic model (models/voice)');
    if (!Buffer.isBuffer(req.body)) throw new HttpError(415, 'send the recording as the body, Content-Type: audio/wav');
    const r = await runModel(req, { op: 'transcribe', checkpoint: voiceModel, wav: new Uint8Array(req.body) });
    if (!('transcript' in r)) throw new Error('the model thread answered without a transcript');
    return r.transcript;
  });
  app.get('/api/jobs', { onRequest: auth }, async (req) => ({ jobs: db.recentJobs(req.user!.id, 50).map(jobView) }));
  app.get('/api/jobs/:id', { onRequest: auth, schema: { params: Id } }, async (req) => jobView(ownJob(req)));
  app.delete('/api/jobs/:id', { onRequest: auth, schema: { params: Id } }, async (req, reply) => {
    const j = ownJob(req);
    if (!(await jobs.cancel(j))) throw new HttpError(409, `the job is ${j.status}; only a queued or running job can be cancelled`);
    return reply.code(202).send(jobView(db.job(j.id)!));
  });
  app.get('/api/jobs/:id/events', { onRequest: auth, schema: { params: Id } }, (req, reply) => {
    const j = ownJob(req);
    const last = Number(req.headers['last-event-id'] ?? 0) || 0;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (e: { id: number; event: string; data: unknown }) => res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    // the state now, whatever came before (a restarted server has no earlier events)
    const view = jobView(j);
    res.write(`event: status\ndata: ${JSON.stringify(view)}\n\n`);
    if (['done', 'failed', 'cancelled'].includes(j.status)) { res.end(); return; }
    let ended = false, stop = () => {};
    const ping = setInterval(() => res.write(': ping\n\n'), 25_000);
    const finish = () => { if (!ended) { ended = true; clearInterval(ping); stop(); res.end(); } };
    stop = jobs.subscribe(j.id, last, (e) => { if (ended) return; send(e); if (e.event === 'done' || e.event === 'failed' || e.event === 'cancelled') queueMicrotask(finish); });
    res.on('close', finish);
  });

  const clipView = (c: ClipRow) => ({ id: c.id, jobId: c.job_id, created: c.created, shared: Boolean(c.share), ...(JSON.parse(c.record) as Record<string, unknown>) });
  const ownClip = (req: FastifyRequest): ClipRow => {
    const c = db.clip((req.params as { id: string }).id);
    if (!c || c.user_id !== req.user!.id) throw new HttpError(404, 'no such clip');
    return c;
  };
  const encoding = new Map<string, Promise<void>>();
  const sendFile = async (reply: FastifyReply, c: ClipRow, ext: 'gif' | 'png' | 'mp4') => {
    const path = clipFile(db, c.id, ext);
    if (ext === 'mp4' && !existsSync(path)) {
      // made on first request from the strip's frames, off the event loop, one encode per clip
      let p = encoding.get(c.id);
      if (!p) {
        p = encodeMp4Async(framesFromStrip(readFileSync(clipFile(db, c.id, 'png'))), { frames: 16, height: 64, width: 64, fps: 8 }, 4).then((b) => writeFileAtomic(path, b)).finally(() => encoding.delete(c.id));
        encoding.set(c.id, p);
      }
      try { await p; } catch (e) {
        app.log.warn(e);
        throw new HttpError(503, /ffmpeg/.test((e as Error).message) && /not installed/.test((e as Error).message) ? 'MP4 needs ffmpeg, which this server does not have; download the GIF' : 'the MP4 could not be made; download the GIF');
      }
    }
    const type = { gif: 'image/gif', png: 'image/png', mp4: 'video/mp4' }[ext];
    return reply.header('content-type', type).header('content-disposition', `inline; filename="clip-${c.id.slice(0, 8)}.${ext}"`).send(readFileSync(path));
  };
  app.get('/api/clips', { onRequest: auth }, async (req) => ({ clips: db.clips(req.user!.id).map(clipView) }));
  app.get('/api/clips/:id', { onRequest: auth, schema: { params: Id } }, async (req) => clipView(ownClip(req)));
  for (const ext of ['gif', 'png', 'mp4'] as const) {
    app.get(`/api/clips/:id/clip.${ext}`, { onRequest: auth, schema: { params: Id } }, async (req, reply) => sendFile(reply, ownClip(req), ext));
    app.get(`/api/shared/:token/clip.${ext}`, { schema: { params: Token } }, async (req, reply) => {
      const c = db.clipByShare(req.params.token);
      if (!c) throw new HttpError(404, 'no such shared clip');
      return sendFile(reply, c, ext);
    });
  }
  app.get('/api/shared/:token', { schema: { params: Token } }, async (req) => {
    const c = db.clipByShare(req.params.token);
    if (!c) throw new HttpError(404, 'no such shared clip');
    const v = clipView(c);
    return { ...v, checkpoint: undefined };
  });
  app.post('/api/clips/:id/share', { onRequest: auth, schema: { params: Id } }, async (req) => {
    const c = ownClip(req), token = c.share ?? newToken();
    db.setShare(c.id, token);
    return { token, url: `/shared/${token}` };
  });
  app.delete('/api/clips/:id/share', { onRequest: auth, schema: { params: Id } }, async (req, reply) => {
    db.setShare(ownClip(req).id, null);
    return reply.code(204).send();
  });
  app.delete('/api/clips/:id', { onRequest: auth, schema: { params: Id } }, async (req, reply) => {
    const c = ownClip(req);
    db.dropClip(c.id); // the job's clip_id goes with it (db.dropClip)
    for (const ext of ['gif', 'png', 'mp4'] as const) rmSync(clipFile(db, c.id, ext), { force: true });
    return reply.code(204).send();
  });
  // the page: compiled from web/app.ts once, at start; the draft's bundle on first request
  const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
  const page = readFileSync(join(web, 'index.html'));
  const script = pageScript(web);
  const style = readFileSync(join(web, 'style.css'));
  // wasm-unsafe-eval: the draft's TensorFlow.js wasm backend compiles WebAssembly (no JavaScript eval)
  const html = (_req: FastifyRequest, reply: FastifyReply) => reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; style-src 'self'").send(page);
  app.get('/', html);
  app.get('/shared/:token', html);
  app.get('/app.js', (_req, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').send(script));
  app.get('/style.css', (_req, reply) => reply.header('content-type', 'text/css; charset=utf-8').send(style));
  let draft: Promise<string> | undefined;
  app.get('/draft.js', async (_req, reply) => {
    draft ??= draftScript(web);
    try {
      return reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(await draft);
    } catch (e) {
      draft = undefined;
      app.log.error(e);
      throw new HttpError(500, 'the draft code could not be built');
    }
  });
  const WASM = new Set(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']);
  const wasmDir = join(dirname(fileURLToPath(import.meta.resolve('@tensorflow/tfjs-backend-wasm'))), '..');
  app.get('/tfjs-wasm/:file', { schema: { params: Type.Object({ file: Type.String({ maxLength: 64 }) }) } }, (req, reply) => {
    const f = req.params.file;
    if (!WASM.has(f)) throw new HttpError(404, 'no such file');
    const path = [join(wasmDir, f), join(wasmDir, 'dist', f)].find((p) => existsSync(p));
    if (!path) throw new HttpError(404, 'no such file');
    return reply.header('content-type', 'application/wasm').header('cache-control', 'public, max-age=86400').send(readFileSync(path));
  });
  return { app, db, jobs };
}

/** The session id from the Cookie header (our ids are base64url: nothing to decode). */
function sessionCookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === 'sid' && v && /^[A-Za-z0-9_-]{43}$/.test(v)) return v;
  }
  return undefined;
}

function httpName(code: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests' } as Record<number, string>)[code] ?? (code >= 500 ? 'Internal Server Error' : 'Error');
}

/** The 16 frames back from a clip's PNG strip (frames side by side with a 2-pixel gap). */
function framesFromStrip(png: Buffer): Float32Array {
  const img = PNG.sync.read(png), out = new Float32Array(16 * 64 * 64 * 3);
  for (let f = 0; f < 16; f++) for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
    const sx = f * 66 + x, sy = y, i = (sy * img.width + sx) * 4;
    for (let c = 0; c < 3; c++) out[((f * 64 + y) * 64 + x) * 3 + c] = img.data[i + c] / 255;
  }
  return out;
}
