// Noise schedules as pure functions of the step count.

export interface NoiseSchedule {
  betas: Float64Array;
  alphas: Float64Array;
  /** cumulative products of the alphas: alphasCumprod[t] = prod_{s <= t} (1 - beta_s) */
  alphasCumprod: Float64Array;
}

function fromBetas(betas: Float64Array): NoiseSchedule {
  const alphas = betas.map((b) => 1 - b);
  const alphasCumprod = new Float64Array(betas.length);
  let prod = 1;
  for (let i = 0; i < betas.length; i++) { prod *= alphas[i]; alphasCumprod[i] = prod; }
  return { betas, alphas, alphasCumprod };
}

/** DDPM's linear schedule (Ho et al. 2020, section 4): betas from 1e-4 to 0.02 over T steps. */
export function linearBetas(T = 1000, start = 1e-4, end = 0.02): NoiseSchedule {
  if (!Number.isInteger(T) || T < 2) throw new RangeError(`a schedule needs at least 2 steps, got ${T}`);
  return fromBetas(Float64Array.from({ length: T }, (_, i) => start + ((end - start) * i) / (T - 1)));
}

/** The cosine schedule of Nichol & Dhariwal 2021 (eq. 17), betas clipped at 0.999. */
export function cosineBetas(T = 1000, s = 0.008): NoiseSchedule {
  const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return fromBetas(Float64Array.from({ length: T }, (_, i) => Math.min(0.999, 1 - f(i + 1) / f(i))));
}

/** A schedule as a checkpoint records it, so that sampling uses the schedule the model was trained with. */
export interface ScheduleSpec {
  kind: 'linear' | 'cosine';
  /** training timesteps T */
  steps: number;
  /** linear: first and last beta */
  betaStart?: number;
  betaEnd?: number;
}

/** DDPM's schedule, what every genlab diffusion model so far was trained with. */
export const DEFAULT_SCHEDULE: ScheduleSpec = { kind: 'linear', steps: 1000, betaStart: 1e-4, betaEnd: 0.02 };

export function scheduleFrom(spec: ScheduleSpec = DEFAULT_SCHEDULE): NoiseSchedule {
  if (spec.kind === 'cosine') return cosineBetas(spec.steps);
  if (spec.kind === 'linear') return linearBetas(spec.steps, spec.betaStart ?? 1e-4, spec.betaEnd ?? 0.02);
  throw new RangeError(`unknown noise schedule "${String((spec as { kind: unknown }).kind)}"`);
}
