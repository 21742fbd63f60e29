// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), updating tf.Variables in place,
// with state that a checkpoint saves and restores exactly. The update follows torch.optim.AdamW.
import * as tf from '@tensorflow/tfjs-core';
import { ownVariable } from '../nn/layers.js';

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

  /** One update with learning rate `lr`; `grads` holds a gradient per trainable name. */
  apply(grads: tf.NamedTensorMap, lr: number): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd, kind } = this.cfg;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    tf.tidy(() => {
      for (const name of this.trainable) {
        const p = this.params.get(name)!, m = this.m.get(name)!, v = this.v.get(name)!;
        let g = grads[name];
        if (!g) continue;
        const decays = wd > 0 && this.decay.has(name);
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
      this.m.get(name)!.assign(m);
      this.v.get(name)!.assign(v);
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

/** Scales gradients so that their global L2 norm is at most maxNorm (as torch's clip_grad_norm_); returns the norm before. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  const gs = Object.values(grads);
  const norm = tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  if (!(maxNorm > 0)) return { grads, norm };
  const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
  const out: tf.NamedTensorMap = {};
  for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, coef);
  return { grads: out, norm };
}

/** Exponential moving average of weights (Polyak averaging), for sampling. */
export class Ema {
  readonly shadow = new Map<string, tf.Variable>();
  constructor(params: Map<string, tf.Variable>, readonly decay: number) {
    for (const [k, p] of params) this.shadow.set(k, ownVariable(p.clone(), false));
  }
  update(params: Map<string, tf.Variable>): void {
    tf.tidy(() => {
      for (const [k, s] of this.shadow) s.assign(tf.add(tf.mul(s, this.decay), tf.mul(params.get(k)!, 1 - this.decay)));
    });
  }
  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
  }
}
