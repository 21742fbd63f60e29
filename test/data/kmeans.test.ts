// k-means on rows of a flat array: the clustering the self-conditioned GAN trains on.
import { describe, expect, it } from 'vitest';
import { kmeans } from '../../src/data/kmeans.js';
import { Rng } from '../../src/util/rng.js';

describe('kmeans', () => {
  it('finds well-separated groups, their centres and sizes; the same rng gives the same clusters', () => {
    // three tight blobs of 40, 25 and 10 points in 3-D around far-apart centres, shuffled
    const rng = new Rng(1), centres = [[0, 0, 0], [10, 10, 0], [0, 10, 10]], sizes = [40, 25, 10];
    const rows: { x: number[]; g: number }[] = [];
    sizes.forEach((s, g) => { for (let i = 0; i < s; i++) rows.push({ x: centres[g].map((c) => c + rng.uniformArray(1, -0.5, 0.5)[0]), g }); });
    for (let i = rows.length - 1; i > 0; i--) { const j = rng.int(i + 1); [rows[i], rows[j]] = [rows[j], rows[i]]; }
    const x = Float32Array.from(rows.flatMap((r) => r.x));
    const r = kmeans(x, rows.length, 3, 3, new Rng(7));
    // each true group maps to exactly one cluster, and no two groups share one
    const clusterOfGroup = [0, 1, 2].map((g) => new Set(rows.filter((row) => row.g === g).map((row) => r.assign[rows.indexOf(row)])));
    for (const s of clusterOfGroup) expect(s.size).toBe(1);
    const ids = clusterOfGroup.map((s) => [...s][0]);
    expect(new Set(ids).size).toBe(3);
    ids.forEach((k, g) => {
      expect(r.sizes[k]).toBe(sizes[g]);
      for (let j = 0; j < 3; j++) expect(Math.abs(r.centers[k * 3 + j] - centres[g][j])).toBeLessThan(0.3);
    });
    expect(kmeans(x, rows.length, 3, 3, new Rng(7)).assign).toEqual(r.assign);
  });

  it('rejects k outside [1, n] and a size mismatch', () => {
    const x = new Float32Array(6);
    expect(() => kmeans(x, 3, 2, 4, new Rng(1))).toThrow(/k must be a whole number in \[1, 3\], got 4/);
    expect(() => kmeans(x, 3, 2, 0, new Rng(1))).toThrow(/got 0/);
    expect(() => kmeans(x, 4, 2, 2, new Rng(1))).toThrow(/6 values are not 4 rows of 2/);
  });
});
