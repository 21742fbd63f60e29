// The clip judge checked (issue 12): its per-attribute and exact-match accuracy on true renders
// of held-out digits (should be about 100%), on noise clips and on true renders judged against
// shuffled attributes (both should be near chance). `npx tsx bench/judge.ts [N]`; JSON on stdout.
import { ClipSampler } from '../src/data/clips/dataset.js';
import { renderScene } from '../src/data/clips/render.js';
import { ATTRIBUTE_NAMES, type ObjectAttributes } from '../src/data/clips/world.js';
import { loadMnistPackage } from '../src/data/mnist.js';
import { agreement, judgeClip } from '../src/eval/judge.js';
import type { Classifier } from '../src/models/classifier.js';
import { loadImageModel } from '../src/pipelines/images.js';
import { initBackend } from '../src/tensor/backend.js';
import { Rng } from '../src/util/rng.js';

const n = Number(process.argv[2] ?? 500);
await initBackend();
const clf = loadImageModel('models/digits-classifier', ['classifier']).model as Classifier;
const sampler = new ClipSampler(loadMnistPackage().test, 'eval', new Rng(1));
const rng = new Rng(2);
type Tally = { n: number; exact: number; consistency: number } & Record<string, number>;
const tally = (): Tally => ({ n: 0, exact: 0, consistency: 0, ...Object.fromEntries(ATTRIBUTE_NAMES.map((a) => [a, 0])) }) as Tally;
const t = { true: tally(), noise: tally(), shuffled: tally() };
const add = (k: keyof typeof t, judged: ObjectAttributes & { digitConsistency: number }, asked: ObjectAttributes) => {
  const a = agreement(judged, asked);
  t[k].n += 1; t[k].exact += a.exact ? 1 : 0; t[k].consistency += judged.digitConsistency;
  for (const [name, ok] of Object.entries(a.perAttribute)) t[k][name] += ok ? 1 : 0;
};
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const e = sampler.next(), frames = renderScene(e.scene);
  const j = judgeClip(frames, clf);
  add('true', j, e.attributes[0]);
  add('shuffled', j, sampler.drawAttributes());
  add('noise', judgeClip(Float32Array.from(frames, () => rng.next()), clf), e.attributes[0]);
}
const out = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([a, c]) => [a, a === 'n' ? c : Math.round((c / v.n) * 1000) / 1000]))]));
process.stdout.write(JSON.stringify({ clips: n, msPerClip: Math.round((performance.now() - t0) / n / 3), ...out }) + '\n');
