// One model-agnostic trainer (minGPT's trainer.py in spirit): a task supplies its weights and a
// loss; the trainer owns optimizer, schedule, clipping, EMA, checkpoints, resume, the NaN guard,
// progress and the metrics log.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, Ema, clipScale, globalNorm } from './optim.js';
import { lrAt } from './schedule.js';
import { CHECKPOINT_FORMAT, saveCheckpoint, type CheckpointData, type CheckpointMeta } from '../checkpoint/checkpoint.js';
import { acquireRunLock } from '../checkpoint/lock.js';
import { UserError } from '../util/errors.js';
import { fsProblem, writeFileAtomic } from '../util/files.js';
import { createProgress, type Progress } from './progress.js';
import { checkConfig, Type, type Static } from '../util/config.js';
import { Rng, type RngState } from '../util/rng.js';

const int = (minimum: number, description: string) => Type.Integer({ minimum, description });
export const TrainConfigSchema = Type.Object({
  steps: int(1, 'total optimizer steps of the run'),
  batchSize: int(1, 'sequences (or images) per step'),
  lr: Type.Number({ exclusiveMinimum: 0, description: 'peak learning rate' }),
  minLr: Type.Number({ minimum: 0, description: 'learning rate at the end of the cosine decay' }),
  warmupSteps: int(0, 'steps of linear warmup'),
  decaySteps: int(0, 'step where the cosine reaches minLr (0: the last step)'),
  optimizer: Type.Union([Type.Literal('adamw'), Type.Literal('adam')]),
  beta1: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
  beta2: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
  eps: Type.Number({ exclusiveMinimum: 0 }),
  weightDecay: Type.Number({ minimum: 0, description: 'decoupled (adamw) or L2 (adam) decay of matrices; biases and norms never decay' }),
  gradClip: Type.Number({ minimum: 0, description: 'max global gradient norm (0: no clipping)' }),
  emaDecay: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'EMA decay of the weights for sampling (0: off)' }),
  evalEvery: int(0, 'steps between validation losses (0: only at the end)'),
  evalBatches: int(1, 'validation batches per evaluation'),
  checkpointEvery: int(0, 'steps between checkpoints (0: only at the end and on Ctrl-C)'),
  logEvery: int(1, 'steps between log lines and metrics records'),
  seed: int(0, 'seed of initial weights and batch order'),
}, { additionalProperties: false });
export type TrainConfig = Static<typeof TrainConfigSchema>;

export function defaultTrainConfig(): TrainConfig {
  return {
    steps: 2000, batchSize: 12, lr: 1e-3, minLr: 1e-4, warmupSteps: 100, decaySteps: 0, optimizer: 'adamw',
    beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0, emaDecay: 0, evalEvery: 500, evalBatches: 20,
    checkpointEvery: 500, logEvery: 10, seed: 1337,
  };
}

export function validateTrainConfig(c: TrainConfig): void {
  checkConfig(TrainConfigSchema, c, 'trainer');
}

/** One optimizer's share of a step: the weights it updates and the loss it descends. */
export interface TrainPhase {
  /** names the optimizer updates (the rest stay frozen) */
  trainable: string[];
  /** names that get weight decay */
  decay: Set<string>;
  /** called before each step's loss, outside the gradient tape (RL: sample the next batch without recording it) */
  prepare?(rng: Rng, batchSize: number): void;
  /** mean loss of one batch drawn with `rng`; called inside tf.tidy */
  loss(rng: Rng, batchSize: number): tf.Scalar;
  /** loss calls a step makes, their gradients averaged into one update (default 1; DDPO: a batch's timesteps) */
  accumulate?: number;
}

/** What a model family gives the trainer: one loss, or named phases run in turn each step (a GAN's D then G), each with its own optimizer. */
export type TrainTask = {
  params: Map<string, tf.Variable>;
  /** deterministic validation loss over `batches` batches, in nats */
  validate?(batches: number): number;
  /** what config.json records about the model (family, model config, tokenizer) */
  meta(): Pick<CheckpointMeta, 'family' | 'model' | 'tokenizer'> & Record<string, unknown>;
  /** numbers the last loss call measured beside the loss (RL: reward, KL, entropy), logged with each step */
  stats?(): Record<string, number>;
} & (TrainPhase | { phases: Record<string, TrainPhase> });

export interface TrainOptions {
  /** run directory: checkpoint/ and metrics.jsonl go here */
  outDir: string;
  /** optimizer state, RNG state and step of the run being resumed */
  resume?: CheckpointData;
  progress?: Progress;
  /** the command line, recorded in the checkpoint */
  command?: string;
  onStep?(step: number, loss: number): void;
}

export type TrainStatus = 'done' | 'interrupted';

export interface TrainResult {
  status: TrainStatus;
  step: number;
  lastLoss: number;
  valLoss?: number;
  seconds: number;
  checkpointDir: string;
}

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

export class Trainer {
  private stopRequested = false;
  /** one optimizer per phase, in the order the phases run */
  private readonly phases: { name: string; phase: TrainPhase; opt: Adam }[];
  private readonly ema?: Ema;
  private readonly rng: Rng;
  private step = 0;
  private priorSeconds = 0;
  readonly checkpointDir: string;
  private readonly metricsPath: string;
  private readonly progress: Progress;
  private lastSavedStep = -1;
  private lastVal: number | undefined;
  private lastGradNorm = NaN;

  /** The largest global gradient norm of the last step's phases (before clipping). */
  get gradNorm(): number {
    return this.lastGradNorm;
  }
  private lastParts: Record<string, number> = {};
  private priorCommands: string[] = [];

  constructor(private readonly task: TrainTask, readonly cfg: TrainConfig, private readonly opts: TrainOptions) {
    validateTrainConfig(cfg);
    this.checkpointDir = join(opts.outDir, 'checkpoint');
    this.metricsPath = join(opts.outDir, 'metrics.jsonl');
    this.progress = opts.progress ?? createProgress({ every: cfg.logEvery });
    const named: [string, TrainPhase][] = 'phases' in task ? Object.entries(task.phases) : [['loss', task]];
    const seen = new Set<string>();
    for (const [, ph] of named) for (const n of ph.trainable) {
      if (seen.has(n)) throw new Error(`weight ${n} is trained by two phases`);
      seen.add(n);
    }
    this.phases = named.map(([name, phase]) => ({
      name, phase, opt: new Adam(task.params, phase.trainable, phase.decay, {
        kind: cfg.optimizer as 'adam' | 'adamw', beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay,
      }),
    }));
    // weights no phase trains (a frozen text encoder, running statistics) have their current value as their EMA, not an average drifting by rounding
    if (cfg.emaDecay > 0) this.ema = new Ema(task.params, cfg.emaDecay, new Set([...task.params.keys()].filter((k) => !seen.has(k))));
    const r = opts.resume;
    if (r) {
      if (!r.optimizer) throw new Error('the checkpoint has no optimizer state; it cannot be resumed (fine-tune it instead)');
      for (const p of this.phases) p.opt.loadState(r.meta.optimizerStep ?? r.meta.step, r.optimizer);
      if (this.ema && r.ema) for (const [k, s] of this.ema.shadow) if (r.ema[k]) { // a copy: the in-place EMA step needs its own buffer
        const own = tf.mul(r.ema[k], 1);
        s.assign(own);
        own.dispose();
      }
      this.step = r.meta.step;
      const prior = r.meta.commands;
      this.priorCommands = Array.isArray(prior) ? prior.map(String) : r.meta.command ? [r.meta.command] : [];
      this.priorSeconds = r.meta.trainSeconds ?? 0;
      this.rng = new Rng((r.meta.rng as RngState | undefined) ?? cfg.seed);
      this.lastSavedStep = r.meta.step;
    } else {
      this.rng = new Rng(cfg.seed ^ 0x5eed);
    }
  }

  /** Ask the loop to stop after the current step (and save); safe to call from a signal handler. */
  requestStop(): void {
    this.stopRequested = true;
  }

  get currentStep(): number {
    return this.step;
  }

  private truncateMetrics(step: number): void {
    if (!existsSync(this.metricsPath)) return;
    const keep = readFileSync(this.metricsPath, 'utf8').split('\n').filter((l) => {
      if (!l.trim()) return false;
      try {
        return (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
    writeFileAtomic(this.metricsPath, Buffer.from(keep.map((l) => l + '\n').join('')));
  }

  private metric(rec: Record<string, unknown>): void {
    try {
      appendFileSync(this.metricsPath, JSON.stringify(rec) + '\n');
    } catch (e) {
      throw new UserError(`training stopped: ${fsProblem(e, this.metricsPath)}`);
    }
  }

  private lr(step: number): number {
    const c = this.cfg;
    return lrAt(step, { lr: c.lr, minLr: c.minLr, warmupSteps: c.warmupSteps, decaySteps: c.decaySteps || c.steps });
  }

  /**
   * One optimizer step per phase; returns the loss before the update (the sum over phases; each
   * phase's own is in lastParts). A non-finite loss stops the step before its update.
   */
  trainStep(): number {
    const lr = this.lr(this.step);
    let total = 0;
    this.lastGradNorm = 0;
    for (const { name, phase, opt } of this.phases) {
      const vars = phase.trainable.map((n) => this.task.params.get(n)!);
      phase.prepare?.(this.rng, this.cfg.batchSize);
      // Gradients leave the tidy so that the tensors saved for the backward pass are freed before
      // the update (the in-place update needs each weight's buffer to itself).
      const once = () => tf.tidy(() => {
        const { value, grads: g } = tf.variableGrads(() => phase.loss(this.rng, this.cfg.batchSize), vars);
        const out: tf.NamedTensorMap = {};
        vars.forEach((p, i) => { out[phase.trainable[i]] = g[p.name]; });
        return { loss: value.dataSync()[0], grads: out };
      });
      const first = once(), grads = first.grads;
      let loss = first.loss;
      const acc = phase.accumulate ?? 1;
      try {
        for (let a = 1; a < acc && Number.isFinite(loss); a++) {
          const more = once();
          loss += more.loss;
          for (const [k, g] of Object.entries(more.grads)) {
            const sum = tf.add(grads[k], g);
            grads[k].dispose(); g.dispose();
            grads[k] = sum;
          }
        }
        if (acc > 1) {
          loss /= acc;
          for (const k of Object.keys(grads)) { const m = tf.div(grads[k], acc); grads[k].dispose(); grads[k] = m; }
        }
        if (!Number.isFinite(loss)) return loss;
        const norm = globalNorm(grads);
        this.lastGradNorm = Math.max(this.lastGradNorm, norm);
        opt.apply(grads, lr, clipScale(norm, this.cfg.gradClip));
      } finally {
        for (const g of Object.values(grads)) g.dispose();
      }
      this.lastParts[name] = loss;
      total += loss;
    }
    this.ema?.update(this.task.params, this.step);
    this.step += 1;
    return total;
  }

  /** The loss of each phase in the last step (one entry, "loss", for a single-loss task). */
  get parts(): Readonly<Record<string, number>> {
    return this.lastParts;
  }

  async save(secondsSoFar: number, lastLoss: number): Promise<void> {
    const params: tf.NamedTensorMap = {};
    for (const [k, v] of this.task.params) params[k] = v;
    const ema: tf.NamedTensorMap | undefined = this.ema ? Object.fromEntries(this.ema.shadow) : undefined;
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      ...this.task.meta(),
      train: { ...this.cfg },
      step: this.step,
      rng: this.rng.state(),
      optimizerStep: this.phases[0].opt.t,
      metrics: { trainLoss: lastLoss, valLoss: this.lastVal },
      command: this.opts.command,
      // every command that trained this checkpoint, the first one first (a resumed run adds one)
      commands: [...this.priorCommands, ...(this.opts.command ? [this.opts.command] : [])],
      seed: this.cfg.seed,
      trainSeconds: Math.round(secondsSoFar * 10) / 10,
      created: new Date().toISOString(),
    };
    await saveCheckpoint(this.checkpointDir, { meta, weights: params, optimizer: Object.assign({}, ...this.phases.map((p) => p.opt.stateTensors())) as tf.NamedTensorMap, ema });
    this.lastSavedStep = this.step;
  }

  async run(): Promise<TrainResult> {
    // one writer per run directory; taken before anything in it is read or written
    const release = acquireRunLock(this.opts.outDir, this.opts.command);
    try {
      if (this.opts.resume) {
        if (this.step >= this.cfg.steps) throw new UserError(`the run is already at step ${this.step}: --steps ${this.cfg.steps} leaves nothing to train (give more steps than that)`);
        this.truncateMetrics(this.opts.resume.meta.step);
      } else if (existsSync(join(this.checkpointDir, 'MANIFEST'))) throw new UserError(`${this.opts.outDir} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
      else if (existsSync(this.metricsPath)) {
        // the metrics of a run that died before its first checkpoint: a fresh run starts a fresh file
        this.progress.log(`note: ${this.metricsPath} of an earlier run that saved no checkpoint is replaced`);
        writeFileAtomic(this.metricsPath, Buffer.alloc(0));
      }
      return await this.runLocked();
    } finally {
      release();
    }
  }

  private async runLocked(): Promise<TrainResult> {
    const total = this.cfg.steps;
    const t0 = performance.now();
    const seconds = () => this.priorSeconds + (performance.now() - t0) / 1000;
    let lastLoss = NaN;
    let windowStart = performance.now(), windowSteps = 0;
    this.progress.start(this.step, total);
    try {
      while (this.step < total && !this.stopRequested) {
        const loss = this.trainStep();
        if (!Number.isFinite(loss)) {
          const kept = this.lastSavedStep >= 0 ? `the last good checkpoint (step ${this.lastSavedStep}) is kept in ${this.checkpointDir}` : 'no checkpoint was written yet';
          throw new NonFiniteLossError(`training stopped: the loss became ${loss} at step ${this.step + 1}; ${kept}. Try a lower lr or a gradClip.`);
        }
        lastLoss = loss;
        windowSteps += 1;
        const now = performance.now();
        const itPerSec = (windowSteps * 1000) / Math.max(1, now - windowStart);
        if (now - windowStart > 10_000) { windowStart = now; windowSteps = 0; }
        const parts = this.phases.length > 1 ? { ...this.lastParts } : undefined, stats = this.task.stats?.();
        this.progress.update({ step: this.step, total, loss, lr: this.lr(this.step - 1), itPerSec, parts: parts ?? stats });
        this.opts.onStep?.(this.step, loss);
        if (this.step % this.cfg.logEvery === 0) this.metric({ step: this.step, loss, ...(parts && Object.fromEntries(Object.entries(parts).map(([k, v]) => [`loss_${k}`, v]))), ...stats, lr: this.lr(this.step - 1), grad_norm: Math.round(this.lastGradNorm * 1e4) / 1e4, time: Math.round(seconds() * 10) / 10 });
        const last = this.step === total;
        if (this.task.validate && ((this.cfg.evalEvery > 0 && this.step % this.cfg.evalEvery === 0) || last)) {
          this.lastVal = this.task.validate(this.cfg.evalBatches);
          this.metric({ step: this.step, val_loss: this.lastVal, time: Math.round(seconds() * 10) / 10 });
          this.progress.log(`step ${this.step}: validation loss ${this.lastVal.toFixed(4)}`);
        }
        if ((this.cfg.checkpointEvery > 0 && this.step % this.cfg.checkpointEvery === 0) || last) await this.save(seconds(), loss);
        // Yield to the event loop so that a Ctrl-C handler can run between steps.
        await new Promise<void>((r) => setImmediate(r));
      }
      if (this.stopRequested && this.lastSavedStep !== this.step) await this.save(seconds(), lastLoss);
    } finally {
      this.progress.stop();
    }
    return {
      status: this.step >= total ? 'done' : 'interrupted',
      step: this.step, lastLoss, valLoss: this.lastVal, seconds: seconds(), checkpointDir: this.checkpointDir,
    };
  }

  dispose(): void {
    for (const p of this.phases) p.opt.dispose();
    this.ema?.dispose();
  }
}
