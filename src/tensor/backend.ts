// The one module that chooses the compute backend. Order: 'native' (the wasm backend with
// genlab's BLAS kernels for the hot ops) when the addon is built, else TensorFlow.js's wasm
// backend (SIMD), else its plain cpu backend; each must pass a quick self-check first.
// GENLAB_BACKEND=native|wasm|cpu forces one.
import * as tf from '@tensorflow/tfjs-core';
// The union package registers the gradient of every op (tfjs-core's Node build carries none).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { availableParallelism } from 'node:os';
import { loadAddon, nativeInPlaceOps, nativeKernelsActive, setNativeKernels, type InPlaceOps } from './native.js';

export type { InPlaceOps } from './native.js';
import { registerWasmKernels } from './wasmKernels.js';
import { registerCpuKernels } from './cpuKernels.js';
import { ConfigError } from '../util/config.js';

export const BACKENDS = ['native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  backend: BackendName;
  /** Threads the backend computes with. */
  threads: number;
  tfjs: string;
  /** Kernels genlab registered itself on top of the backend. */
  ownKernels: string[];
  /** One line per backend that was tried and skipped, with the reason. */
  skipped: string[];
  detail: string;
}

let current: BackendInfo | undefined;

// The cpu backend also serves as the reference in tests and as the last fallback: fix it on load.
registerCpuKernels();

// Emscripten's loader (inside tfjs-backend-wasm) adds process handlers that rethrow every uncaught
// error with its own minified source attached; genlab reports errors itself, so they are removed.
type ListenerSnapshot = { exc: Function[]; rej: Function[] };
function snapshotListeners(): ListenerSnapshot {
  return { exc: process.listeners('uncaughtException'), rej: process.listeners('unhandledRejection') };
}
function restoreListeners(s: ListenerSnapshot): void {
  for (const l of process.listeners('uncaughtException')) if (!s.exc.includes(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection')) if (!s.rej.includes(l)) process.removeListener('unhandledRejection', l);
}

/** A small computation with a known answer: matmul, conv, softmax and a gradient. */
function selfCheck(): void {
  tf.tidy(() => {
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const m = tf.matMul(a, a, false, true).dataSync(); // [[5, 11], [11, 25]]
    const expect = [5, 11, 11, 25];
    if (m.some((v, i) => Math.abs(v - expect[i]) > 1e-5)) throw new Error(`matMul gave ${Array.from(m)}`);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(a).dataSync();
    if (Math.abs(g[3] - 8) > 1e-5) throw new Error(`gradient gave ${Array.from(g)}`);
    const c = tf.conv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([2, 2, 1, 1]) as tf.Tensor4D, 1, 'valid').dataSync();
    if (c.some((v) => Math.abs(v - 4) > 1e-5)) throw new Error(`conv2d gave ${Array.from(c)}`);
  });
}

async function tryBackend(name: BackendName): Promise<{ ok: boolean; ownKernels: string[]; threads: number; detail: string }> {
  let ownKernels: string[] = [];
  let threads = 1;
  let detail = '';
  let wasmListeners: ListenerSnapshot | undefined;
  if (name === 'native') {
    const { addon, reason } = loadAddon();
    if (!addon) return { ok: false, ownKernels, threads, detail: reason };
    const want = Number(process.env.GENLAB_THREADS) || Math.min(availableParallelism(), 8);
    addon.setThreads(want);
    ownKernels = [...registerWasmKernels(), ...setNativeKernels(addon, true)];
    const info = addon.info();
    threads = info.threads || want;
    detail = `wasm + ${info.blas.trim()}`;
    wasmListeners = snapshotListeners();
  } else if (name === 'wasm') {
    ownKernels = registerWasmKernels();
    const { addon } = loadAddon();
    if (addon) setNativeKernels(addon, false);
    wasmListeners = snapshotListeners();
    detail = 'tfjs-backend-wasm (SIMD, one thread in Node)';
  } else {
    detail = 'tfjs-backend-cpu (plain JavaScript)';
  }
  try {
    if (!(await tf.setBackend(tfjsName(name)))) return { ok: false, ownKernels, threads, detail: `${name}: failed to initialise` };
    await tf.ready();
    if (wasmListeners) restoreListeners(wasmListeners);
    selfCheck();
    return { ok: true, ownKernels, threads, detail };
  } catch (e) {
    return { ok: false, ownKernels, threads, detail: `${name}: self-check failed: ${(e as Error).message}` };
  }
}

/** Picks and initialises the backend once per process; later calls return the same choice. */
export async function initBackend(): Promise<BackendInfo> {
  if (current) return current;
  tf.enableProdMode(); // no per-op debug checks, and no "install tfjs-node" banner
  const forced = process.env.GENLAB_BACKEND;
  if (forced && !(BACKENDS as readonly string[]).includes(forced)) {
    throw new ConfigError(`GENLAB_BACKEND=${forced} is not a backend; use one of ${BACKENDS.join(', ')}`);
  }
  const order: BackendName[] = forced ? [forced as BackendName] : [...BACKENDS];
  const skipped: string[] = [];
  for (const name of order) {
    const r = await tryBackend(name);
    if (r.ok) {
      current = { backend: name, threads: r.threads, tfjs: tf.version_core, ownKernels: r.ownKernels, skipped, detail: r.detail };
      return current;
    }
    skipped.push(`${name}: ${r.detail}`);
  }
  throw new Error(`no compute backend passed its self-check:\n  ${skipped.join('\n  ')}`);
}

function tfjsName(name: BackendName): string {
  return name === 'native' ? 'wasm' : name;
}

/** Switches to a named backend (tests compare backends). */
export async function useBackend(name: BackendName): Promise<void> {
  const { addon, reason } = loadAddon();
  if (name === 'native' && !addon) throw new Error(reason);
  registerWasmKernels(); // first: the native kernels fall back to these
  if (addon) setNativeKernels(addon, name === 'native');
  const snap = snapshotListeners();
  if (!(await tf.setBackend(tfjsName(name)))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  restoreListeners(snap);
}

export function backendInfo(): BackendInfo | undefined {
  return current;
}

export function nativeAvailable(): boolean {
  return loadAddon().addon !== undefined;
}

let inPlace: InPlaceOps | undefined;

/**
 * In-place optimizer and EMA updates when the native kernels are active (one native call per
 * weight instead of about fifteen tensor ops); undefined otherwise.
 */
export function inPlaceOps(): InPlaceOps | undefined {
  if (!nativeKernelsActive() || tf.getBackend() !== 'wasm') return undefined;
  if (!inPlace) {
    const { addon } = loadAddon();
    if (addon) inPlace = nativeInPlaceOps(addon);
  }
  return inPlace;
}
