// Runs workloads after warm-up and prints one JSON line each (the peer's fields, plus backend
// and threads); with `peer`, also runs the PyTorch peer in the same run and prints ratios.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from '../tensor/backend.js';
import { WORKLOADS } from './workloads.js';
import { UserError } from '../util/errors.js';

export interface BenchOptions {
  only: string[];
  reps: number;
  warmup: number;
  peer: boolean;
  peerScript: string;
  profile?: string;
}

export interface BenchLine {
  workload: string;
  impl: string;
  backend: string;
  threads: number;
  params: number;
  ms_median: number;
  ms_min: number;
  unit: string;
  fallback_kernels: string[];
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

export function benchNames(only: string[]): string[] {
  const names = only.length ? only : Object.keys(WORKLOADS);
  const bad = names.filter((n) => !(n in WORKLOADS));
  if (bad.length) throw new Error(`unknown workload(s): ${bad.join(', ')}; choose from ${Object.keys(WORKLOADS).join(', ')}`);
  return names;
}

export function runOne(name: string, o: BenchOptions, info: BackendInfo): BenchLine {
  const w = WORKLOADS[name]();
  try {
    const reps = w.heavy ? Math.max(2, Math.floor(o.reps / 4)) : o.reps;
    for (let i = 0; i < (reps > 2 ? o.warmup : 1); i++) w.step();
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      w.step();
      times.push(performance.now() - t0);
    }
    const extra = name === 'matmul1024' ? { gflops: Math.round((2 * 1024 ** 3) / median(times) / 1e4) / 100 } : {};
    return {
      ...extra,
      workload: name, impl: `genlab-tfjs-${tf.version_core}-${info.backend}`, backend: info.backend, threads: info.threads, params: w.params,
      ms_median: Math.round(median(times) * 100) / 100, ms_min: Math.round(Math.min(...times) * 100) / 100, unit: w.unit,
      fallback_kernels: info.backend === 'native' ? [] : info.ownKernels,
    };
  } finally {
    w.dispose();
  }
}

/** Kernel time table for one workload (tf.profile), top 15 by time. */
export async function profileOne(name: string): Promise<string[]> {
  const w = WORKLOADS[name]();
  try {
    w.step();
    const p = await tf.profile(() => { w.step(); });
    const agg = new Map<string, { ms: number; n: number }>();
    for (const k of p.kernels) {
      if (k.name.endsWith('__op')) continue; // an op's scope around its kernel: counted once, as the kernel
      const a = agg.get(k.name) ?? { ms: 0, n: 0 };
      a.ms += Number(k.kernelTimeMs) || 0;
      a.n += 1;
      agg.set(k.name, a);
    }
    const total = [...agg.values()].reduce((s, a) => s + a.ms, 0);
    return [`kernel                      ms   calls  share  (${name}, one step, ${total.toFixed(1)} ms in kernels)`,
      ...[...agg].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15).map(([k, a]) => `${k.padEnd(24)} ${a.ms.toFixed(1).padStart(7)} ${String(a.n).padStart(7)} ${((100 * a.ms) / total).toFixed(1).padStart(5)}%`),
      ...convRates(p.kernels)];
  } finally {
    w.dispose();
  }
}

const CONV_KERNELS = ['FusedConv2D', 'GenlabConv2DAdd', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];

/** Per convolution kernel and shape: time and GFLOP/s (2 multiply-adds per filter tap and channel pair). */
function convRates(kernels: { name: string; kernelTimeMs: unknown; inputShapes: number[][]; outputShapes: number[][] }[]): string[] {
  const rows = new Map<string, { ms: number; n: number; flops: number }>();
  for (const k of kernels) {
    if (!CONV_KERNELS.includes(k.name)) continue;
    // the filter is the second input of the forward and input-gradient kernels; the output of the filter gradient
    const filter = k.name === 'Conv2DBackpropFilter' ? k.outputShapes[0] : k.inputShapes[1];
    const image = k.name === 'Conv2DBackpropInput' ? k.inputShapes[0] : k.name === 'Conv2DBackpropFilter' ? k.inputShapes[1] : k.outputShapes[0];
    if (!filter || !image || filter.length !== 4 || image.length !== 4) continue;
    // image is the output side (the forward's output, dy): B*OH*OW*OC outputs, KH*KW*C taps each
    const flops = 2 * image[0] * image[1] * image[2] * filter[0] * filter[1] * filter[2] * filter[3];
    const key = `${k.name} ${k.inputShapes.map((s) => s?.join('x')).join(' ')}`;
    const r = rows.get(key) ?? { ms: 0, n: 0, flops: 0 };
    r.ms += Number(k.kernelTimeMs) || 0; r.n += 1; r.flops += flops;
    rows.set(key, r);
  }
  if (!rows.size) return [];
  return ['', 'convolution kernel and input shapes                                ms  calls  GFLOP/s',
    ...[...rows].sort((a, b) => b[1].ms - a[1].ms).map(([k, r]) => `${k.padEnd(64)} ${r.ms.toFixed(1).padStart(6)} ${String(r.n).padStart(6)} ${(r.flops / r.ms / 1e6).toFixed(0).padStart(8)}`)];
}

export interface PeerLine { workload: string; ms_median: number; params: number; impl: string }

/** The workloads the PyTorch peer defines (the others are genlab's own). */
export const PEER_WORKLOADS = ['charlstm', 'gpt', 'dcgan', 'vae', 'unet', 'ddim', 'gpt_generate', 'frame_ae', 'video_unet', 'clip_sample'];

export function runPeer(o: BenchOptions, allNames: string[]): PeerLine[] {
  const names = allNames.filter((n) => PEER_WORKLOADS.includes(n));
  if (!names.length) return [];
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  if (!existsSync(o.peerScript)) throw new UserError(`peer script not found: ${o.peerScript} (pass --peer-script FILE)`);
  const r = spawnSync(python, [o.peerScript, '--threads', '2', '--reps', String(o.reps), '--only', names.join(',')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the peer failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PeerLine);
}

// from src/bench/: the repository's parent holds the workplace's shared/ folder
export const DEFAULT_PEER = join(import.meta.dirname, '..', '..', '..', 'shared', 'peer', 'torch_reference.py');
