// Kernels that training needs and TensorFlow.js's wasm backend lacks (tfjs 4.22), written in
// plain TypeScript over the wasm heap: UnsortedSegmentSum (the gradient of an embedding lookup)
// and Conv2DBackpropFilter (the weight gradient of a convolution).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
}
type Args = { inputs: Record<string, TensorInfo>; backend: WasmLike; attrs?: NamedAttrMap };

/** out[s, ...] = sum of x[i, ...] over i with segmentIds[i] = s (ids outside [0, numSegments) are dropped). */
function unsortedSegmentSum({ inputs, backend, attrs }: Args): TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = attrs?.numSegments as number;
  const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  // Views are taken after makeOutput: growing the wasm heap detaches earlier views.
  const o = backend.typedArrayFromHeap(out), xv = backend.typedArrayFromHeap(x), ids = backend.typedArrayFromHeap(segmentIds);
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner, dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xv[src + j];
  }
  return out;
}

/** dW[fh, fw, ci, co] = sum over b, oh, ow of x[b, ih, iw, ci] * dy[b, oh, ow, co] (NHWC). */
function conv2DBackpropFilter({ inputs, backend, attrs }: Args): TensorInfo {
  const { x, dy } = inputs;
  const a = attrs as unknown as {
    strides: [number, number] | number; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
  };
  if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm, genlab): only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth,
    filterHeight, filterWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top, padLeft = info.padInfo.left;
  const out = backend.makeOutput(a.filterShape, 'float32');
  const dw = backend.typedArrayFromHeap(out), xv = backend.typedArrayFromHeap(x), dyv = backend.typedArrayFromHeap(dy);
  dw.fill(0);
  for (let fh = 0; fh < filterHeight; fh++) {
    for (let fw = 0; fw < filterWidth; fw++) {
      for (let b = 0; b < batchSize; b++) {
        for (let oh = 0; oh < outHeight; oh++) {
          const ih = oh * strideHeight - padTop + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let ow = 0; ow < outWidth; ow++) {
            const iw = ow * strideWidth - padLeft + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xo = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const dyo = ((b * outHeight + oh) * outWidth + ow) * outChannels;
            const wo = (fh * filterWidth + fw) * inChannels * outChannels;
            for (let ci = 0; ci < inChannels; ci++) {
              const xval = xv[xo + ci];
              const row = wo + ci * outChannels;
              for (let co = 0; co < outChannels; co++) dw[row + co] += xval * dyv[dyo + co];
            }
          }
        }
      }
    }
  }
  return out;
}

/** Registers the missing kernels for the 'wasm' backend; returns their names. */
export function registerWasmKernels(): string[] {
  const kernels: KernelConfig[] = [
    { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: (args) => unsortedSegmentSum(args as unknown as Args) },
    { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: (args) => conv2DBackpropFilter(args as unknown as Args) },
  ];
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  const added: string[] = [];
  for (const k of kernels) {
    if (!have.has(k.kernelName)) { tf.registerKernel(k); added.push(k.kernelName); }
  }
  return added;
}
