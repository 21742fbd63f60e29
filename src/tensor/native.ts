// The 'native' backend: TensorFlow.js's cpu backend (JS typed arrays, every kernel) with the hot
// kernels replaced by calls into genlab's N-API addon over a system BLAS. Data stays in JS
// Float32Arrays, so the addon reads and writes it in place with no copies.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

export interface NativeAddon {
  sgemmBatch(
    batch: number, transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, strideA: number, b: Float32Array, strideB: number, c: Float32Array, strideC: number, beta?: number,
  ): void;
  info(): { blas: string; threads: number };
  setThreads(n: number): void;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonPath = join(root, 'native', 'build', 'Release', 'genlab_native.node');

/**
 * OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its Prescott
 * (SSE3) kernels: 40 GFLOP/s instead of 150 on a 1024 matmul here. Name the core type from the
 * CPU's flags before the library loads, unless the user set OPENBLAS_CORETYPE.
 */
function pickOpenBlasCore(): void {
  if (process.env.OPENBLAS_CORETYPE || process.platform !== 'linux' || process.arch !== 'x64') return;
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return;
  }
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq'].every((f) => flags.has(f))) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (flags.has('avx2') && flags.has('fma')) process.env.OPENBLAS_CORETYPE = 'Haswell';
}

/** Loads the addon, or returns the reason it is unavailable. */
export function loadAddon(): { addon?: NativeAddon; reason: string } {
  if (!existsSync(addonPath)) {
    const status = join(root, 'native', 'build', 'STATUS');
    const why = existsSync(status) ? readFileSync(status, 'utf8').trim() : 'not built (run `npm run build:native`)';
    return { reason: `native addon ${why}` };
  }
  pickOpenBlasCore();
  try {
    const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    return { addon, reason: 'loaded ' + addonPath };
  } catch (e) {
    return { reason: `native addon failed to load: ${(e as Error).message}` };
  }
}

export class NativeBackend extends MathBackendCPU {}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: NativeBackend; attrs?: NamedAttrMap };

function f32(backend: NativeBackend, t: TensorInfo): Float32Array {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

function cpuKernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`cpu backend has no kernel ${name}`);
  return k.kernelFunc;
}

/** a @ b with tfjs's BatchMatMul semantics, or undefined when a case is left to the cpu kernel. */
function batchMatMul(
  addon: NativeAddon, backend: NativeBackend, a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean,
): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const out = new Float32Array(Math.max(batchA, batchB) * m * n);
  const av = f32(backend, a), bv = f32(backend, b);
  if (batchB === 1 && !transA) {
    // Fold the batch into the rows: one large GEMM instead of many small ones.
    addon.sgemmBatch(1, false, transB, batchA * m, n, k, av, 0, bv, 0, out, 0);
  } else {
    const batch = Math.max(batchA, batchB);
    addon.sgemmBatch(batch, transA, transB, m, n, k, av, batchA === 1 ? 0 : m * k, bv, batchB === 1 ? 0 : k * n, out, m * n);
  }
  return backend.makeTensorInfo([...outer, m, n], 'float32', out);
}

function registerOverrides(addon: NativeAddon): string[] {
  const cpuBatchMatMul = cpuKernel('BatchMatMul');
  const cpuFused = cpuKernel('_FusedMatMul');
  const add = cpuKernel('Add');
  const kernels: KernelConfig[] = [
    {
      kernelName: 'BatchMatMul',
      backendName: 'native',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as KernelArgs;
        const r = batchMatMul(addon, backend, inputs.a, inputs.b, Boolean(attrs?.transposeA), Boolean(attrs?.transposeB));
        return r ?? (cpuBatchMatMul(args) as TensorInfo);
      },
    },
    {
      kernelName: '_FusedMatMul',
      backendName: 'native',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as KernelArgs;
        const activation = (attrs?.activation as string | undefined) ?? 'linear';
        if (activation !== 'linear') return cpuFused(args) as TensorInfo;
        const r = batchMatMul(addon, backend, inputs.a, inputs.b, Boolean(attrs?.transposeA), Boolean(attrs?.transposeB));
        if (!r) return cpuFused(args) as TensorInfo;
        const bias = inputs.bias;
        if (!bias) return r;
        const n = r.shape[r.shape.length - 1];
        if (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === n && bias.shape[bias.shape.length - 1] === n) {
          const out = backend.data.get(r.dataId).values as Float32Array, bv = f32(backend, bias);
          for (let i = 0; i < out.length; i += n) for (let j = 0; j < n; j++) out[i + j] += bv[j];
          return r;
        }
        const s = add({ inputs: { a: r, b: bias }, backend, attrs: {} }) as TensorInfo;
        backend.disposeIntermediateTensorInfo(r);
        return s;
      },
    },
  ];
  for (const k of kernels) tf.registerKernel(k);
  return kernels.map((k) => k.kernelName);
}

let registered: string[] | undefined;

/** Registers the 'native' backend once: every cpu kernel, with the addon's kernels on top. */
export function registerNativeBackend(addon: NativeAddon, priority = 0): string[] {
  if (registered) return registered;
  tf.registerBackend('native', () => new NativeBackend(), priority);
  const own = new Set(registerOverrides(addon));
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (!own.has(k.kernelName)) tf.registerKernel({ ...k, backendName: 'native' });
  }
  registered = [...own];
  return registered;
}
