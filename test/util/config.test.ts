import { describe, expect, it } from 'vitest';
import { applyOverrides, ConfigError } from '../../src/util/config.js';
import { Rng } from '../../src/util/rng.js';

describe('config overrides', () => {
  const d = { lr: 0.001, steps: 10, optimizer: 'adamw', ema: false };
  it('parses each value as the type of its default', () => {
    expect(applyOverrides(d, ['lr=3e-4', 'steps=5', 'optimizer=adam', 'ema=true'])).toEqual({ lr: 3e-4, steps: 5, optimizer: 'adam', ema: true });
  });
  it('names the valid keys when a key is unknown', () => {
    expect(() => applyOverrides(d, ['lrr=1'])).toThrow(ConfigError);
    expect(() => applyOverrides(d, ['lrr=1'])).toThrow(/unknown config key "lrr"; valid keys: ema, lr, optimizer, steps/);
  });
  it('refuses a value of the wrong type', () => {
    expect(() => applyOverrides(d, ['steps=many'])).toThrow(/steps must be a number/);
    expect(() => applyOverrides(d, ['ema=maybe'])).toThrow(/ema must be true or false/);
    expect(() => applyOverrides(d, ['novalue'])).toThrow(/key=value/);
  });
});

describe('seeded RNG', () => {
  it('repeats its sequence from a seed and from a saved state', () => {
    const a = new Rng(42), b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    const s = a.state();
    const ys = Array.from({ length: 5 }, () => a.normal());
    const c = new Rng(s);
    expect(Array.from({ length: 5 }, () => c.normal())).toEqual(ys);
  });
  it('draws normals with mean 0 and variance 1', () => {
    const r = new Rng(7), n = 20000;
    const v = r.normalArray(n);
    const mean = v.reduce((s, x) => s + x, 0) / n;
    const varc = v.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(varc - 1)).toBeLessThan(0.05);
  });
});
