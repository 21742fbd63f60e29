import { describe, expect, it } from 'vitest';
import { fitGaussian, frechetDistance, sqrtPsd, symmetricEigen, type Gaussian } from '../../src/eval/frechet.js';
import { Rng } from '../../src/util/rng.js';

const diag = (mean: number[], variances: number[]): Gaussian => {
  const n = mean.length, cov = new Float64Array(n * n);
  variances.forEach((v, i) => { cov[i * n + i] = v; });
  return { dim: n, mean: Float64Array.from(mean), cov };
};

describe('Frechet distance', () => {
  it('is 0 between a Gaussian and itself, and |mu1 - mu2|^2 + sum (s1 - s2)^2 for diagonal covariances', () => {
    const rng = new Rng(1), n = 400, d = 6;
    const g = fitGaussian(rng.normalArray(n * d), n, d);
    expect(frechetDistance(g, g)).toBeCloseTo(0, 6);
    const a = diag([0, 1, 2], [1, 4, 9]), b = diag([1, 1, 0], [4, 4, 1]);
    // (1 + 0 + 4) + ((1-2)^2 + (2-2)^2 + (3-1)^2)
    expect(frechetDistance(a, b)).toBeCloseTo(5 + 1 + 0 + 4, 9);
  });

  it('matches the closed form for full covariances with a shared eigenbasis after a rotation', () => {
    // rotate diag(1, 9) and diag(4, 1) by the same angle: the distance does not change
    const c = Math.cos(0.7), s = Math.sin(0.7);
    const rot = (l1: number, l2: number) => Float64Array.from([c * c * l1 + s * s * l2, c * s * (l1 - l2), c * s * (l1 - l2), s * s * l1 + c * c * l2]);
    const a: Gaussian = { dim: 2, mean: Float64Array.from([0, 0]), cov: rot(1, 9) };
    const b: Gaussian = { dim: 2, mean: Float64Array.from([3, 4]), cov: rot(4, 1) };
    expect(frechetDistance(a, b)).toBeCloseTo(25 + (1 - 2) ** 2 + (3 - 1) ** 2, 8);
  });

  it('estimates the covariance of samples and takes exact eigenpairs and square roots', () => {
    const rng = new Rng(2), n = 20000;
    const x = new Float32Array(n * 2);
    // off-centre (means 10 and -5): a covariance that skipped centring would be off by the squared means
    for (let i = 0; i < n; i++) { const u = rng.normal(), v = rng.normal(); x[2 * i] = 2 * u + 10; x[2 * i + 1] = u + v - 5; }
    const g = fitGaussian(x, n, 2);
    expect(g.mean[0]).toBeCloseTo(10, 1);
    expect(g.mean[1]).toBeCloseTo(-5, 1);
    expect(g.cov[0]).toBeCloseTo(4, 0);
    expect(g.cov[1]).toBeCloseTo(2, 0);
    expect(g.cov[3]).toBeCloseTo(2, 0);
    const m = Float64Array.from([4, 1, 1, 3]);
    const { values } = symmetricEigen(m, 2);
    expect([...values].sort((p, q) => p - q)).toEqual([expect.closeTo((7 - Math.sqrt(5)) / 2, 10), expect.closeTo((7 + Math.sqrt(5)) / 2, 10)]);
    const r = sqrtPsd(m, 2);
    const sq = [r[0] * r[0] + r[1] * r[2], r[0] * r[1] + r[1] * r[3], r[2] * r[0] + r[3] * r[2], r[2] * r[1] + r[3] * r[3]];
    sq.forEach((v, i) => expect(v).toBeCloseTo(m[i], 10));
  });
});
