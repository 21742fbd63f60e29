// Character-level recurrent language model: embedding, a stack of LSTM (Hochreiter & Schmidhuber
// 1997) or GRU (Cho et al. 2014) layers with PyTorch's gate layout and two biases, linear head.
import * as tf from '@tensorflow/tfjs-core';
import { linear, uniform, type Weights } from '../nn/layers.js';
import { check, Type, type Static } from '../util/config.js';
import { ParamStore } from '../nn/params.js';
import { lstmCell } from '../tensor/ops.js';
import type { Rng } from '../util/rng.js';
import type { TextModel, TokenStream } from './types.js';

export const LstmConfigSchema = Type.Object({
  vocabSize: Type.Integer({ minimum: 1, description: 'characters in the vocabulary (set from the tokenizer)' }),
  embed: Type.Integer({ minimum: 1, description: 'embedding width' }),
  hidden: Type.Integer({ minimum: 1, description: 'hidden units per recurrent layer' }),
  layers: Type.Integer({ minimum: 1, description: 'recurrent layers' }),
  cell: Type.Union([Type.Literal('lstm'), Type.Literal('gru')], { description: 'the recurrent cell' }),
  blockSize: Type.Integer({ minimum: 1, description: 'characters per training sequence (truncated backpropagation through time)' }),
}, { additionalProperties: false });
export type LstmConfig = Static<typeof LstmConfigSchema>;

/** The `charlstm` workload of BENCHMARKS.md (886,880 weights at vocab 96). */
export function defaultLstmConfig(): LstmConfig {
  return { vocabSize: 96, embed: 64, hidden: 256, layers: 2, cell: 'lstm', blockSize: 64 };
}

export function validateLstmConfig(c: LstmConfig): void {
  for (const k of ['vocabSize', 'embed', 'hidden', 'layers', 'blockSize'] as const) {
    check(Number.isInteger(c[k]) && (c[k] as number) > 0, `lstm ${k} must be a positive integer, got ${c[k]}`);
  }
  check(c.cell === 'lstm' || c.cell === 'gru', `lstm cell must be "lstm" or "gru", got "${c.cell}"`);
}

export function gates(c: LstmConfig): number {
  return c.cell === 'gru' ? 3 : 4;
}

/** PyTorch's initialisation: U(-1/sqrt(H), 1/sqrt(H)) for recurrent weights, N(0, 1) embedding, U(+-1/sqrt(in)) head. */
export function initLstmWeights(c: LstmConfig, rng: Rng): Weights {
  validateLstmConfig(c);
  const w: Weights = new Map();
  const G = gates(c) * c.hidden, k = 1 / Math.sqrt(c.hidden);
  w.set('emb', tf.tensor(rng.normalArray(c.vocabSize * c.embed), [c.vocabSize, c.embed]));
  for (let l = 0; l < c.layers; l++) {
    const inDim = l === 0 ? c.embed : c.hidden;
    w.set(`rnn.${l}.wih`, uniform(rng, [inDim, G], k));
    w.set(`rnn.${l}.whh`, uniform(rng, [c.hidden, G], k));
    w.set(`rnn.${l}.bih`, uniform(rng, [G], k));
    w.set(`rnn.${l}.bhh`, uniform(rng, [G], k));
  }
  w.set('head.w', uniform(rng, [c.hidden, c.vocabSize], k));
  w.set('head.b', uniform(rng, [c.vocabSize], k));
  return w;
}

interface State { h: tf.Tensor2D[]; c: tf.Tensor2D[] }

export class Lstm extends ParamStore implements TextModel {
  readonly family = 'lstm' as const;

  constructor(readonly config: LstmConfig, weights: Weights) {
    validateLstmConfig(config);
    super(weights);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  headNames(): string[] {
    return ['head.w', 'head.b'];
  }

  decayNames(): string[] {
    return [...this.params].filter(([, v]) => v.rank >= 2).map(([k]) => k);
  }

  private zeroState(B: number): State {
    const H = this.config.hidden, L = this.config.layers;
    return { h: Array.from({ length: L }, () => tf.zeros([B, H]) as tf.Tensor2D), c: Array.from({ length: L }, () => tf.zeros([B, H]) as tf.Tensor2D) };
  }

  /** One cell update: xw [B, G*H] is the input projection (with bih), h and c [B, H]. */
  private cell(l: number, xw: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D): { h: tf.Tensor2D; c: tf.Tensor2D } {
    const H = this.config.hidden;
    const hw = tf.fused.matMul({ a: h, b: this.p(`rnn.${l}.whh`) as tf.Tensor2D, bias: this.p(`rnn.${l}.bhh`) });
    if (this.config.cell === 'gru') {
      // PyTorch's GRU: r, z, n gates; n = tanh(xn + r * (h Whn + bhn)); h' = (1 - z) n + z h
      const [xr, xz, xn] = tf.split(xw, 3, 1);
      const [hr, hz, hn] = tf.split(hw, 3, 1);
      const r = tf.sigmoid(tf.add(xr, hr)), z = tf.sigmoid(tf.add(xz, hz));
      const n = tf.tanh(tf.add(xn, tf.mul(r, hn)));
      return { h: tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor2D, c };
    }
    return lstmCell(xw, hw as tf.Tensor2D, c);
  }

  /** x [B, T] -> logits [B, T, V] and the final state. */
  private run(x: tf.Tensor2D, state: State): { logits: tf.Tensor3D; state: State } {
    const [B, T] = x.shape;
    const { embed: E, layers: L } = this.config;
    let seq: tf.Tensor = tf.reshape(tf.gather(this.p('emb'), tf.reshape(x, [-1])), [B, T, E]);
    const out: State = { h: [], c: [] };
    for (let l = 0; l < L; l++) {
      // One large GEMM for every step's input projection, then the recurrence.
      const xw = linear(tf.transpose(seq, [1, 0, 2]), this.p(`rnn.${l}.wih`), this.p(`rnn.${l}.bih`)); // (T, B, G*H)
      const steps = tf.unstack(xw) as tf.Tensor2D[];
      let h = state.h[l], c = state.c[l];
      const hs: tf.Tensor2D[] = [];
      for (let t = 0; t < T; t++) {
        ({ h, c } = this.cell(l, steps[t], h, c));
        hs.push(h);
      }
      out.h.push(h); out.c.push(c);
      seq = tf.transpose(tf.stack(hs), [1, 0, 2]); // (B, T, H)
    }
    const logits = linear(seq, this.p('head.w'), this.p('head.b')) as tf.Tensor3D;
    return { logits, state: out };
  }

  logits(x: tf.Tensor2D): tf.Tensor3D {
    return this.run(x, this.zeroState(x.shape[0])).logits;
  }

  stream(): TokenStream {
    let state: State | undefined;
    const drop = () => { state?.h.forEach((t) => t.dispose()); state?.c.forEach((t) => t.dispose()); state = undefined; };
    return {
      feed: (ids: Int32Array): Float32Array => {
        const out = tf.tidy(() => {
          const r = this.run(tf.tensor2d(ids, [1, ids.length], 'int32'), state ?? this.zeroState(1));
          r.state.h.forEach((t) => tf.keep(t)); r.state.c.forEach((t) => tf.keep(t));
          drop();
          state = r.state;
          return tf.slice(r.logits, [0, ids.length - 1, 0], [1, 1, this.vocabSize]);
        });
        const v = out.dataSync() as Float32Array;
        out.dispose();
        return v;
      },
      dispose: drop,
    };
  }

}

export interface Growth {
  /** total recurrent layers after growing (new ones go on top, freshly initialised) */
  layers?: number;
  /** hidden units after widening (every trained weight is kept; the model's function is unchanged at first) */
  hidden?: number;
}

/**
 * Grows a trained LSTM/GRU: widening keeps each trained weight in its gate block and zeroes the
 * connections from new units into old ones and into the head, so the grown model computes the
 * same logits until it trains; new layers on top start from PyTorch's initialisation.
 * Returns the new config, weights (the caller owns them) and the names of newly added weights.
 */
export function growLstm(c: LstmConfig, w: ReadonlyMap<string, tf.Tensor>, g: Growth, rng: Rng): { config: LstmConfig; weights: Weights; added: string[] } {
  const H0 = c.hidden, H = g.hidden ?? H0, L0 = c.layers, L = g.layers ?? L0;
  check(Number.isInteger(H) && H >= H0, `--grow hidden must be a whole number >= the current ${H0}, got ${H}`);
  check(Number.isInteger(L) && L >= L0, `--grow layers must be a whole number >= the current ${L0}, got ${L}`);
  check(H > H0 || L > L0, `--grow must add layers or hidden units (the model has ${L0} layers of ${H0})`);
  const G = gates(c), k = 1 / Math.sqrt(H);
  const config: LstmConfig = { ...c, hidden: H, layers: L };
  const out: Weights = new Map();
  const added: string[] = [];
  const get = (name: string) => w.get(name)!.dataSync() as Float32Array;
  /** Copies an old [rows0, G*H0] gate matrix into a new [rows, G*H] one; new columns random, new rows zero. */
  const widen = (old: Float32Array, rows0: number, rows: number): Float32Array => {
    const a = rng.uniformArray(rows * G * H, -k, k);
    for (let r = rows0; r < rows; r++) a.fill(0, r * G * H, (r + 1) * G * H);
    for (let r = 0; r < rows0; r++) for (let gi = 0; gi < G; gi++) for (let j = 0; j < H0; j++) a[r * G * H + gi * H + j] = old[r * G * H0 + gi * H0 + j];
    return a;
  };
  out.set('emb', w.get('emb')!.clone());
  for (let l = 0; l < L; l++) {
    const p = `rnn.${l}.`, inDim = l === 0 ? c.embed : H;
    if (l < L0) {
      const in0 = l === 0 ? c.embed : H0;
      out.set(p + 'wih', tf.tensor(widen(get(p + 'wih'), in0, inDim), [inDim, G * H]));
      out.set(p + 'whh', tf.tensor(widen(get(p + 'whh'), H0, H), [H, G * H]));
      out.set(p + 'bih', tf.tensor(widen(get(p + 'bih'), 1, 1), [G * H]));
      out.set(p + 'bhh', tf.tensor(widen(get(p + 'bhh'), 1, 1), [G * H]));
    } else {
      out.set(p + 'wih', uniform(rng, [inDim, G * H], k));
      out.set(p + 'whh', uniform(rng, [H, G * H], k));
      out.set(p + 'bih', uniform(rng, [G * H], k));
      out.set(p + 'bhh', uniform(rng, [G * H], k));
      added.push(p + 'wih', p + 'whh', p + 'bih', p + 'bhh');
    }
  }
  const hw = new Float32Array(H * c.vocabSize);
  hw.set(get('head.w'));
  out.set('head.w', tf.tensor(hw, [H, c.vocabSize]));
  out.set('head.b', w.get('head.b')!.clone());
  return { config, weights: out, added };
}
