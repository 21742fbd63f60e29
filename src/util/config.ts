// Typed configs: each component owns a default config; the edge (CLI flags) applies
// `key=value` overrides, typed by the default's value. An unknown key is an error.

export type ConfigValue = number | string | boolean;
export type Config = Record<string, ConfigValue>;

export class ConfigError extends Error {}

/** Applies `key=value` strings to a copy of `defaults`, parsing each value as the default's type. */
export function applyOverrides<T extends Config>(defaults: T, sets: readonly string[], what = 'config'): T {
  const out: Config = { ...defaults };
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set expects key=value, got "${s}"`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    if (!(key in defaults)) {
      throw new ConfigError(`unknown ${what} key "${key}"; valid keys: ${Object.keys(defaults).sort().join(', ')}`);
    }
    out[key] = parseAs(defaults[key], raw, key);
  }
  return out as T;
}

function parseAs(example: ConfigValue, raw: string, key: string): ConfigValue {
  if (typeof example === 'number') {
    const v = Number(raw);
    if (raw === '' || !Number.isFinite(v)) throw new ConfigError(`${key} must be a number, got "${raw}"`);
    return v;
  }
  if (typeof example === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(`${key} must be true or false, got "${raw}"`);
  }
  return raw;
}

/** Throws a ConfigError unless `cond`. */
export function check(cond: boolean, message: string): void {
  if (!cond) throw new ConfigError(message);
}
