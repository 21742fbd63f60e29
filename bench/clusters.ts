// How well k-means on pixels separates the digits, for the self-conditioned GAN's cluster counts:
// the share of training images in a cluster whose majority digit is theirs (purity), and per digit
// the images in clusters it leads. One JSON line per K. Usage: tsx bench/clusters.ts [K...] [--seed S]
import { parseArgs } from 'node:util';
import { kmeans } from '../src/data/kmeans.js';
import { loadImageData } from '../src/data/mnist.js';
import { Rng } from '../src/util/rng.js';

const { positionals, values: o } = parseArgs({ allowPositionals: true, options: { seed: { type: 'string', default: '1' }, data: { type: 'string', default: 'mnist' } } });
const { train } = loadImageData(o.data);
for (const K of (positionals.length ? positionals : ['20', '50']).map(Number)) {
  const t0 = Date.now();
  // the same call as `genlab train gan --set clusters=K --seed S`
  const r = kmeans(train.images, train.n, train.height * train.width, K, new Rng(Number(o.seed)));
  const led = new Array<number>(train.classes).fill(0);
  let pure = 0;
  for (let k = 0; k < K; k++) {
    const h = new Array<number>(train.classes).fill(0);
    for (let i = 0; i < train.n; i++) if (r.assign[i] === k) h[train.labels[i]]++;
    const top = Math.max(...h);
    pure += top;
    led[h.indexOf(top)] += top;
  }
  console.log(JSON.stringify({ clusters: K, seed: Number(o.seed), purity: +(pure / train.n).toFixed(4), imagesInClustersLedByDigit: led, seconds: (Date.now() - t0) / 1000 }));
}
