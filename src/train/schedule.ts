// The learning rate as a pure function of the step: linear warmup, then cosine decay to minLr
// (Loshchilov & Hutter 2017, SGDR without restarts), the schedule of nanoGPT's train.py.

export interface ScheduleConfig {
  lr: number;
  minLr: number;
  warmupSteps: number;
  /** step at which the cosine reaches minLr; it stays there after */
  decaySteps: number;
}

export function lrAt(step: number, c: ScheduleConfig): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const span = Math.max(1, c.decaySteps - c.warmupSteps);
  const r = Math.min(1, (step - c.warmupSteps) / span);
  return c.minLr + 0.5 * (1 + Math.cos(Math.PI * r)) * (c.lr - c.minLr);
}
