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

/** A convolution's geometry, NHWC (tfjs's Conv2DInfo names). */
export interface ConvGeometry {
  batchSize: number; inHeight: number; inWidth: number; inChannels: number; outHeight: number; outWidth: number; outChannels: number;
  filterHeight: number; filterWidth: number; strideHeight: number; strideWidth: number; padTop: number; padLeft: number; dilationHeight: number; dilationWidth: number;
}

/** The addon's functions as genlab calls them: every kernel with more than a few arguments takes one object of named fields. */
export interface NativeAddon {
  /** c[i] = op(a[i]) @ op(b[i]) + beta c[i] for i < batch (a stride of 0 broadcasts one matrix); with a bias of n values every row of c starts as it */
  sgemmBatch(o: {
    batch: number; transA: boolean; transB: boolean; m: number; n: number; k: number;
    a: Float32Array; strideA: number; b: Float32Array; strideB: number; c: Float32Array; strideC: number; beta?: number; bias?: Float32Array;
  }): void;
  transpose(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
  sumSquares(x: Float32Array): number;
  adamStep(o: {
    p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array; lr: number; beta1: number; beta2: number; eps: number;
    weightDecay: number; decoupled: boolean; bc1: number; bc2: number; gradScale: number;
  }): void;
  emaStep(shadow: Float32Array, p: Float32Array, decay: number): void;
  gelu(x: Float32Array, out: Float32Array): void;
  geluGrad(x: Float32Array, dy: Float32Array, out: Float32Array): void;
  /** softmax(scale x) over rows of t keys, query i (of tn per block) seeing keys j <= pos0 + i */
  causalSoftmax(o: { x: Float32Array; tn: number; t: number; scale: number; pos0: number; out: Float32Array }): void;
  causalSoftmaxGrad(o: { y: Float32Array; dy: Float32Array; t: number; scale: number; out: Float32Array }): void;
  /** with dy: the gradient */
  leakyRelu(o: { x: Float32Array; alpha: number; out: Float32Array; dy?: Float32Array }): void;
  reduceSum(o: { x: Float32Array; outer: number; reduce: number; inner: number; out: Float32Array }): void;
  /** out = conv(x, w) (+ bias [OC], or one per image with perImage) (+ add, a residual) */
  conv2d(o: { geom: ConvGeometry; x: Float32Array; w: Float32Array; out: Float32Array; bias?: Float32Array; perImage?: boolean; add?: Float32Array }): void;
  conv2dBackpropFilter(o: { geom: ConvGeometry; x: Float32Array; dy: Float32Array; dw: Float32Array }): void;
  conv2dBackpropInput(o: { geom: ConvGeometry; dy: Float32Array; w: Float32Array; dx: Float32Array }): void;
  /** act: 0 none, 1 SiLU, 2 leaky ReLU of slope alpha */
  groupNorm(o: { x: Float32Array; gamma: Float32Array; beta: Float32Array; b: number; hw: number; c: number; g: number; eps: number; act: number; alpha: number; y: Float32Array; stats: Float32Array }): void;
  groupNormGrad(o: {
    x: Float32Array; gamma: Float32Array; beta: Float32Array; stats: Float32Array; dy: Float32Array; b: number; hw: number; c: number; g: number; act: number; alpha: number;
    dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array;
  }): void;
  lstmCell(o: { xw: Float32Array; hw: Float32Array; cPrev: Float32Array; b: number; h: number; hOut: Float32Array; cOut: Float32Array; act: Float32Array }): void;
  lstmCellGrad(o: { act: Float32Array; cPrev: Float32Array; dh: Float32Array; dc: Float32Array; b: number; h: number; dGates: Float32Array; dcPrev: Float32Array }): void;
  boxCopy(o: { src: Float32Array; srcShape: number[]; srcBegin: number[]; dst: Float32Array; dstShape: number[]; dstBegin: number[]; size: number[] }): void;
  resizeNearest(o: { src: Float32Array; b: number; h: number; w: number; c: number; oh: number; ow: number; dst: Float32Array; grad: boolean }): void;
  info(): { blas: string; threads: number };
  setThreads(n: number): void;
}

/** The addon as compiled (native/src/addon.cc): positional arguments, in the order of each C++ function's comment. Only typedAddon below calls it. */
interface RawAddon {
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

/**
 * The one place that knows the addon's argument order: each typed call becomes the positional one
 * (named fields cost ~1-2 us a call across N-API, ~30% of a 256-token GPT generation).
 */
function typedAddon(r: RawAddon): NativeAddon {
  const geom = (g: ConvGeometry) => [g.batchSize, g.inHeight, g.inWidth, g.inChannels, g.outHeight, g.outWidth, g.outChannels, g.filterHeight, g.filterWidth,
    g.strideHeight, g.strideWidth, g.padTop, g.padLeft, g.dilationHeight, g.dilationWidth];
  return {
    sgemmBatch: (o) => r.sgemmBatch(o.batch, o.transA, o.transB, o.m, o.n, o.k, o.a, o.strideA, o.b, o.strideB, o.c, o.strideC, o.beta, o.bias),
    transpose: (x, shape, perm, out) => r.transpose(x, shape, perm, out),
    sumSquares: (x) => r.sumSquares(x),
    adamStep: (o) => r.adamStep(o.p, o.g, o.m, o.v, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.decoupled, o.bc1, o.bc2, o.gradScale),
    emaStep: (s, p, d) => r.emaStep(s, p, d),
    gelu: (x, out) => r.gelu(x, out),
    geluGrad: (x, dy, out) => r.geluGrad(x, dy, out),
    causalSoftmax: (o) => r.causalSoftmax(o.x, o.tn, o.t, o.scale, o.pos0, o.out),
    causalSoftmaxGrad: (o) => r.causalSoftmaxGrad(o.y, o.dy, o.t, o.scale, o.out),
    leakyRelu: (o) => r.leakyRelu(o.x, o.alpha, o.out, o.dy),
    reduceSum: (o) => r.reduceSum(o.x, o.outer, o.reduce, o.inner, o.out),
    conv2d: (o) => r.conv2d(geom(o.geom), o.x, o.w, o.out, o.bias, o.perImage, o.add),
    conv2dBackpropFilter: (o) => r.conv2dBackpropFilter(geom(o.geom), o.x, o.dy, o.dw),
    conv2dBackpropInput: (o) => r.conv2dBackpropInput(geom(o.geom), o.dy, o.w, o.dx),
    groupNorm: (o) => r.groupNorm(o.x, o.gamma, o.beta, o.b, o.hw, o.c, o.g, o.eps, o.act, o.alpha, o.y, o.stats),
    groupNormGrad: (o) => r.groupNormGrad(o.x, o.gamma, o.beta, o.stats, o.dy, o.b, o.hw, o.c, o.g, o.act, o.alpha, o.dx, o.dgamma, o.dbeta),
    lstmCell: (o) => r.lstmCell(o.xw, o.hw, o.cPrev, o.b, o.h, o.hOut, o.cOut, o.act),
    lstmCellGrad: (o) => r.lstmCellGrad(o.act, o.cPrev, o.dh, o.dc, o.b, o.h, o.dGates, o.dcPrev),
    boxCopy: (o) => r.boxCopy(o.src, o.srcShape, o.srcBegin, o.dst, o.dstShape, o.dstBegin, o.size),
    resizeNearest: (o) => r.resizeNearest(o.src, o.b, o.h, o.w, o.c, o.oh, o.ow, o.dst, o.grad),
    info: () => r.info(),
    setThreads: (n) => r.setThreads(n),
  };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// GENLAB_NATIVE_ADDON names another build of the addon (to measure two builds side by side: OpenBLAS against genlab's own GEMM)
const addonPath = process.env.GENLAB_NATIVE_ADDON || join(root, 'native', 'build', 'Release', 'genlab_native.node');

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
    const addon = typedAddon(createRequire(import.meta.url)(addonPath) as RawAddon);
    return { addon, reason: 'loaded ' + addonPath };
  } catch (e) {
    return { reason: `native addon failed to load: ${(e as Error).message}` };
  }
}

/** The part of tfjs-backend-wasm's BackendWasm that the kernels use. */
interface WasmHost {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
  disposeData(id: unknown): void;
  incRef(id: unknown): void;
}

/** What a native kernel gets: its inputs and attributes, the backend, views into the heap, and the wasm kernel it replaces for the cases it leaves alone. */
interface Call {
  inputs: Record<string, TensorInfo>;
  attrs: NamedAttrMap;
  backend: WasmHost;
  /** a Float32Array over a tensor's heap memory: take views after makeOutput (growing the heap detaches earlier ones) */
  v(t: TensorInfo): Float32Array;
  out(shape: number[]): TensorInfo;
  fallback(): TensorInfo | TensorInfo[];
}
type NativeKernel = (c: Call) => TensorInfo | TensorInfo[];

/** a @ b (+ bias [n]) with tfjs's BatchMatMul semantics, or undefined for a case left to the wasm kernel. */
function batchMatMul(addon: NativeAddon, c: Call, a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean, bias?: TensorInfo): TensorInfo | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const out = c.out([...outer, m, n]);
  const av = c.v(a), bv = c.v(b), cv = c.v(out), biasView = bias ? c.v(bias) : undefined;
  // Fold the batch into the rows when b is shared: one large GEMM instead of many small ones.
  if (batchB === 1 && !transA) addon.sgemmBatch({ batch: 1, transA: false, transB, m: batchA * m, n, k, a: av, strideA: 0, b: bv, strideB: 0, c: cv, strideC: 0, beta: 0, bias: biasView });
  else addon.sgemmBatch({ batch: Math.max(batchA, batchB), transA, transB, m, n, k, a: av, strideA: batchA === 1 ? 0 : m * k, b: bv, strideB: batchB === 1 ? 0 : k * n, c: cv, strideC: m * n, beta: 0, bias: biasView });
  return out;
}

/**
 * Copies x[begin : begin + size] into a new output of `outShape` (its size must match), reading
 * the input through a heap view. The wasm Slice first copies the whole input out of the heap
 * (readSync), which made each of an LSTM's 64 per-step slices cost a full copy of its input.
 */
function sliceInto(addon: NativeAddon, c: Call, x: TensorInfo, begin: number[], size: number[], outShape: number[]): TensorInfo {
  const out = c.backend.makeOutput(outShape, x.dtype);
  if (x.dtype === 'float32' && x.shape.length >= 1 && x.shape.length <= 8) {
    addon.boxCopy({ src: c.v(x), srcShape: x.shape, srcBegin: begin, dst: c.v(out), dstShape: size, dstBegin: size.map(() => 0), size });
    return out;
  }
  const src = c.backend.typedArrayFromHeap(x), dst = c.backend.typedArrayFromHeap(out);
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

interface ConvAttrs {
  strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape?: number[]; filterShape?: number[]; activation?: string;
}

/** The geometry the addon's convolutions take, from tfjs's conv info (NHWC only). */
function convGeom(xShape: number[], filterShape: number[], a: ConvAttrs): ConvGeometry | undefined {
  if (a.dataFormat === 'NCHW') return undefined;
  const c = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  return {
    batchSize: c.batchSize, inHeight: c.inHeight, inWidth: c.inWidth, inChannels: c.inChannels, outHeight: c.outHeight, outWidth: c.outWidth, outChannels: c.outChannels,
    filterHeight: c.filterHeight, filterWidth: c.filterWidth, strideHeight: c.strideHeight, strideWidth: c.strideWidth, padTop: c.padInfo.top, padLeft: c.padInfo.left,
    dilationHeight: c.dilationHeight, dilationWidth: c.dilationWidth,
  };
}
const convOut = (g: ConvGeometry) => [g.batchSize, g.outHeight, g.outWidth, g.outChannels];

/** The kernels the addon replaces or adds, by name: one table, one adapter to tfjs's KernelConfig. */
function kernelTable(addon: NativeAddon): Record<string, NativeKernel> {
  /** A reduction over adjacent axes; `scale` 0 means divide by the reduced count (Mean). */
  const reduce = (scale: number): NativeKernel => (c) => {
    const x = c.inputs.x, r = x.shape.length;
    const axes = tf.util.parseAxisParam(c.attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
    const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
    if (x.dtype !== 'float32' || !axes.length || !adjacent) return c.fallback();
    const size = (from: number, to: number) => tf.util.sizeFromShape(x.shape.slice(from, to));
    const outer = size(0, axes[0]), n = size(axes[0], axes[axes.length - 1] + 1), inner = size(axes[axes.length - 1] + 1, r);
    const outShape = c.attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const out = c.out(outShape), ov = c.v(out);
    addon.reduceSum({ x: c.v(x), outer, reduce: n, inner, out: ov });
    const f = scale === 0 ? 1 / n : scale;
    if (f !== 1) for (let i = 0; i < ov.length; i++) ov[i] *= f;
    return out;
  };
  /** Nearest-neighbour resize (the UNet's upsampling) or its gradient, without corner alignment. */
  const resize = (grad: boolean): NativeKernel => (c) => {
    const images = c.inputs.images, src = grad ? c.inputs.dy : images;
    if (src.dtype !== 'float32' || images.shape.length !== 4 || c.attrs.alignCorners || c.attrs.halfPixelCenters) return c.fallback();
    const [b, h, w, ch] = images.shape, [oh, ow] = grad ? src.shape.slice(1, 3) : (c.attrs.size as [number, number]);
    const out = c.out(grad ? images.shape : [b, oh, ow, ch]);
    addon.resizeNearest({ src: c.v(src), b, h, w, c: ch, oh, ow, dst: c.v(out), grad });
    return out;
  };
  /** One float32 output shaped as input `like`. */
  const same = (like: string, fill: (c: Call, out: Float32Array) => void): NativeKernel => (c) => {
    const out = c.out(c.inputs[like].shape);
    fill(c, c.v(out));
    return out;
  };
  const add = (c: Call, a: TensorInfo, b: TensorInfo) =>
    tf.getKernel('Add', 'wasm')!.kernelFunc({ inputs: { a, b }, backend: c.backend, attrs: {} } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  return {
    BatchMatMul: (c) => batchMatMul(addon, c, c.inputs.a, c.inputs.b, Boolean(c.attrs.transposeA), Boolean(c.attrs.transposeB)) ?? c.fallback(),
    _FusedMatMul: (c) => {
      const { a, b, bias } = c.inputs;
      if (((c.attrs.activation as string | undefined) ?? 'linear') !== 'linear' || c.inputs.preluActivationWeights) return c.fallback();
      const n = b.shape[b.shape.length - (c.attrs.transposeB ? 2 : 1)];
      // A bias of one value per output column goes into the GEMM; any other shape is added after.
      const rowBias = bias && bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === n && bias.shape[bias.shape.length - 1] === n;
      const r = batchMatMul(addon, c, a, b, Boolean(c.attrs.transposeA), Boolean(c.attrs.transposeB), rowBias ? bias : undefined);
      if (!r) return c.fallback();
      if (!bias || rowBias) return r;
      const sum = add(c, r, bias);
      c.backend.disposeData(r.dataId);
      return sum;
    },
    // Sum and Mean over a run of adjacent axes without the transpose the wasm kernels make first
    // (bias gradients sum over every leading axis; batch norm averages over all but the last).
    Sum: reduce(1),
    Mean: reduce(0),
    // softmax(scale * x) over the last axis with query i (axis -2) seeing keys j <= pos0 + i
    GenlabCausalSoftmax: same('x', (c, out) => addon.causalSoftmax({ x: c.v(c.inputs.x), tn: c.inputs.x.shape.at(-2)!, t: c.inputs.x.shape.at(-1)!, scale: c.attrs.scale as number, pos0: c.attrs.pos0 as number, out })),
    GenlabCausalSoftmaxGrad: same('y', (c, out) => addon.causalSoftmaxGrad({ y: c.v(c.inputs.y), dy: c.v(c.inputs.dy), t: c.inputs.y.shape.at(-1)!, scale: c.attrs.scale as number, out })),
    GenlabGelu: same('x', (c, out) => addon.gelu(c.v(c.inputs.x), out)),
    GenlabGeluGrad: same('x', (c, out) => addon.geluGrad(c.v(c.inputs.x), c.v(c.inputs.dy), out)),
    LeakyRelu: (c) => {
      if (c.inputs.x.dtype !== 'float32') return c.fallback();
      const out = c.out(c.inputs.x.shape);
      addon.leakyRelu({ x: c.v(c.inputs.x), alpha: c.attrs.alpha as number, out: c.v(out) });
      return out;
    },
    // the gradient of LeakyRelu (registered below): one kernel instead of Greater, Select and Multiply
    GenlabLeakyReluGrad: same('x', (c, out) => addon.leakyRelu({ x: c.v(c.inputs.x), alpha: c.attrs.alpha as number, out, dy: c.v(c.inputs.dy) })),
    Conv2D: (c) => {
      const { x, filter } = c.inputs;
      const g = x.dtype === 'float32' ? convGeom(x.shape, filter.shape, c.attrs as unknown as ConvAttrs) : undefined;
      if (!g) return c.fallback();
      const out = c.out(convOut(g));
      addon.conv2d({ geom: g, x: c.v(x), w: c.v(filter), out: c.v(out) });
      return out;
    },
    // tf.fused.conv2d: the bias goes into the GEMM; activations other than linear stay with wasm.
    FusedConv2D: (c) => {
      const { x, filter, bias } = c.inputs, a = c.attrs as unknown as ConvAttrs;
      const oc = filter.shape[3], B = x.shape[0];
      // a bias [OC], or [B, 1, 1, OC]: one per image (conv2dImageBias in ops.ts)
      const perImage = Boolean(bias && B > 1 && bias.shape.length === 4 && bias.shape[0] === B && bias.shape[1] === 1 && bias.shape[2] === 1 && bias.shape[3] === oc);
      const plain = (a.activation ?? 'linear') === 'linear' && !c.inputs.preluActivationWeights && (!bias || perImage || tf.util.sizeFromShape(bias.shape) === oc);
      const g = plain && x.dtype === 'float32' ? convGeom(x.shape, filter.shape, a) : undefined;
      if (!g) return c.fallback();
      const out = c.out(convOut(g));
      addon.conv2d({ geom: g, x: c.v(x), w: c.v(filter), out: c.v(out), bias: bias ? c.v(bias) : undefined, perImage });
      return out;
    },
    // conv2d(x) + bias + addend in one pass (a residual connection; conv2dAdd in ops.ts)
    GenlabConv2DAdd: (c) => {
      const { x, filter, bias, addend } = c.inputs;
      const g = convGeom(x.shape, filter.shape, c.attrs as unknown as ConvAttrs)!;
      const out = c.out(convOut(g));
      addon.conv2d({ geom: g, x: c.v(x), w: c.v(filter), out: c.v(out), bias: c.v(bias), add: c.v(addend) });
      return out;
    },
    Conv2DBackpropInput: (c) => {
      const { dy, filter } = c.inputs, a = c.attrs as unknown as ConvAttrs;
      const g = dy.dtype === 'float32' ? convGeom(a.inputShape!, filter.shape, a) : undefined;
      if (!g) return c.fallback();
      const out = c.out(a.inputShape!);
      addon.conv2dBackpropInput({ geom: g, dy: c.v(dy), w: c.v(filter), dx: c.v(out) });
      return out;
    },
    Conv2DBackpropFilter: (c) => {
      const { x, dy } = c.inputs, a = c.attrs as unknown as ConvAttrs;
      const g = x.dtype === 'float32' ? convGeom(x.shape, a.filterShape!, a) : undefined;
      if (!g) return c.fallback();
      const out = c.out(a.filterShape!);
      addon.conv2dBackpropFilter({ geom: g, x: c.v(x), dy: c.v(dy), dw: c.v(out) });
      return out;
    },
    // each input copied into its box of the output (wasm's Concat was 6-9 ms a call on [64, 28, 28, 11])
    Concat: (c) => {
      const xs = Object.values(c.inputs), r = xs[0]?.shape.length ?? 0;
      if (!xs.length || r < 1 || r > 8 || xs.some((t) => t.dtype !== 'float32' || t.shape.length !== r)) return c.fallback();
      const axis = tf.util.parseAxisParam(c.attrs.axis as number, xs[0].shape)[0];
      const shape = [...xs[0].shape];
      shape[axis] = xs.reduce((n, t) => n + t.shape[axis], 0);
      const out = c.out(shape), ov = c.v(out), begin = new Array<number>(r).fill(0);
      for (const t of xs) {
        if (tf.util.sizeFromShape(t.shape) > 0) addon.boxCopy({ src: c.v(t), srcShape: t.shape, srcBegin: new Array<number>(r).fill(0), dst: ov, dstShape: shape, dstBegin: [...begin], size: t.shape });
        begin[axis] += t.shape[axis];
      }
      return out;
    },
    ResizeNearestNeighbor: resize(false),
    ResizeNearestNeighborGrad: resize(true),
    Slice: (c) => {
      const x = c.inputs.x;
      if (x.dtype === 'string') return c.fallback();
      const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, c.attrs.begin as number[], c.attrs.size as number[]);
      return sliceInto(addon, c, x, begin, size, size);
    },
    SplitV: (c) => {
      const x = c.inputs.x;
      if (x.dtype === 'string') return c.fallback();
      const axis = tf.util.parseAxisParam(c.attrs.axis as number, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, c.attrs.numOrSizeSplits as number[] | number, axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((n) => {
        const size = [...x.shape];
        size[axis] = n;
        const out = sliceInto(addon, c, x, [...begin], size, size);
        begin[axis] += n;
        return out;
      });
    },
    Unpack: (c) => {
      const x = c.inputs.value;
      if (x.dtype === 'string') return c.fallback();
      const r = x.shape.length, axis = ((c.attrs.axis as number) + r) % r;
      const outShape = x.shape.filter((_, i) => i !== axis), size = [...x.shape];
      size[axis] = 1;
      return Array.from({ length: x.shape[axis] }, (_, i) => {
        const begin = new Array<number>(r).fill(0);
        begin[axis] = i;
        return sliceInto(addon, c, x, begin, size, outShape);
      });
    },
    // GroupNorm over NHWC, optionally fused with SiLU; outputs y and [B, G, 2] statistics.
    GenlabGroupNorm: (c) => {
      const { x, gamma, beta } = c.inputs, [b, h, w, ch] = x.shape, g = c.attrs.groups as number;
      const y = c.out(x.shape), stats = c.out([b, g, 2]);
      addon.groupNorm({ x: c.v(x), gamma: c.v(gamma), beta: c.v(beta), b, hw: h * w, c: ch, g, eps: c.attrs.eps as number, act: c.attrs.act as number, alpha: c.attrs.alpha as number, y: c.v(y), stats: c.v(stats) });
      return [y, stats];
    },
    GenlabGroupNormGrad: (c) => {
      const { x, gamma, beta, stats, dy } = c.inputs, [b, h, w, ch] = x.shape;
      const dx = c.out(x.shape), dg = c.out([ch]), db = c.out([ch]);
      addon.groupNormGrad({ x: c.v(x), gamma: c.v(gamma), beta: c.v(beta), stats: c.v(stats), dy: c.v(dy), b, hw: h * w, c: ch, g: c.attrs.groups as number, act: c.attrs.act as number, alpha: c.attrs.alpha as number, dx: c.v(dx), dgamma: c.v(dg), dbeta: c.v(db) });
      return [dx, dg, db];
    },
    // One LSTM step: outputs h, c and the activations the backward step needs.
    GenlabLstmCell: (c) => {
      const [b, h] = c.inputs.c.shape;
      const hOut = c.out([b, h]), cOut = c.out([b, h]), a = c.out([b, 5 * h]);
      addon.lstmCell({ xw: c.v(c.inputs.xw), hw: c.v(c.inputs.hw), cPrev: c.v(c.inputs.c), b, h, hOut: c.v(hOut), cOut: c.v(cOut), act: c.v(a) });
      return [hOut, cOut, a];
    },
    GenlabLstmCellGrad: (c) => {
      const [b, h] = c.inputs.c.shape;
      const dGates = c.out([b, 4 * h]), dc = c.out([b, h]);
      addon.lstmCellGrad({ act: c.v(c.inputs.act), cPrev: c.v(c.inputs.c), dh: c.v(c.inputs.dh), dc: c.v(c.inputs.dc), b, h, dGates: c.v(dGates), dcPrev: c.v(dc) });
      return [dGates, dc];
    },
    // The wasm Identity copies; tfjs calls it to save every tensor a gradient needs (about 400
    // copies per gpt step). Sharing the buffer by reference count is what the cpu backend does.
    Identity: (c) => {
      const x = c.inputs.x;
      if (x.dtype === 'string') return c.fallback();
      c.backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
    Transpose: (c) => {
      const x = c.inputs.x, perm = c.attrs.perm as number[];
      if (x.dtype !== 'float32' || x.shape.length > 8) return c.fallback();
      const out = c.out(perm.map((p) => x.shape[p]));
      addon.transpose(c.v(x), x.shape, perm, c.v(out));
      return out;
    },
  };
}

/** One kernel invocation (a class, not a literal of closures: ~16k calls per 256 GPT tokens). */
class KernelCall implements Call {
  constructor(readonly args: Parameters<KernelFunc>[0], readonly backend: WasmHost, private readonly name: string, private readonly original: (name: string) => KernelFunc) {}
  get inputs(): Record<string, TensorInfo> { return this.args.inputs as Record<string, TensorInfo>; }
  get attrs(): NamedAttrMap { return this.args.attrs ?? {}; }
  v(t: TensorInfo): Float32Array { return this.backend.typedArrayFromHeap(t) as Float32Array; }
  out(shape: number[]): TensorInfo { return this.backend.makeOutput(shape, 'float32'); }
  fallback(): TensorInfo | TensorInfo[] { return this.original(this.name)(this.args); }
}

/** The table as tfjs kernels over the wasm backend; `original(name)` is the wasm kernel replaced. */
function overrides(addon: NativeAddon, original: (name: string) => KernelFunc): KernelConfig[] {
  return Object.entries(kernelTable(addon)).map(([kernelName, run]) => ({
    kernelName,
    backendName: 'wasm',
    // tfjs types the backend as its base class
    kernelFunc: (args) => run(new KernelCall(args, args.backend as unknown as WasmHost, kernelName, original)),
  }));
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
      addon.adamStep({ p: f32(p), g: f32(g), m: f32(m), v: f32(v), ...h });
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
