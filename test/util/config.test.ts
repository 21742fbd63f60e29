import { describe, expect, it } from 'vitest';
import { applySets, checkConfig, ConfigError, Type, withDefaults } from '../../src/util/config.js';
import { Rng } from '../../src/util/rng.js';

describe('config schemas and --set', () => {
  const schema = Type.Object({
    lr: Type.Number({ exclusiveMinimum: 0 }), steps: Type.Integer({ minimum: 1 }),
    optimizer: Type.Union([Type.Literal('adamw'), Type.Literal('adam')]), ema: Type.Boolean(),
  }, { additionalProperties: false });
  const d = { lr: 0.001, steps: 10, optimizer: 'adamw', ema: false };
  const part = (fixed?: Record<string, string>) => [{ what: 'trainer', schema, value: d, fixed }];
  it('parses each value by its schema and leaves the defaults as they were', () => {
    expect(applySets(part(), ['lr=3e-4', 'steps=5', 'optimizer=adam', 'ema=true'])).toEqual([{ lr: 3e-4, steps: 5, optimizer: 'adam', ema: true }]);
    expect(d.steps).toBe(10);
  });
  it('names the valid keys when a key is unknown (a fixed key is not offered)', () => {
    expect(() => applySets(part(), ['lrr=1'])).toThrow(ConfigError);
    expect(() => applySets(part({ ema: 'set elsewhere' }), ['lrr=1'])).toThrow(/unknown --set key "lrr"; valid keys: lr, optimizer, steps$/);
    expect(() => applySets(part({ ema: 'ema is set elsewhere' }), ['ema=true'])).toThrow(/--set ema: ema is set elsewhere/);
  });
  it('refuses a value of the wrong type or out of range, saying what it must be', () => {
    expect(() => applySets(part(), ['steps=many'])).toThrow(/trainer steps must be a whole number >= 1, got "many"/);
    expect(() => applySets(part(), ['steps=2.5'])).toThrow(/trainer steps must be a whole number >= 1, got 2.5/);
    expect(() => applySets(part(), ['steps=0'])).toThrow(/steps must be a whole number >= 1, got 0/);
    expect(() => applySets(part(), ['lr=0'])).toThrow(/lr must be a number > 0, got 0/);
    expect(() => applySets(part(), ['optimizer=sgd'])).toThrow(/optimizer must be one of adamw, adam, got "sgd"/);
    expect(() => applySets(part(), ['ema=maybe'])).toThrow(/ema must be true or false/);
    expect(() => applySets(part(), ['novalue'])).toThrow(/key=value/);
  });
  it('checks a saved config: extra keys and missing keys are errors; withDefaults fills keys added since', () => {
    expect(() => checkConfig(schema, { ...d, lrr: 1 }, 'trainer')).toThrow(/unknown trainer key "lrr"/);
    expect(() => checkConfig(schema, { lr: 1, steps: 1, optimizer: 'adam' }, 'trainer')).toThrow(/trainer config lacks "ema"/);
    expect(withDefaults(schema, { ...d, optimizer: 'adamw' as const }, { steps: 3, retired: 1 }, 'trainer')).toEqual({ ...d, steps: 3 });
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
