// The 'native' compute: TensorFlow.js's wasm backend (SIMD kernels for every op) with its hot
// kernels replaced by calls into genlab's N-API addon over a system BLAS, using every core.
// Tensors stay in the wasm heap; the addon reads and writes them in place through
// Float32Array views, with no copies. (The cpu backend was tried as the host first: its JS
// broadcasting and reduction kernels cost 6.5 s of a 6.6 s gpt step.)
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

export interface NativeAddon {
  sgemmBatch(
    batch: number, transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, strideA: number, b: Float32Array, strideB: number, c: Float32Array, strideC: number, beta?: number, bias?: Float32Array,
  ): void;
  transpose(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
  sumSquares(x: Float32Array): number;
  adamStep(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number,
    weightDecay: number, decoupled: boolean, bc1: number, bc2: number, gradScale: number,
  ): void;
  emaStep(shadow: Float32Array, p: Float32Array, decay: number): void;
  gelu(x: Float32Array, out: Float32Array): void;
  geluGrad(x: Float32Array, dy: Float32Array, out: Float32Array): void;
  causalSoftmax(x: Float32Array, tn: number, t: number, scale: number, pos0: number, out: Float32Array): void;
  causalSoftmaxGrad(y: Float32Array, dy: Float32Array, t: number, scale: number, out: Float32Array): void;
  leakyRelu(x: Float32Array, alpha: number, out: Float32Array, dy?: Float32Array): void;
  reduceSum(x: Float32Array, outer: number, reduce: number, inner: number, out: Float32Array): void;
  conv2d(geom: number[], x: Float32Array, w: Float32Array, out: Float32Array, bias?: Float32Array, perImage?: boolean, add?: Float32Array): void;
  conv2dBackpropFilter(geom: number[], x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  conv2dBackpropInput(geom: number[], dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  /** act: 0 none, 1 SiLU, 2 leaky ReLU of slope alpha */
  groupNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, b: number, hw: number, c: number, g: number, eps: number, act: number, alpha: number, y: Float32Array, stats: Float32Array): void;
  groupNormGrad(
    x: Float32Array, gamma: Float32Array, beta: Float32Array, stats: Float32Array, dy: Float32Array, b: number, hw: number, c: number, g: number, act: number, alpha: number,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array,
  ): void;
  lstmCell(xw: Float32Array, hw: Float32Array, cPrev: Float32Array, b: number, h: number, hOut: Float32Array, cOut: Float32Array, act: Float32Array): void;
  lstmCellGrad(act: Float32Array, cPrev: Float32Array, dh: Float32Array, dc: Float32Array, b: number, h: number, dGates: Float32Array, dcPrev: Float32Array): void;
  boxCopy(src: Float32Array, srcShape: number[], srcBegin: number[], dst: Float32Array, dstShape: number[], dstBegin: number[], size: number[]): void;
  resizeNearest(src: Float32Array, b: number, h: number, w: number, c: number, oh: number, ow: number, dst: Float32Array, grad: boolean): void;
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
  if (process.env.GENLAB_NO_NATIVE === '1') return { reason: 'native addon disabled by GENLAB_NO_NATIVE=1' };
  if (!existsSync(addonPath)) {
    const status = join(root, 'native', 'build', 'STATUS');
    const why = existsSync(status) ? readFileSync(status, 'utf8').trim() : 'not built (run `npm run build:native`)';
    return { reason: `native addon ${why}` };
  }
  pickOpenBlasCore();
  // OpenBLAS's idle workers spin for 2^28 cycles (~0.1 s) after each GEMM, taking the second core
  // from the addon's own threads (direct convolutions, GroupNorm): unet 630 -> 390-460 ms at 2^14.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '14';
  try {
    const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    return { addon, reason: 'loaded ' + addonPath };
  } catch (e) {
    return { reason: `native addon failed to load: ${(e as Error).message}` };
  }
}

/** The part of tfjs-backend-wasm's BackendWasm that the kernels use. */
interface WasmHost {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmHost; attrs?: NamedAttrMap };

function view(backend: WasmHost, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** a @ b (+ bias [n]) with tfjs's BatchMatMul semantics, or undefined for a case left to the wasm kernel. */
function batchMatMul(addon: NativeAddon, backend: WasmHost, a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean, bias?: TensorInfo): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const out = backend.makeOutput([...outer, m, n], 'float32');
  // Views after makeOutput: growing the heap detaches earlier ones.
  const av = view(backend, a), bv = view(backend, b), ov = view(backend, out);
  const biasView = bias ? view(backend, bias) : undefined;
  if (batchB === 1 && !transA) {
    // Fold the batch into the rows: one large GEMM instead of many small ones.
    addon.sgemmBatch(1, false, transB, batchA * m, n, k, av, 0, bv, 0, ov, 0, 0, biasView);
  } else {
    const batch = Math.max(batchA, batchB);
    addon.sgemmBatch(batch, transA, transB, m, n, k, av, batchA === 1 ? 0 : m * k, bv, batchB === 1 ? 0 : k * n, ov, m * n, 0, biasView);
  }
  return out;
}

/**
 * Copies x[begin : begin + size] into a new output of `outShape` (its size must match), reading
 * the input through a heap view. The wasm Slice first copies the whole input out of the heap
 * (readSync), which made each of an LSTM's 64 per-step slices cost a full copy of its input.
 */
function sliceInto(backend: WasmHost, x: TensorInfo, begin: number[], size: number[], outShape: number[], addon?: NativeAddon): TensorInfo {
  const out = backend.makeOutput(outShape, x.dtype);
  if (addon && x.dtype === 'float32' && x.shape.length >= 1 && x.shape.length <= 8) {
    addon.boxCopy(view(backend, x), x.shape, begin, view(backend, out), size, size.map(() => 0), size);
    return out;
  }
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  const r = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  // innermost contiguous run: trailing full dimensions, times the first partial one
  let d = r - 1, run = 1;
  while (d >= 0 && size[d] === x.shape[d]) run *= size[d--];
  if (d >= 0) run *= size[d];
  const outerDims = d >= 0 ? d : 0; // dimensions [0, outerDims) are iterated
  const idx = new Array<number>(outerDims).fill(0);
  const count = tf.util.sizeFromShape(size) / run;
  let o = 0;
  for (let n = 0; n < count; n++) {
    let off = d >= 0 ? begin[d] * (strides[d] ?? 1) : 0;
    for (let k = 0; k < outerDims; k++) off += (begin[k] + idx[k]) * strides[k];
    dst.set(src.subarray(off, off + run), o);
    o += run;
    for (let k = outerDims - 1; k >= 0; k--) {
      if (++idx[k] < size[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

type ConvAttrs = {
  strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape?: number[]; filterShape?: number[];
};

/** The geometry the addon's convolutions take, from tfjs's conv info (NHWC only). */
function convGeom(xShape: number[], filterShape: number[], a: ConvAttrs): number[] | undefined {
  if (a.dataFormat === 'NCHW') return undefined;
  const c = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  return [c.batchSize, c.inHeight, c.inWidth, c.inChannels, c.outHeight, c.outWidth, c.outChannels, c.filterHeight, c.filterWidth,
    c.strideHeight, c.strideWidth, c.padInfo.top, c.padInfo.left, c.dilationHeight, c.dilationWidth];
}

/** A wasm kernel with one float32 output shaped as input `like`, which `fill` computes (views are taken after the output exists: growing the heap detaches earlier ones). */
function sameShape(kernelName: string, like: string, fill: (inputs: Record<string, TensorInfo>, attrs: NamedAttrMap, v: (t: TensorInfo) => Float32Array, out: Float32Array) => void): KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const out = backend.makeOutput(inputs[like].shape, 'float32');
      fill(inputs, attrs ?? {}, (t) => view(backend, t), view(backend, out));
      return out;
    },
  };
}

function overrides(addon: NativeAddon, original: (name: string) => KernelFunc): KernelConfig[] {
  /** A reduction over adjacent axes; `scale` 0 means divide by the reduced count (Mean). */
  const reduceKernel = (name: 'Sum' | 'Mean', scale: number): KernelConfig => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const x = inputs.x;
      const r = x.shape.length;
      const axes = tf.util.parseAxisParam(attrs?.axis as number | number[], x.shape).sort((a, b) => a - b);
      const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
      if (x.dtype !== 'float32' || !axes.length || !adjacent) return original(name)(args) as TensorInfo;
      const size = (from: number, to: number) => tf.util.sizeFromShape(x.shape.slice(from, to));
      const outer = size(0, axes[0]), reduce = size(axes[0], axes[axes.length - 1] + 1), inner = size(axes[axes.length - 1] + 1, r);
      const keep = Boolean(attrs?.keepDims);
      const outShape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
      const out = backend.makeOutput(outShape, 'float32');
      const ov = view(backend, out);
      addon.reduceSum(view(backend, x), outer, reduce, inner, ov);
      const f = scale === 0 ? 1 / reduce : scale;
      if (f !== 1) for (let i = 0; i < ov.length; i++) ov[i] *= f;
      return out;
    },
  });
  const add = (args: { inputs: Record<string, TensorInfo>; backend: WasmHost }) =>
    tf.getKernel('Add', 'wasm')!.kernelFunc({ ...args, attrs: {} } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  const dispose = (backend: WasmHost, t: TensorInfo) => (backend as unknown as { disposeData(id: unknown): void }).disposeData(t.dataId);
  /** Nearest-neighbour resize (the UNet's upsampling) or its gradient, without corner alignment. */
  const resizeKernel = (name: 'ResizeNearestNeighbor' | 'ResizeNearestNeighborGrad'): KernelConfig => ({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const grad = name === 'ResizeNearestNeighborGrad', images = inputs.images, src = grad ? inputs.dy : images;
      if (src.dtype !== 'float32' || images.shape.length !== 4 || attrs?.alignCorners || attrs?.halfPixelCenters) return original(name)(args) as TensorInfo;
      const [B, H, W, C] = images.shape, [OH, OW] = grad ? src.shape.slice(1, 3) : (attrs?.size as [number, number]);
      const out = backend.makeOutput(grad ? images.shape : [B, OH, OW, C], 'float32');
      addon.resizeNearest(view(backend, src), B, H, W, C, OH, OW, view(backend, out), grad);
      return out;
    },
  });
  return [
    {
      kernelName: 'BatchMatMul',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        return batchMatMul(addon, backend, inputs.a, inputs.b, Boolean(attrs?.transposeA), Boolean(attrs?.transposeB)) ?? (original('BatchMatMul')(args) as TensorInfo);
      },
    },
    {
      kernelName: '_FusedMatMul',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const activation = (attrs?.activation as string | undefined) ?? 'linear';
        if (activation !== 'linear' || inputs.preluActivationWeights) return original('_FusedMatMul')(args) as TensorInfo;
        const bias = inputs.bias;
        const n = inputs.b.shape[inputs.b.shape.length - (attrs?.transposeB ? 2 : 1)];
        // A bias of one value per output column goes into the GEMM; any other shape is added after.
        const rowBias = bias && bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === n && bias.shape[bias.shape.length - 1] === n;
        const r = batchMatMul(addon, backend, inputs.a, inputs.b, Boolean(attrs?.transposeA), Boolean(attrs?.transposeB), rowBias ? bias : undefined);
        if (!r) return original('_FusedMatMul')(args) as TensorInfo;
        if (!bias || rowBias) return r;
        const s = add({ inputs: { a: r, b: bias }, backend });
        dispose(backend, r);
        return s;
      },
    },
    // Sum and Mean over a run of adjacent axes without the transpose the wasm kernels make first
    // (bias gradients sum over every leading axis; batch norm averages over all but the last).
    reduceKernel('Sum', 1),
    reduceKernel('Mean', 0),
    // softmax(scale * x) over the last axis with query i (axis -2) seeing keys j <= pos0 + i
    sameShape('GenlabCausalSoftmax', 'x', (i, a, v, out) => addon.causalSoftmax(v(i.x), i.x.shape.at(-2)!, i.x.shape.at(-1)!, a.scale as number, a.pos0 as number, out)),
    sameShape('GenlabCausalSoftmaxGrad', 'y', (i, a, v, out) => addon.causalSoftmaxGrad(v(i.y), v(i.dy), i.y.shape.at(-1)!, a.scale as number, out)),
    sameShape('GenlabGelu', 'x', (i, _a, v, out) => addon.gelu(v(i.x), out)),
    sameShape('GenlabGeluGrad', 'x', (i, _a, v, out) => addon.geluGrad(v(i.x), v(i.dy), out)),
    {
      kernelName: 'LeakyRelu',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        if (inputs.x.dtype !== 'float32') return original('LeakyRelu')(args) as TensorInfo;
        const out = backend.makeOutput(inputs.x.shape, 'float32');
        addon.leakyRelu(view(backend, inputs.x), attrs?.alpha as number, view(backend, out));
        return out;
      },
    },
    // the gradient of LeakyRelu (registered below): one kernel instead of Greater, Select and Multiply
    sameShape('GenlabLeakyReluGrad', 'x', (i, a, v, out) => addon.leakyRelu(v(i.x), a.alpha as number, out, v(i.dy))),
    {
      kernelName: 'Conv2D',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { x, filter } = inputs;
        const g = x.dtype === 'float32' ? convGeom(x.shape, filter.shape, attrs as unknown as ConvAttrs) : undefined;
        if (!g) return original('Conv2D')(args) as TensorInfo;
        const out = backend.makeOutput([g[0], g[4], g[5], g[6]], 'float32');
        addon.conv2d(g, view(backend, x), view(backend, filter), view(backend, out));
        return out;
      },
    },
    {
      // tf.fused.conv2d: the bias goes into the GEMM; activations other than linear stay with wasm.
      kernelName: 'FusedConv2D',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { x, filter, bias } = inputs;
        const a = attrs as unknown as ConvAttrs & { activation?: string };
        const oc = filter.shape[3], B = x.shape[0];
        // a bias [OC], or [B, 1, 1, OC]: one per image (conv2dImageBias in ops.ts)
        const perImage = Boolean(bias && B > 1 && bias.shape.length === 4 && bias.shape[0] === B && bias.shape[1] === 1 && bias.shape[2] === 1 && bias.shape[3] === oc);
        const plain = (a.activation ?? 'linear') === 'linear' && !inputs.preluActivationWeights && (!bias || perImage || tf.util.sizeFromShape(bias.shape) === oc);
        const g = plain && x.dtype === 'float32' ? convGeom(x.shape, filter.shape, a) : undefined;
        if (!g) return original('FusedConv2D')(args) as TensorInfo;
        const out = backend.makeOutput([g[0], g[4], g[5], g[6]], 'float32');
        addon.conv2d(g, view(backend, x), view(backend, filter), view(backend, out), bias ? view(backend, bias) : undefined, perImage);
        return out;
      },
    },
    {
      // conv2d(x) + bias + addend in one pass (a residual connection; conv2dAdd in ops.ts)
      kernelName: 'GenlabConv2DAdd',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { x, filter, bias, addend } = inputs;
        const g = convGeom(x.shape, filter.shape, attrs as unknown as ConvAttrs)!;
        const out = backend.makeOutput([g[0], g[4], g[5], g[6]], 'float32');
        addon.conv2d(g, view(backend, x), view(backend, filter), view(backend, out), view(backend, bias), false, view(backend, addend));
        return out;
      },
    },
    {
      kernelName: 'Conv2DBackpropInput',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { dy, filter } = inputs;
        const a = attrs as unknown as ConvAttrs;
        const g = dy.dtype === 'float32' ? convGeom(a.inputShape!, filter.shape, a) : undefined;
        if (!g) return original('Conv2DBackpropInput')(args) as TensorInfo;
        const out = backend.makeOutput(a.inputShape!, 'float32');
        addon.conv2dBackpropInput(g, view(backend, dy), view(backend, filter), view(backend, out));
        return out;
      },
    },
    {
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { x, dy } = inputs;
        const a = attrs as unknown as ConvAttrs;
        const g = x.dtype === 'float32' ? convGeom(x.shape, a.filterShape!, a) : undefined;
        if (!g) return original('Conv2DBackpropFilter')(args) as TensorInfo;
        const out = backend.makeOutput(a.filterShape!, 'float32');
        addon.conv2dBackpropFilter(g, view(backend, x), view(backend, dy), view(backend, out));
        return out;
      },
    },
    {
      // each input copied into its box of the output (wasm's Concat was 6-9 ms a call on [64, 28, 28, 11])
      kernelName: 'Concat',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const xs = Object.values(inputs);
        const r = xs[0]?.shape.length ?? 0;
        if (!xs.length || r < 1 || r > 8 || xs.some((t) => t.dtype !== 'float32' || t.shape.length !== r)) return original('Concat')(args) as TensorInfo;
        const axis = tf.util.parseAxisParam(attrs?.axis as number, xs[0].shape)[0];
        const shape = [...xs[0].shape];
        shape[axis] = xs.reduce((n, t) => n + t.shape[axis], 0);
        const out = backend.makeOutput(shape, 'float32');
        const ov = view(backend, out), begin = new Array<number>(r).fill(0);
        for (const t of xs) {
          if (tf.util.sizeFromShape(t.shape) > 0) addon.boxCopy(view(backend, t), t.shape, new Array<number>(r).fill(0), ov, shape, [...begin], t.shape);
          begin[axis] += t.shape[axis];
        }
        return out;
      },
    },
    resizeKernel('ResizeNearestNeighbor'),
    resizeKernel('ResizeNearestNeighborGrad'),
    {
      kernelName: 'Slice',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const x = inputs.x;
        if (x.dtype === 'string') return original('Slice')(args) as TensorInfo;
        const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, attrs?.begin as number[], attrs?.size as number[]);
        return sliceInto(backend, x, begin, size, size, addon);
      },
    },
    {
      kernelName: 'SplitV',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const x = inputs.x;
        if (x.dtype === 'string') return original('SplitV')(args) as TensorInfo[];
        const axis = tf.util.parseAxisParam(attrs?.axis as number, x.shape)[0];
        const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs?.numOrSizeSplits as number[] | number, axis);
        const begin = new Array<number>(x.shape.length).fill(0);
        return sizes.map((n) => {
          const size = [...x.shape];
          size[axis] = n;
          const out = sliceInto(backend, x, [...begin], size, size, addon);
          begin[axis] += n;
          return out;
        });
      },
    },
    {
      kernelName: 'Unpack',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const x = inputs.value;
        if (x.dtype === 'string') return original('Unpack')(args) as TensorInfo[];
        const r = x.shape.length;
        const axis = ((attrs?.axis as number) + r) % r;
        const outShape = x.shape.filter((_, i) => i !== axis);
        const size = [...x.shape];
        size[axis] = 1;
        return Array.from({ length: x.shape[axis] }, (_, i) => {
          const begin = new Array<number>(r).fill(0);
          begin[axis] = i;
          return sliceInto(backend, x, begin, size, outShape, addon);
        });
      },
    },
    {
      // GroupNorm over NHWC, optionally fused with SiLU; outputs y and [B, G, 2] statistics.
      kernelName: 'GenlabGroupNorm',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { x, gamma, beta } = inputs;
        const [B, H, W, C] = x.shape, G = attrs?.groups as number;
        const y = backend.makeOutput(x.shape, 'float32'), stats = backend.makeOutput([B, G, 2], 'float32');
        addon.groupNorm(view(backend, x), view(backend, gamma), view(backend, beta), B, H * W, C, G, attrs?.eps as number, attrs?.act as number, attrs?.alpha as number, view(backend, y), view(backend, stats));
        return [y, stats];
      },
    },
    {
      kernelName: 'GenlabGroupNormGrad',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const { x, gamma, beta, stats, dy } = inputs;
        const [B, H, W, C] = x.shape, G = attrs?.groups as number;
        const dx = backend.makeOutput(x.shape, 'float32'), dg = backend.makeOutput([C], 'float32'), db = backend.makeOutput([C], 'float32');
        addon.groupNormGrad(view(backend, x), view(backend, gamma), view(backend, beta), view(backend, stats), view(backend, dy), B, H * W, C, G, attrs?.act as number, attrs?.alpha as number,
          view(backend, dx), view(backend, dg), view(backend, db));
        return [dx, dg, db];
      },
    },
    {
      // One LSTM step: outputs h, c and the activations the backward step needs.
      kernelName: 'GenlabLstmCell',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend } = args as unknown as KernelArgs;
        const [B, H] = inputs.c.shape;
        const h = backend.makeOutput([B, H], 'float32'), c = backend.makeOutput([B, H], 'float32'), act = backend.makeOutput([B, 5 * H], 'float32');
        addon.lstmCell(view(backend, inputs.xw), view(backend, inputs.hw), view(backend, inputs.c), B, H, view(backend, h), view(backend, c), view(backend, act));
        return [h, c, act];
      },
    },
    {
      kernelName: 'GenlabLstmCellGrad',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend } = args as unknown as KernelArgs;
        const [B, H] = inputs.c.shape;
        const dGates = backend.makeOutput([B, 4 * H], 'float32'), dc = backend.makeOutput([B, H], 'float32');
        addon.lstmCellGrad(view(backend, inputs.act), view(backend, inputs.c), view(backend, inputs.dh), view(backend, inputs.dc), B, H, view(backend, dGates), view(backend, dc));
        return [dGates, dc];
      },
    },
    {
      // The wasm Identity copies; tfjs calls it to save every tensor a gradient needs (about 400
      // copies per gpt step). Sharing the buffer by reference count is what the cpu backend does.
      kernelName: 'Identity',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend } = args as unknown as KernelArgs;
        const x = inputs.x;
        if (x.dtype === 'string') return original('Identity')(args) as TensorInfo;
        (backend as unknown as { incRef(id: unknown): void }).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    },
    {
      kernelName: 'Transpose',
      backendName: 'wasm',
      kernelFunc: (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const x = inputs.x, perm = attrs?.perm as number[];
        if (x.dtype !== 'float32' || x.shape.length > 8) return original('Transpose')(args) as TensorInfo;
        const out = backend.makeOutput(perm.map((p) => x.shape[p]), 'float32');
        addon.transpose(view(backend, x), x.shape, perm, view(backend, out));
        return out;
      },
    },
  ];
}

const saved = new Map<string, KernelConfig>();
let ours: KernelConfig[] | undefined;
let active = false;

/**
 * Turns genlab's native kernels on (or off) over the wasm backend. The wasm kernels they replace
 * are kept and serve the cases the native ones do not cover. Returns the replaced kernel names.
 */
export function setNativeKernels(addon: NativeAddon, on: boolean): string[] {
  if (!ours) {
    registerGradients();
    const original = (name: string): KernelFunc => {
      const k = saved.get(name);
      if (!k) throw new Error(`wasm backend has no kernel ${name}`);
      return k.kernelFunc;
    };
    ours = overrides(addon, original);
    for (const k of ours) {
      const w = tf.getKernel(k.kernelName, 'wasm');
      if (w) saved.set(k.kernelName, w);
    }
  }
  if (on !== active) {
    for (const k of ours) {
      const w = saved.get(k.kernelName);
      if (w || !on) tf.unregisterKernel(k.kernelName, 'wasm');
      // The wasm kernel's setupFunc still runs at backend init: other wasm kernels call into it.
      if (on) tf.registerKernel(w ? { ...k, setupFunc: w.setupFunc, disposeFunc: w.disposeFunc } : k);
      else if (w) tf.registerKernel(w);
    }
    active = on;
  }
  return ours.map((k) => k.kernelName);
}

/** Parameter updates done in place on the wasm heap, one native call per tensor. */
export interface InPlaceOps {
  sumSquares(t: tf.Tensor): number;
  /** false when a buffer is shared (the caller then falls back to tensor ops) */
  adamStep(p: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, h: AdamHyper): boolean;
  emaStep(shadow: tf.Variable, p: tf.Tensor, decay: number): boolean;
}

export interface AdamHyper {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; bc1: number; bc2: number; gradScale: number;
}

interface HeapBackend extends WasmHost { refCount(id: unknown): number }

export function nativeInPlaceOps(addon: NativeAddon): InPlaceOps {
  const heap = () => tf.backend() as unknown as HeapBackend;
  const f32 = (t: tf.Tensor) => heap().typedArrayFromHeap(t) as Float32Array;
  const own = (t: tf.Tensor) => t.dtype === 'float32' && heap().refCount(t.dataId) === 1;
  return {
    sumSquares: (t) => addon.sumSquares(f32(t)),
    adamStep: (p, g, m, v, h) => {
      if (!active || !own(p) || !own(m) || !own(v) || g.dtype !== 'float32') return false;
      addon.adamStep(f32(p), f32(g), f32(m), f32(v), h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.decoupled, h.bc1, h.bc2, h.gradScale);
      return true;
    },
    emaStep: (s, p, d) => {
      if (!active || !own(s) || p.dtype !== 'float32') return false;
      addon.emaStep(f32(s), f32(p), d);
      return true;
    },
  };
}

export function nativeKernelsActive(): boolean {
  return active;
}

function registerGradients(): void {
  tf.registerGradient({
    kernelName: 'GenlabGroupNorm',
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const [x, gamma, beta, stats] = saved;
      const [dx, dg, db] = tf.engine().runKernel('GenlabGroupNormGrad', { x, gamma, beta, stats, dy: (dy as tf.Tensor[])[0] }, attrs) as tf.Tensor[];
      return { x: () => dx, gamma: () => tf.reshape(dg, gamma.shape), beta: () => tf.reshape(db, beta.shape) };
    },
  });
  tf.registerGradient({
    kernelName: 'GenlabCausalSoftmax',
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => ({
      x: () => tf.engine().runKernel('GenlabCausalSoftmaxGrad', { y: saved[0], dy: dy as tf.Tensor }, { scale: attrs.scale }) as tf.Tensor,
    }),
  });
  tf.registerGradient({
    kernelName: 'GenlabConv2DAdd',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const [x, filter] = saved, d = dy as tf.Tensor;
      const conv = { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: attrs.dimRoundingMode };
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: d, filter }, { ...conv, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: d }, { ...conv, filterShape: filter.shape }) as tf.Tensor,
        bias: () => tf.sum(d, [0, 1, 2]),
        addend: () => d,
      };
    },
  });
  // LeakyRelu's gradient, as tfjs-core's (dy where x > 0, alpha dy elsewhere), in one kernel where
  // the backend has it. The gradient registry is global, so the composite form stays for the others.
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved, d = dy as tf.Tensor, alpha = attrs.alpha as number;
      if (x.dtype === 'float32' && tf.getKernel('GenlabLeakyReluGrad', tf.getBackend())) {
        return { x: () => tf.engine().runKernel('GenlabLeakyReluGrad', { x, dy: d }, { alpha }) as tf.Tensor };
      }
      return { x: () => tf.where(tf.greater(x, 0), d, tf.mul(d, alpha)) };
    },
  });
  tf.registerGradient({
    kernelName: 'GenlabLstmCell',
    inputsToSave: ['c'],
    outputsToSave: [false, false, true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [dh, dc] = dy as tf.Tensor[];
      const [c, act] = saved;
      // Computed here, in the enclosing scope: each thunk below runs in a tidy of its own, which
      // would dispose an output that another thunk still has to return.
      const [dGates, dcPrev] = tf.engine().runKernel('GenlabLstmCellGrad', { act, c, dh, dc }) as tf.Tensor[];
      return { xw: () => dGates, hw: () => tf.clone(dGates), c: () => dcPrev };
    },
  });
}
