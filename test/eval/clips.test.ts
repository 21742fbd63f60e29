import { describe, expect, it } from 'vitest';
import { parseText } from '../../src/data/clips/words.js';
import { EVAL_TEMPLATES, TRAIN_TEMPLATES } from '../../src/data/clips/captions.js';
import { ClipFeatures, clipTable, evalPrompts, evaluateClips, smoothness } from '../../src/eval/clips.js';
import type { Classifier } from '../../src/models/classifier.js';
import { renderText } from '../../src/pipelines/clips.js';
import { loadImageModel } from '../../src/pipelines/images.js';
import { Rng } from '../../src/util/rng.js';

const clf = loadImageModel('models/digits-classifier', ['classifier']).model as Classifier;

describe('eval-clips', () => {
  it('asks every digit-direction pair in turn (a quarter held out), in the evaluation templates only, and each prompt parses to what it asks', () => {
    const ps = evalPrompts(80);
    expect(ps.filter((p) => p.heldOut).length).toBe(20);
    expect(new Set(ps.map((p) => `${p.asked.digit}${p.asked.direction}`)).size).toBe(40);
    for (const p of ps) expect(parseText(p.text).objects[0]).toEqual(p.asked);
    expect(TRAIN_TEMPLATES.some((t) => (EVAL_TEMPLATES as readonly string[]).includes(t))).toBe(false);
  });
  it('true renders are smooth (no jitter, no flicker); noise is not', () => {
    const s = smoothness(renderText('a big red 3 moving left quickly', { seed: 2 }).frames);
    expect(s.jitter).toBeLessThan(1e-6);
    expect(s.flicker).toBeLessThan(1e-6);
    const rng = new Rng(1), noise = Float32Array.from({ length: 16 * 64 * 64 * 3 }, () => rng.next());
    expect(smoothness(noise).flicker).toBeGreaterThan(0.01);
  });
  it('the true renderer scores 100% on every measure; noise scores near chance and no held-out pair', async () => {
    const ps = evalPrompts(20);
    const truth = await evaluateClips(async (t, s) => renderText(t, { seed: s }).frames, clf, ps, { diversityPrompts: 2, diversitySeeds: 2 });
    expect(truth.exact).toBe(1);
    expect(truth.exactHeldOut).toBe(1);
    expect(truth.diversity).toBeGreaterThan(0.05); // different held-out digit images across seeds
    const rng = new Rng(3);
    const noise = await evaluateClips(async () => Float32Array.from({ length: 16 * 64 * 64 * 3 }, () => rng.next()), clf, ps, { diversityPrompts: 1, diversitySeeds: 2 });
    expect(noise.exact).toBeLessThan(0.1);
    expect(noise.perAttribute.digit).toBeLessThan(0.4);
    const md = clipTable([{ name: 'true renderer', m: truth }, { name: 'noise', m: noise }]);
    expect(md.split('\n')[0]).toMatch(/^\| model \| clips \| digit \| colour/);
    expect(md).toMatch(/\| true renderer \| 20 \| 100\.0% \|/);
  }, 120_000);
  it('a second judge is scored on the same prompts, and its agreement with the pixel judge counts matching verdicts, right or wrong', async () => {
    const ps = evalPrompts(8);
    // on true renders the pixel judge is right everywhere: a judge that always answers "red 3" agrees exactly where that is right
    const red3 = () => ({ digit: 3 as const, colour: 'red' as const });
    const m = await evaluateClips(async (t, s) => renderText(t, { seed: s }).frames, clf, ps, { diversityPrompts: 1, diversitySeeds: 2, secondJudge: red3 });
    const right = ps.reduce((n, p) => n + (p.asked.digit === 3 ? 1 : 0) + (p.asked.colour === 'red' ? 1 : 0), 0);
    expect(m.captionJudge!.agreement).toBeCloseTo(right / (8 * 5));
    expect(m.captionJudge!.exact).toBe(0);
    expect(m.captionJudge!.perAttribute.digit).toBeCloseTo(ps.filter((p) => p.asked.digit === 3).length / 8);
    const perfect = await evaluateClips(async (t, s) => renderText(t, { seed: s }).frames, clf, ps, { diversityPrompts: 1, diversitySeeds: 2, secondJudge: (f) => { const i = ps.findIndex((p, k) => renderText(p.text, { seed: k }).frames.every((v, j) => v === f[j])); return ps[i].asked; } });
    expect(perfect.captionJudge).toEqual({ perAttribute: { digit: 1, colour: 1, direction: 1, speed: 1, size: 1 }, exact: 1, agreement: 1 });
    expect(clipTable([{ name: 'true renderer', m }])).toMatch(/caption judge: exact \| judges agree \|/);
  }, 120_000);
  it("the Frechet distance of the crops' features: true clips with other seeds are near the true clips, one digit everywhere farther, noise farthest", async () => {
    const ps = evalPrompts(40), truth = new ClipFeatures(), floor = new ClipFeatures(), oneDigit = new ClipFeatures(), noise = new ClipFeatures(), rng = new Rng(5);
    const m = await evaluateClips(async (t, s) => renderText(t, { seed: s }).frames, clf, ps, { diversityPrompts: 1, diversitySeeds: 2, features: truth });
    expect(truth.n).toBe(40 * 4);
    expect(m.exact).toBe(1);
    for (let i = 0; i < ps.length; i++) {
      floor.add(renderText(ps[i].text, { seed: 1000 + i }).frames, clf);
      oneDigit.add(renderText(ps[i].text.replace(/\b\d\b|zero|one|two|three|four|five|six|seven|eight|nine/, '8'), { seed: 1000 + i }).frames, clf);
      noise.add(Float32Array.from({ length: 16 * 64 * 64 * 3 }, () => rng.next()), clf);
    }
    const [f, d, n] = [floor.fd(truth), oneDigit.fd(truth), noise.fd(truth)];
    expect(truth.fd(truth)).toBeCloseTo(0, 3);
    expect(f).toBeLessThan(d);
    expect(d).toBeLessThan(n);
  }, 120_000);
});
