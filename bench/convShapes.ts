// Convolution kernels by shape, one process: `npm run bench:conv [-- forward|filter]`. The CPU time
// (user + system) of each call, median of REPS (default 11), so that a run on a shared machine is
// less moved by being descheduled. A/B a kernel change by alternating two addon builds
// (GENLAB_NATIVE_ADDON=...); ONLY=0,3 picks shapes by index.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/tensor/backend.js';
import { conv2dAdd } from '../src/tensor/ops.js';

// batch, height, width, input channels, kernel, output channels, with a residual addend
type Shape = [number, number, number, number, number, number, boolean];
const FORWARD: Shape[] = [
  [32, 16, 16, 192, 3, 64, false], [32, 16, 16, 128, 3, 128, false], [32, 8, 8, 256, 3, 128, false], [32, 8, 8, 128, 3, 128, false],
  [32, 16, 16, 64, 3, 64, false], [32, 8, 8, 64, 3, 128, false], [32, 16, 16, 64, 3, 64, true], [32, 8, 8, 128, 3, 128, true],
  [32, 4, 4, 128, 3, 128, false], [32, 8, 8, 256, 1, 128, false], [32, 16, 16, 192, 1, 64, false], [32, 8, 8, 64, 1, 128, false],
  [16, 64, 64, 32, 3, 32, false], [16, 32, 32, 32, 3, 1, false], [32, 16, 16, 64, 3, 4, false], [32, 32, 32, 32, 3, 32, false],
];
const FILTER: Shape[] = [
  [32, 32, 32, 32, 3, 32, false], [32, 32, 32, 64, 3, 64, false], [32, 16, 16, 64, 3, 64, false], [32, 8, 8, 64, 3, 64, false],
  [32, 32, 32, 96, 3, 32, false], [32, 16, 16, 128, 3, 64, false],
];

const mode = process.argv[2] ?? 'forward';
if (mode !== 'forward' && mode !== 'filter') { console.error('usage: bench/convShapes.ts [forward|filter]'); process.exit(2); }
const info = await initBackend();
const reps = Number(process.env.REPS ?? 11), only = process.env.ONLY?.split(',').map(Number);
console.log(`# ${mode}, backend ${info.backend}, ${info.threads} thread(s); ms = median CPU time of ${reps} calls`);
for (const [i, [B, H, W, C, K, OC, add]] of (mode === 'forward' ? FORWARD : FILTER).entries()) {
  if (only && !only.includes(i)) continue;
  const x = tf.randomNormal([B, H, W, C]) as tf.Tensor4D, w = tf.randomNormal([K, K, C, OC]) as tf.Tensor4D;
  const b = tf.randomNormal([OC]) as tf.Tensor1D, y0 = tf.randomNormal([B, H, W, OC]) as tf.Tensor4D;
  const call = (): tf.Tensor => mode === 'filter'
    ? tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: y0 }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [K, K, C, OC] }) as tf.Tensor
    : add ? conv2dAdd(x, w, b, y0, 1, 'same') : tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' });
  const run = () => { const y = call(); y.dataSync(); y.dispose(); };
  for (let r = 0; r < 2; r++) run();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) { const t = process.cpuUsage(); run(); const u = process.cpuUsage(t); ts.push((u.user + u.system) / 1000); }
  ts.sort((p, q) => p - q);
  const med = ts[Math.floor(reps / 2)], flops = 2 * B * H * W * K * K * C * OC;
  console.log(`${i} ${B}x${H}x${W}x${C} ${K}x${K}->${OC}${add ? ' +add' : ''}`.padEnd(34), med.toFixed(2).padStart(8), 'ms', (flops / med / 1e6).toFixed(0).padStart(5), 'GFLOP/s');
  tf.dispose([x, w, b, y0]);
}
