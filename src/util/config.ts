// Typed configs: every component owns a closed TypeBox schema (its TypeScript type is the
// schema's Static, so a misspelt key does not type-check) and a default value. This module is the
// one place that parses `--set key=value` (typed by the schema, checked against its ranges, the
// valid keys listed on a mistake) and checks a config read back from a checkpoint.
import { Type, type Static, type TObject, type TSchema } from 'typebox';
import Value from 'typebox/value';

export { Type, type Static };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Props = Record<string, TSchema & { type?: string; minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number; anyOf?: { const?: unknown }[]; const?: unknown }>;

function propsOf(schema: TObject): Props {
  return schema.properties as unknown as Props;
}

/** What a value of this schema must be, in words ("a whole number >= 1", "one of lstm, gru"). */
export function describeSchema(s: Props[string]): string {
  if (s.anyOf) return `one of ${s.anyOf.map((a) => String(a.const)).join(', ')}`;
  if (s.type === 'boolean') return 'true or false';
  if (s.type === 'string') return 'a string';
  const kind = s.type === 'integer' ? 'a whole number' : 'a number';
  const bounds = [
    s.minimum !== undefined ? `>= ${s.minimum}` : s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '',
    s.maximum !== undefined ? `<= ${s.maximum}` : s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : '',
  ].filter(Boolean);
  return bounds.length ? `${kind} ${bounds.join(' and ')}` : kind;
}

/** Checks `value` against `schema` (closed: no missing or extra keys); a ConfigError names the first wrong key. */
export function checkConfig<S extends TObject>(schema: S, value: unknown, what: string): Static<S> {
  if (Value.Check(schema, value)) return value as Static<S>;
  const props = propsOf(schema), v = (value ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!(key in props)) throw new ConfigError(`unknown ${what} key "${key}"; valid keys: ${Object.keys(props).sort().join(', ')}`);
  for (const [key, s] of Object.entries(props)) {
    if (!(key in v)) throw new ConfigError(`${what} config lacks "${key}"`);
    if (!Value.Check(s, v[key])) throw new ConfigError(`${what} ${key} must be ${describeSchema(s)}, got ${JSON.stringify(v[key])}`);
  }
  throw new ConfigError(`${what} config is not valid`);
}

/** The value of one `--set` string, typed by the key's schema (range checks come with checkConfig). */
function parseValue(s: Props[string], raw: string, key: string, what: string): unknown {
  if (s.type === 'number' || s.type === 'integer') {
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) throw new ConfigError(`${what} ${key} must be ${describeSchema(s)}, got "${raw}"`);
    return n;
  }
  if (s.type === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(`${what} ${key} must be true or false, got "${raw}"`);
  }
  return raw;
}

/** One config a command lets `--set` change. */
export interface ConfigPart {
  /** 'model', 'trainer', ... (for messages) */
  what: string;
  schema: TObject;
  value: Record<string, unknown>;
  /** keys that --set may not change here, with the reason */
  fixed?: Record<string, string>;
}

/**
 * Applies `key=value` strings to copies of the parts' values, each key to the part whose schema
 * has it, and checks every part; returns the new values in the parts' order.
 */
export function applySets(parts: readonly ConfigPart[], sets: readonly string[]): Record<string, unknown>[] {
  const out = parts.map((p) => ({ ...p.value }));
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects key=value, got "${s}"`);
    const key = s.slice(0, eq).trim(), raw = s.slice(eq + 1).trim();
    const i = parts.findIndex((p) => key in propsOf(p.schema));
    if (i < 0) {
      const valid = parts.flatMap((p) => Object.keys(propsOf(p.schema)).filter((k) => !(p.fixed && k in p.fixed)));
      throw new ConfigError(`unknown --set key "${key}"; valid keys: ${[...new Set(valid)].sort().join(', ')}`);
    }
    const why = parts[i].fixed?.[key];
    if (why) throw new ConfigError(`--set ${key}: ${why}`);
    out[i][key] = parseValue(propsOf(parts[i].schema)[key], raw, key, parts[i].what);
  }
  parts.forEach((p, i) => checkConfig(p.schema, out[i], p.what));
  return out;
}

/** Copies the keys of `saved` that `schema` knows over `defaults` (a checkpoint written before a key existed gets its default). */
export function withDefaults<S extends TObject>(schema: S, defaults: Static<S>, saved: Record<string, unknown>, what: string): Static<S> {
  const props = propsOf(schema), merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(saved)) if (k in props) merged[k] = v;
  return checkConfig(schema, merged, what);
}

/** Throws a ConfigError unless `cond`. */
export function check(cond: boolean, message: string): void {
  if (!cond) throw new ConfigError(message);
}
