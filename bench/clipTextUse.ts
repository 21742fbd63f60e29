// Does a clip diffusion model read the words (issue 12)? True held-out clips are noised to a
// timestep t and the denoiser's estimate of the clean latents x0 is scored (mean squared error,
// latents of unit std: predicting 0 scores about 1) given the clip's own text, another clip's
// text, and the empty text. A model that uses the words scores lower with its own text.
// `npx tsx bench/clipTextUse.ts [CHECKPOINT] [N]`; one line a timestep on stdout.
import * as tf from '@tensorflow/tfjs-core';
import { ClipSampler } from '../src/data/clips/dataset.js';
import { parseText, resolveText } from '../src/data/clips/words.js';
import { loadMnistPackage } from '../src/data/mnist.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../src/diffusion/schedules.js';
import type { ClipDiffusion } from '../src/models/clipDiffusion.js';
import { loadClipGenerator } from '../src/pipelines/clipEngine.js';
import { initBackend } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';

const [dir = 'models/clips-diffusion-video', nArg = '16'] = process.argv.slice(2);
const N = Number(nArg);
if (!Number.isInteger(N) || N < 2) throw new RangeError('N: at least 2 clips');
await initBackend();
const g = loadClipGenerator(dir, 'diffusion'), m = g.model as ClipDiffusion;
const ab = scheduleFrom(g.meta.schedule ?? DEFAULT_SCHEDULE).alphasCumprod;
const { examples, frames } = new ClipSampler(loadMnistPackage().test, 'eval', new Rng(7)).batch(N);
const per = 16 * 64 * 64 * 3;
const texts = examples.map((e) => resolveText(parseText(e.caption), 0).encoderText);
const z0s = Array.from({ length: N }, (_, i) => tf.tidy(() => m.encodeFrames(tf.tensor4d(frames.subarray(i * per, (i + 1) * per), [16, 64, 64, 3]))));
console.log(`${dir}: ${N} held-out clips, prediction ${m.config.prediction}; x0 mean squared error given each text`);
for (const t of [980, 900, 800, 700, 500, 250]) {
  const a = ab[t], rng = new Rng(t), err = { own: 0, other: 0, empty: 0 };
  for (let i = 0; i < N; i++) {
    const x = tf.tidy(() => tf.add(tf.mul(z0s[i], Math.sqrt(a)), tf.mul(tf.tensor4d(rng.normalArray(z0s[i].size), z0s[i].shape), Math.sqrt(1 - a)))) as tf.Tensor4D;
    for (const [k, text] of [['own', texts[i]], ['other', texts[(i + 1) % N]], ['empty', '']] as const) {
      err[k] += tf.tidy(() => {
        const eps = m.predictNoise(x, tf.tensor1d([t], 'int32'), m.encodeText([text]), ab);
        const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
        return tf.mean(tf.squaredDifference(x0, z0s[i])).dataSync()[0];
      }) / N;
    }
    x.dispose();
  }
  console.log(`t=${t} (SNR ${(a / (1 - a)).toExponential(1)}): own text ${err.own.toFixed(4)}, another clip's ${err.other.toFixed(4)}, empty ${err.empty.toFixed(4)}; own/other ${(err.own / err.other).toFixed(3)}`);
}
