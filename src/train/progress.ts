// Training progress on stderr: a live bar on a terminal, plain log lines otherwise.
import cliProgress from 'cli-progress';

export interface StepReport {
  step: number;
  total: number;
  loss: number;
  lr: number;
  itPerSec: number;
  /** each phase's loss when a step has several (a GAN's d and g) */
  parts?: Record<string, number>;
}

function lossText(r: StepReport): string {
  const parts = r.parts ? ` (${Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')})` : '';
  return r.loss.toFixed(4) + parts;
}

export interface Progress {
  start(step: number, total: number): void;
  update(r: StepReport): void;
  /** A line of text that does not break the bar. */
  log(line: string): void;
  stop(): void;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds), m = Math.floor(s / 60), h = Math.floor(m / 60);
  return h > 0 ? `${h}h${String(m % 60).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function createProgress(opts: { tty?: boolean; every?: number; quiet?: boolean } = {}): Progress {
  const quiet = opts.quiet ?? false;
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const every = Math.max(1, opts.every ?? 10);
  if (quiet) return { start() {}, update() {}, log() {}, stop() {} };
  if (!tty) {
    return {
      start: (step, total) => process.stderr.write(`training from step ${step} to ${total}\n`),
      update: (r) => {
        if (r.step % every !== 0 && r.step !== r.total) return;
        process.stderr.write(
          `step ${r.step}/${r.total} loss ${lossText(r)} lr ${r.lr.toExponential(2)} ${r.itPerSec.toFixed(2)} it/s eta ${eta((r.total - r.step) / r.itPerSec)}\n`,
        );
      },
      log: (line) => process.stderr.write(line + '\n'),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: 'step {value}/{total} {bar} loss {loss} | {itps} it/s | ETA {etaText}', stream: process.stderr, hideCursor: true, barsize: 24, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (step, total) => bar.start(total, step, { loss: '-', itps: '-', etaText: '?' }),
    update: (r) => bar.update(r.step, { loss: lossText(r), itps: r.itPerSec.toFixed(2), etaText: eta((r.total - r.step) / r.itPerSec) }),
    log: (line) => {
      process.stderr.write('\r\x1b[K' + line + '\n');
      bar.render();
    },
    stop: () => bar.stop(),
  };
}
