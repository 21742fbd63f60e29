// A checkpoint is a directory: config.json (family, model config, tokenizer, step, RNG state,
// metrics), weights in TensorFlow.js's weights-manifest format (weights.json + weights.bin,
// loadable in a browser with tf.io.decodeWeights), optimizer state likewise, and a MANIFEST with
// the sha256 of every file. It is written to a temporary directory and renamed into place.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fsProblem, makeDirs } from '../util/files.js';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.js';

export const CHECKPOINT_FORMAT = 'genlab-checkpoint/1';

export interface CheckpointMeta {
  format: string;
  family: string;
  /** the model's config (family-specific) */
  model: Record<string, unknown>;
  tokenizer?: unknown;
  /** the trainer's config */
  train?: Record<string, unknown>;
  step: number;
  rng?: number[];
  optimizerStep?: number;
  metrics?: Record<string, unknown>;
  /** the command that produced it */
  command?: string;
  seed?: number;
  trainSeconds?: number;
  created: string;
  /** every command that trained it, the first one first */
  commands?: string[];
  /** image models: the --data they were trained on, and the image size */
  data?: string;
  image?: { height: number; width: number; classes: number };
  /** the family's own training settings (diffusion's minSnrGamma, the GAN's DiffAugment) */
  task?: Record<string, unknown>;
  /** fine-tuned text models: the weights trained, the source and how */
  trainable?: string[];
  finetunedFrom?: string;
  finetune?: unknown;
  /** written by export: the run's evaluation, the export itself, and the sampling settings the evaluation chose */
  evaluation?: unknown;
  exported?: { command: string; precision: string; weights: string; created: string };
  sampling?: SamplingDefaults;
  /** diffusion: the noise schedule it was trained with (absent: DDPM's linear 1e-4..0.02 over 1,000 steps) */
  schedule?: { kind: 'linear' | 'cosine'; steps: number; betaStart?: number; betaEnd?: number };
}

/** The sampling settings a checkpoint recommends (what every verb and the library use unless told otherwise), with the figures that chose them. */
export interface SamplingDefaults {
  steps?: number;
  guidance?: number;
  scheduler?: 'ddim' | 'ddpm';
  temperature?: number;
  /** where the numbers come from: the evaluation command and its figures */
  chosenBy?: string;
}

export interface CheckpointData {
  meta: CheckpointMeta;
  weights: tf.NamedTensorMap;
  optimizer?: tf.NamedTensorMap;
  ema?: tf.NamedTensorMap;
}

const GROUPS = ['weights', 'optimizer', 'ema'] as const;
type Group = (typeof GROUPS)[number];

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** float32 -> IEEE half, rounding to nearest even (overflow to infinity, tiny values to subnormals or 0). */
export function toFloat16(values: Float32Array): Uint16Array {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer), out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0], sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, man = x & 0x7fffff;
    let h: number;
    if (exp === 0xff) h = sign | 0x7c00 | (man ? 0x200 : 0);
    else {
      const e = exp - 127 + 15;
      if (e >= 0x1f) h = sign | 0x7c00;
      else if (e <= 0) {
        if (e < -10) h = sign;
        else {
          const m = man | 0x800000, shift = 14 - e, half = 1 << (shift - 1);
          let v = m >>> shift;
          const rest = m & ((1 << shift) - 1);
          if (rest > half || (rest === half && (v & 1))) v += 1;
          h = sign | v;
        }
      } else {
        h = sign | (e << 10) | (man >>> 13);
        const rest = man & 0x1fff;
        if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h += 1; // may carry into the exponent: still correct
      }
    }
    out[i] = h;
  }
  return out;
}

async function encode(map: tf.NamedTensorMap, bin: string, half = false): Promise<{ manifest: string; data: Uint8Array }> {
  const names = Object.keys(map);
  if (half && names.every((n) => map[n].dtype === 'float32')) {
    // tfjs's own quantized format: tf.io.decodeWeights (and a browser) reads it back as float32
    const parts = names.map((n) => toFloat16(map[n].dataSync() as Float32Array));
    const data = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
    let off = 0;
    for (const p of parts) { data.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off); off += p.byteLength; }
    const specs = names.map((name) => ({ name, shape: map[name].shape, dtype: 'float32', quantization: { dtype: 'float16' } }));
    return { manifest: JSON.stringify([{ paths: [bin], weights: specs }], null, 1), data };
  }
  const { data, specs } = await tf.io.encodeWeights(names.map((name) => ({ name, tensor: map[name] })));
  const manifest = JSON.stringify([{ paths: [bin], weights: specs }], null, 1);
  return { manifest, data: new Uint8Array(data) };
}

/** Writes `data` to `dir` atomically: a temp directory beside it, then renames. */
export async function saveCheckpoint(dir: string, data: CheckpointData, opts: { half?: boolean; extraFiles?: Record<string, Buffer> } = {}): Promise<void> {
  const parent = dirname(dir);
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}`), old = join(parent, `.${basename(dir)}.old-${process.pid}`);
  try {
    makeDirs(parent);
    recoverInterrupted(dir);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    await writeInto(tmp, data, opts);
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(dir) && existsSync(old)) renameSync(old, dir); // the previous checkpoint stays
    if (e instanceof UserError) throw e;
    throw new UserError(`the checkpoint was not saved (the previous one, if any, is kept): ${fsProblem(e, dir)}`);
  }
}

/** A save killed between its two renames leaves the previous checkpoint at .NAME.old-PID: put it back; drop leftover temporaries. */
function recoverInterrupted(dir: string): void {
  const parent = dirname(dir), name = basename(dir);
  for (const f of readdirSync(parent)) {
    if (!f.startsWith(`.${name}.old-`) && !f.startsWith(`.${name}.tmp-`)) continue;
    const p = join(parent, f);
    if (f.startsWith(`.${name}.old-`) && !existsSync(dir)) renameSync(p, dir);
    else rmSync(p, { recursive: true, force: true });
  }
}

async function writeInto(tmp: string, data: CheckpointData, opts: { half?: boolean; extraFiles?: Record<string, Buffer> }): Promise<void> {
  const files: Record<string, Uint8Array> = {};
  for (const g of GROUPS) {
    const map = data[g];
    if (!map) continue;
    const { manifest, data: bin } = await encode(map, `${g}.bin`, opts.half);
    files[`${g}.json`] = Buffer.from(manifest);
    files[`${g}.bin`] = bin;
  }
  files['config.json'] = Buffer.from(JSON.stringify(data.meta, null, 2) + '\n');
  Object.assign(files, opts.extraFiles);
  const lines: string[] = [];
  for (const [name, buf] of Object.entries(files)) {
    writeFileSync(join(tmp, name), buf);
    lines.push(`${sha256(buf)}  ${name}`);
  }
  writeFileSync(join(tmp, 'MANIFEST'), lines.sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join('\n') + '\n');
}

/** Verifies MANIFEST against every file; throws a UserError naming the first bad file. */
export function verifyCheckpoint(dir: string): Map<string, Buffer> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`no checkpoint directory at ${dir}`);
  const manifestPath = join(dir, 'MANIFEST');
  if (!existsSync(manifestPath)) throw new UserError(`checkpoint ${dir} has no MANIFEST (not a genlab checkpoint, or an interrupted write)`);
  const files = new Map<string, Buffer>();
  for (const line of readFileSync(manifestPath, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) throw new UserError(`checkpoint ${dir}: MANIFEST is malformed at "${line.slice(0, 80)}"`);
    const [, hash, name] = m;
    const path = join(dir, name);
    if (!existsSync(path)) throw new UserError(`checkpoint ${dir}: ${name} is missing`);
    const buf = readFileSync(path);
    if (sha256(buf) !== hash) throw new UserError(`checkpoint ${dir}: ${name} is corrupted or truncated (sha256 does not match MANIFEST)`);
    files.set(name, buf);
  }
  if (!files.has('config.json')) throw new UserError(`checkpoint ${dir}: MANIFEST does not list config.json`);
  return files;
}

function decodeGroup(dir: string, files: Map<string, Buffer>, g: Group): tf.NamedTensorMap | undefined {
  const mj = files.get(`${g}.json`), bin = files.get(`${g}.bin`);
  if (!mj || !bin) return undefined;
  try {
    const manifest = JSON.parse(mj.toString('utf8')) as { weights: tf.io.WeightsManifestEntry[] }[];
    const specs = manifest.flatMap((e) => e.weights);
    const ab = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
    return tf.io.decodeWeights(ab, specs);
  } catch (e) {
    throw new UserError(`checkpoint ${dir}: cannot decode ${g}.json/${g}.bin: ${(e as Error).message}`);
  }
}

/** Reads just config.json (verified). */
export function readCheckpointMeta(dir: string): CheckpointMeta {
  const files = verifyCheckpoint(dir);
  return parseMeta(dir, files.get('config.json')!);
}

function parseMeta(dir: string, buf: Buffer): CheckpointMeta {
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(buf.toString('utf8')) as CheckpointMeta;
  } catch (e) {
    throw new UserError(`checkpoint ${dir}: config.json is not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new UserError(`checkpoint ${dir}: config.json has format "${meta.format}", expected "${CHECKPOINT_FORMAT}"`);
  return meta;
}

/** Loads and verifies a checkpoint; the caller owns (and disposes) the returned tensors. */
export function loadCheckpoint(dir: string): CheckpointData {
  const files = verifyCheckpoint(dir);
  const meta = parseMeta(dir, files.get('config.json')!);
  const weights = decodeGroup(dir, files, 'weights');
  if (!weights) throw new UserError(`checkpoint ${dir}: no weights.json/weights.bin`);
  return { meta, weights, optimizer: decodeGroup(dir, files, 'optimizer'), ema: decodeGroup(dir, files, 'ema') };
}

/** A run directory holds `checkpoint/`; commands accept either the run directory or the checkpoint itself. */
export function resolveCheckpointDir(dir: string): string {
  const inner = join(dir, 'checkpoint');
  if (existsSync(join(inner, 'MANIFEST')) || existsSync(join(inner, 'config.json'))) return inner;
  return dir;
}

export function disposeMap(m: tf.NamedTensorMap | undefined): void {
  if (m) for (const t of Object.values(m)) t.dispose();
}
