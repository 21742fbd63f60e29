// Corrections to TensorFlow.js's plain cpu backend (tfjs 4.22), registered over its own kernels.
// ResizeNearestNeighborGrad: tfjs-cpu offsets dy by the *images'* batch stride, so for batch > 1
// every image after the first reads the wrong gradient. Here it is written as the adjoint of the
// forward kernel: each dy pixel is added to the source pixel the forward pass copied it from.
import * as tf from '@tensorflow/tfjs-core';
import type { DataId, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

interface CpuLike {
  readSync(dataId: DataId): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): TensorInfo;
}

/** The source index along one axis for each output index, as tfjs's ResizeNearestNeighbor picks it. */
export function nearestSources(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const scale = effIn / effOut, src = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const frac = halfPixelCenters ? scale * (o + 0.5) : scale * o;
    let s = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) s = Math.max(0, s);
    src[o] = s;
  }
  return src;
}

function resizeNearestNeighborGrad(args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: NamedAttrMap }): TensorInfo {
  const backend = args.backend as CpuLike;
  const { images, dy } = args.inputs;
  const alignCorners = Boolean(args.attrs?.alignCorners), halfPixelCenters = Boolean(args.attrs?.halfPixelCenters);
  const [B, H, W, C] = images.shape, [, OH, OW] = dy.shape;
  const rows = nearestSources(H, OH, alignCorners, halfPixelCenters), cols = nearestSources(W, OW, alignCorners, halfPixelCenters);
  const g = backend.readSync(dy.dataId) as Float32Array, dx = new Float32Array(B * H * W * C);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < OH; y++)
      for (let x = 0; x < OW; x++) {
        const from = ((b * OH + y) * OW + x) * C, to = ((b * H + rows[y]) * W + cols[x]) * C;
        for (let c = 0; c < C; c++) dx[to + c] += g[from + c];
      }
  return backend.makeTensorInfo([B, H, W, C], 'float32', dx);
}

/** Registers the corrected cpu kernels (idempotent). */
export function registerCpuKernels(): void {
  const kernels: KernelConfig[] = [{ kernelName: 'ResizeNearestNeighborGrad', backendName: 'cpu', kernelFunc: resizeNearestNeighborGrad as unknown as KernelConfig['kernelFunc'] }];
  for (const k of kernels) {
    if (tf.getKernel(k.kernelName, k.backendName)?.kernelFunc === k.kernelFunc) continue;
    if (tf.getKernel(k.kernelName, k.backendName)) tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel(k);
  }
}
