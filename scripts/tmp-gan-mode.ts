import { initBackend } from '../src/tensor/backend.js';
import { loadImageData } from '../src/data/mnist.js';
import { evaluateImages } from '../src/eval/images.js';
import { loadImageModel, type Generator, type LoadedImageModel } from '../src/pipelines/images.js';
import type { Dcgan } from '../src/models/dcgan.js';
import type { Classifier } from '../src/models/classifier.js';
await initBackend();
const gen = loadImageModel(process.argv[2]) as LoadedImageModel<Generator>;
const clf = loadImageModel('models/digits-classifier') as LoadedImageModel<Classifier>;
const { train, test } = loadImageData('mnist');
const g = gen.model as Dcgan, orig = g.generate.bind(g);
for (const mode of ['running', 'batch'] as const) {
  g.generate = (z, y) => orig(z, y, mode);
  const r = evaluateImages(gen, clf, train, test, { n: 1000 });
  console.log(mode, r.frechet.samples.toFixed(1), r.frechet.ratio.toFixed(2), r.conditionalAccuracy, r.minClassShare);
}
