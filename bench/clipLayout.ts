// Where a clip diffusion model loses the words (issue 12): true held-out clips noised to the
// DDIM grid's timestep t_s and denoised from there (SDEdit), judged. If clips started at low t_s
// come out right but those from pure noise do not, the model fails where the layout is decided.
// `npx tsx bench/clipLayout.ts [CHECKPOINT] [N] [GUIDANCE]`; one line a start on stdout.
import * as tf from '@tensorflow/tfjs-core';
import { ClipSampler } from '../src/data/clips/dataset.js';
import { parseText, resolveText } from '../src/data/clips/words.js';
import { loadMnistPackage } from '../src/data/mnist.js';
import { classifierFreeText } from '../src/diffusion/guidance.js';
import { denoiseLoop } from '../src/diffusion/loop.js';
import { DEFAULT_SCHEDULE, scheduleFrom } from '../src/diffusion/schedules.js';
import { DdimScheduler } from '../src/diffusion/schedulers.js';
import { agreement, judgeClip } from '../src/eval/judge.js';
import type { Classifier } from '../src/models/classifier.js';
import type { ClipDiffusion } from '../src/models/clipDiffusion.js';
import type { TextEncoding } from '../src/models/textEncoder.js';
import { loadClipGenerator } from '../src/pipelines/clipEngine.js';
import { loadImageModel } from '../src/pipelines/images.js';
import { initBackend } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';

const [dir = 'models/clips-diffusion-video', nArg = '16', gArg = '6'] = process.argv.slice(2);
const N = Number(nArg), G = Number(gArg), STEPS = 20;
await initBackend();
const g = loadClipGenerator(dir, 'diffusion'), m = g.model as ClipDiffusion;
const clf = loadImageModel('models/digits-classifier', ['classifier']).model as Classifier;
const sched = scheduleFrom(g.meta.schedule ?? DEFAULT_SCHEDULE), sc = new DdimScheduler(sched, false);
sc.setTimesteps(STEPS);
const { examples, frames } = new ClipSampler(loadMnistPackage().test, 'eval', new Rng(7)).batch(N);
const per = 16 * 64 * 64 * 3, rng = new Rng(3);
console.log(`${dir}: ${N} held-out clips, DDIM ${STEPS}-step grid, guidance ${G}, prediction ${m.config.prediction}`);
for (const k of [20, 16, 14, 12, 8]) {
  const ts = sc.timesteps.slice(STEPS - k), a = sched.alphasCumprod[ts[0]], ok: Record<string, number> = {};
  let exact = 0;
  for (let i = 0; i < N; i++) {
    const both = m.encodeText([resolveText(parseText(examples[i].caption), 0).encoderText, '']);
    const x = tf.tidy(() => {
      const z0 = m.encodeFrames(tf.tensor4d(frames.subarray(i * per, (i + 1) * per), [16, 64, 64, 3]));
      return tf.add(tf.mul(z0, Math.sqrt(a)), tf.mul(tf.tensor4d(rng.normalArray(z0.size), z0.shape), Math.sqrt(1 - a)));
    });
    const predict = classifierFreeText<TextEncoding>((xx, tt, tx) => m.predictNoise(xx as tf.Tensor4D, tt, tx, sched.alphasCumprod), both, G);
    const z = denoiseLoop({ scheduler: sc, x, predict, rng, timesteps: ts });
    const clip = tf.tidy(() => m.decode(z as tf.Tensor4D).dataSync() as Float32Array);
    z.dispose();
    for (const t of [both.tokens, both.keyBias, both.pooled]) t.dispose();
    const ag = agreement(judgeClip(clip, clf), examples[i].attributes[0]);
    for (const [name, v] of Object.entries(ag.perAttribute)) ok[name] = (ok[name] ?? 0) + (v ? 1 : 0);
    exact += ag.exact ? 1 : 0;
  }
  const pct = (v: number) => `${((100 * v) / N).toFixed(0)}%`;
  console.log(`start t=${ts[0]} (alpha-bar ${a.toExponential(1)}, ${k} steps): ${Object.entries(ok).map(([name, v]) => `${name} ${pct(v)}`).join(', ')}, exact ${pct(exact)}`);
}
