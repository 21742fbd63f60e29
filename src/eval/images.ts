// Evaluation of an image generator with the project's digit classifier: the Frechet distance
// between classifier features of generated and held-out images (beside the real-vs-real floor),
// the class accuracy of conditional samples, the class histogram of unconditional samples (mode
// collapse), sampling time, and for a VAE the importance-weighted NLL bound.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageSet } from '../data/mnist.js';
import type { Classifier } from '../models/classifier.js';
import { Unet } from '../models/unet.js';
import { Vae } from '../models/vae.js';
import { classesOf, sampleImages, vaeNll, type Generator, type LoadedImageModel, samplingDefaults } from '../pipelines/images.js';
import { fitGaussian, frechetDistance } from './frechet.js';
import { UserError } from '../util/errors.js';

export interface ImageEvalOptions {
  /** samples for the Frechet distance (and held-out images compared with) */
  n: number;
  steps?: number;
  guidance?: number;
  /** gan, vae: standard deviation of the latent draws */
  temperature?: number;
  seed?: number;
  /** VAE: importance samples for the NLL bound (0: skip) */
  k?: number;
}

export interface ImageEvalReport {
  family: string;
  checkpoint: string;
  data: string;
  step: number;
  samples: number;
  classifier: { checkpoint: string; heldOutAccuracy: number };
  frechet: { samples: number; floor: number; ratio: number };
  conditionalAccuracy?: number;
  perClassAccuracy?: number[];
  /** share of each class among unconditional samples, as the classifier sees them */
  unconditionalClassShare?: number[];
  minClassShare?: number;
  secondsPer100Samples: number;
  nll?: { nats: number; k: number; images: number; conditional: boolean };
  sampler?: { steps: number; guidance: number; scheduler: string };
  temperature?: number;
}

/** Classifier features [n, F] and predicted classes of n images [n * h * w] in [0, 1]. */
export function classify(clf: Classifier, images: Float32Array, n: number, h: number, w: number): { features: Float32Array; predicted: Int32Array } {
  const F = clf.config.features, features = new Float32Array(n * F), predicted = new Int32Array(n);
  for (let s = 0; s < n; s += 250) {
    const B = Math.min(250, n - s);
    tf.tidy(() => {
      const f = clf.features(tf.tensor4d(images.subarray(s * h * w, (s + B) * h * w), [B, h, w, 1]));
      features.set(f.dataSync(), s * F);
      predicted.set(tf.argMax(clf.head(f), 1).dataSync(), s);
    });
  }
  return { features, predicted };
}

function firstN(set: ImageSet, n: number, from = 0): Float32Array {
  const size = set.height * set.width;
  return set.images.subarray(from * size, (from + n) * size);
}

/** Evenly spread picks of n indexes out of total (all classes when the set is sorted by class). */
function spread(set: ImageSet, n: number): ImageSet {
  const size = set.height * set.width, idx = Array.from({ length: n }, (_, i) => Math.floor((i * set.n) / n));
  const images = new Float32Array(n * size), labels = new Int32Array(n);
  idx.forEach((j, i) => { images.set(set.images.subarray(j * size, (j + 1) * size), i * size); labels[i] = set.labels[j]; });
  return { ...set, images, labels, n };
}

export function evaluateImages(gen: LoadedImageModel<Generator>, clf: LoadedImageModel<Classifier>, train: ImageSet, test: ImageSet, o: ImageEvalOptions): ImageEvalReport {
  const { height: h, width: w } = gen.image, n = Math.min(o.n, test.n, train.n);
  const model = gen.model, classes = classesOf(model);
  const real = classify(clf.model, firstN(test, test.n), test.n, h, w);
  let right = 0;
  for (let i = 0; i < test.n; i++) if (real.predicted[i] === test.labels[i]) right += 1;
  const F = clf.model.config.features;
  const heldOut = fitGaussian(real.features.subarray(0, test.n * F), test.n, F);
  // the floor: as many training images as samples, against the same held-out images
  const trainPick = spread(train, n);
  const floorFeat = classify(clf.model, trainPick.images, n, h, w).features;
  const floor = frechetDistance(fitGaussian(floorFeat, n, F), heldOut);

  const d = samplingDefaults(gen);
  const sampler = { steps: o.steps ?? d.steps, guidance: o.guidance ?? d.guidance, seed: o.seed ?? 0, temperature: o.temperature ?? d.temperature };
  const t0 = performance.now();
  const s = sampleImages(gen, { n, ...sampler });
  const seconds = (performance.now() - t0) / 1000;
  if (!s.images.every(Number.isFinite)) throw new UserError(`${gen.dir} generates images that are not finite numbers (NaN): its weights are broken; use an earlier checkpoint`);
  const gen1 = classify(clf.model, s.images, n, h, w);
  const fd = frechetDistance(fitGaussian(gen1.features, n, F), heldOut);
  const report: ImageEvalReport = {
    family: gen.family, checkpoint: gen.dir, data: gen.data, step: gen.meta.step, samples: n,
    classifier: { checkpoint: clf.dir, heldOutAccuracy: right / test.n },
    frechet: { samples: fd, floor, ratio: fd / floor },
    secondsPer100Samples: (seconds * 100) / n,
  };
  if (model instanceof Unet) report.sampler = { steps: sampler.steps, guidance: sampler.guidance, scheduler: 'ddim' };
  else report.temperature = sampler.temperature;
  const C = clf.model.config.classes;
  const shares = (pred: Int32Array) => {
    const counts = new Array<number>(C).fill(0);
    for (const p of pred) counts[p] += 1;
    return counts.map((c) => c / pred.length);
  };
  if (classes > 0) {
    const hits = new Array<number>(classes).fill(0), per = new Array<number>(classes).fill(0);
    s.labels.forEach((c, i) => { per[c] += 1; if (gen1.predicted[i] === c) hits[c] += 1; });
    report.conditionalAccuracy = hits.reduce((a, b) => a + b, 0) / n;
    report.perClassAccuracy = hits.map((x, c) => x / Math.max(1, per[c]));
    // a diffusion model trained with label dropout also samples without a class
    if (model instanceof Unet) {
      const u = sampleImages(gen, { n, ...sampler, unconditional: true });
      report.unconditionalClassShare = shares(classify(clf.model, u.images, n, h, w).predicted);
    }
  } else {
    report.unconditionalClassShare = shares(gen1.predicted);
  }
  if (report.unconditionalClassShare) report.minClassShare = Math.min(...report.unconditionalClassShare);
  if (model instanceof Vae && (o.k ?? 100) > 0) {
    const k = o.k ?? 100, images = Math.min(1000, test.n);
    report.nll = { nats: vaeNll(gen as LoadedImageModel<Vae>, test, k, images), k, images, conditional: classes > 0 };
  }
  return report;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The report as a Markdown table. */
export function reportMarkdown(r: ImageEvalReport): string {
  const rows: [string, string][] = [
    ['model', `${r.family} (${r.checkpoint}, step ${r.step})`],
    ['data', r.data],
    [`Frechet distance, ${r.samples} samples vs held-out`, r.frechet.samples.toPrecision(4)],
    ['floor: real (training) vs held-out', r.frechet.floor.toPrecision(4)],
    ['ratio to the floor', r.frechet.ratio.toFixed(2)],
  ];
  if (r.conditionalAccuracy !== undefined) rows.push(['conditional accuracy', pct(r.conditionalAccuracy)]);
  if (r.perClassAccuracy) rows.push(['per class', r.perClassAccuracy.map((a, c) => `${c}: ${pct(a)}`).join(', ')]);
  if (r.unconditionalClassShare) rows.push(['unconditional samples per class', r.unconditionalClassShare.map((a, c) => `${c}: ${pct(a)}`).join(', ')]);
  if (r.minClassShare !== undefined) rows.push(['smallest class share', pct(r.minClassShare)]);
  if (r.nll) rows.push([`NLL bound${r.nll.conditional ? ' (given the label)' : ''}, K=${r.nll.k}, ${r.nll.images} held-out`, `${r.nll.nats.toFixed(2)} nats`]);
  const how = r.sampler ? ` (DDIM ${r.sampler.steps} steps, guidance ${r.sampler.guidance})` : r.temperature !== undefined && r.temperature !== 1 ? ` (temperature ${r.temperature})` : '';
  rows.push(['sampling time per 100 images', `${r.secondsPer100Samples.toFixed(2)} s${how}`]);
  rows.push(['classifier accuracy on the held-out images', pct(r.classifier.heldOutAccuracy)]);
  return ['| measure | value |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n') + '\n';
}
