// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), updating tf.Variables in place,
// with state that a checkpoint saves and restores exactly. The update follows torch.optim.AdamW.
import * as tf from '@tensorflow/tfjs-core';
import { ownVariable } from '../nn/layers.js';
import { inPlaceOps } from '../tensor/backend.js';

export interface AdamConfig {
  /** 'adam' adds weightDecay * w to the gradient (L2); 'adamw' decays the weights directly */
  kind: 'adam' | 'adamw';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export class Adam {
  /** steps taken, for bias correction */
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Map<string, tf.Variable>,
    readonly trainable: readonly string[],
    private readonly decay: ReadonlySet<string>,
    private readonly cfg: AdamConfig,
  ) {
    for (const name of trainable) {
      const p = params.get(name);
      if (!p) throw new Error(`optimizer: no parameter ${name}`);
      this.m.set(name, ownVariable(tf.zerosLike(p), false));
      this.v.set(name, ownVariable(tf.zerosLike(p), false));
    }
  }

  /**
   * One update with learning rate `lr`; `grads` holds a gradient per trainable name, each
   * multiplied by `gradScale` first (gradient clipping).
   */
  apply(grads: tf.NamedTensorMap, lr: number, gradScale = 1): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd, kind } = this.cfg;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    const fast = inPlaceOps();
    tf.tidy(() => {
      for (const name of this.trainable) {
        const p = this.params.get(name)!, m = this.m.get(name)!, v = this.v.get(name)!;
        const g0 = grads[name];
        if (!g0) continue;
        const decays = wd > 0 && this.decay.has(name);
        const hyper = { lr, beta1: b1, beta2: b2, eps, weightDecay: decays ? wd : 0, decoupled: kind === 'adamw', bc1, bc2, gradScale };
        if (fast?.adamStep(p, g0, m, v, hyper)) continue;
        let g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        if (decays && kind === 'adam') g = tf.add(g, tf.mul(p, wd));
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const base = decays && kind === 'adamw' ? tf.mul(p, 1 - lr * wd) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
        p.assign(tf.sub(base, tf.mul(tf.div(m, denom), stepSize)));
      }
    });
  }

  /** Moments by name ('m/<param>', 'v/<param>') for a checkpoint. */
  stateTensors(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const name of this.trainable) {
      out[`m/${name}`] = this.m.get(name)!;
      out[`v/${name}`] = this.v.get(name)!;
    }
    return out;
  }

  loadState(t: number, tensors: tf.NamedTensorMap): void {
    for (const name of this.trainable) {
      const m = tensors[`m/${name}`], v = tensors[`v/${name}`];
      if (!m || !v) throw new Error(`optimizer state has no moments for ${name}`);
      // copies, not shared buffers: the in-place update needs each moment's buffer to itself
      for (const [dst, src] of [[this.m.get(name)!, m], [this.v.get(name)!, v]] as const) {
        const own = tf.mul(src, 1);
        dst.assign(own);
        own.dispose();
      }
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

/** The global L2 norm of the gradients, as a number. */
export function globalNorm(grads: tf.NamedTensorMap): number {
  const fast = inPlaceOps();
  const gs = Object.values(grads);
  if (fast && gs.every((g) => g.dtype === 'float32')) return Math.sqrt(gs.reduce((s, g) => s + fast.sumSquares(g), 0));
  return tf.tidy(() => tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
}

/** The factor that brings the gradient norm to at most maxNorm, as torch's clip_grad_norm_ (1 when maxNorm is 0). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
}

/** Exponential moving average of weights (Polyak averaging), for sampling. */
export class Ema {
  readonly shadow = new Map<string, tf.Variable>();
  /** `frozen`: weights no optimizer updates, whose shadow is their copy at every update */
  constructor(params: Map<string, tf.Variable>, readonly decay: number, private readonly frozen: ReadonlySet<string> = new Set()) {
    for (const [k, p] of params) this.shadow.set(k, ownVariable(p.clone(), false));
  }
  /**
   * shadow = d shadow + (1 - d) p. With `step` (updates done before this one) d warms up as
   * diffusers' EMAModel does, min(decay, (1 + step) / (10 + step)): a 0.999 EMA after 1,000 steps
   * would otherwise still hold 37% of the random initial weights.
   */
  update(params: Map<string, tf.Variable>, step?: number): void {
    const fast = inPlaceOps(), d = step === undefined ? this.decay : Math.min(this.decay, (1 + step) / (10 + step));
    tf.tidy(() => {
      for (const [k, s] of this.shadow) {
        const p = params.get(k)!;
        // a weight no phase trains (a frozen encoder, batch-norm statistics set by assign) is copied, not averaged
        if (this.frozen.has(k)) { s.assign(p); continue; }
        if (fast?.emaStep(s, p, d)) continue;
        s.assign(tf.add(tf.mul(s, d), tf.mul(p, 1 - d)));
      }
    });
  }
  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
