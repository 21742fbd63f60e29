// A character-level GPT in the shape of nanoGPT (Karpathy): pre-norm blocks of causal
// self-attention and an MLP, tied input/output embeddings, generation with a KV cache.
import * as tf from '@tensorflow/tfjs-core';
import { causalSoftmax, ownVariable, gelu, layerNorm, linear, normal, type Weights } from '../nn/layers.js';
import { check, Type, type Static } from '../util/config.js';
import { ParamStore } from '../nn/params.js';
import type { Rng } from '../util/rng.js';
import type { TextModel, TokenStream } from './types.js';

export const GptConfigSchema = Type.Object({
  vocabSize: Type.Integer({ minimum: 1, description: 'characters in the vocabulary (set from the tokenizer)' }),
  blockSize: Type.Integer({ minimum: 1, description: 'longest context in tokens' }),
  nLayer: Type.Integer({ minimum: 1, description: 'transformer blocks' }),
  nHead: Type.Integer({ minimum: 1, description: 'attention heads per block' }),
  nEmbd: Type.Integer({ minimum: 1, description: 'embedding width' }),
  untiedHead: Type.Boolean({ description: 'a separate output matrix instead of the transposed token embedding (set by head fine-tuning)' }),
}, { additionalProperties: false });
export type GptConfig = Static<typeof GptConfigSchema>;

/** nanoGPT's CPU configuration: the `gpt` workload of BENCHMARKS.md (813,824 weights at vocab 96). */
export function defaultGptConfig(): GptConfig {
  return { vocabSize: 96, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, untiedHead: false };
}

export function validateGptConfig(c: GptConfig): void {
  for (const k of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    check(Number.isInteger(c[k]) && c[k] > 0, `gpt ${k} must be a positive integer, got ${c[k]}`);
  }
  check(c.nEmbd % c.nHead === 0, `gpt nEmbd (${c.nEmbd}) must be a multiple of nHead (${c.nHead})`);
}

/** nanoGPT's initialisation: N(0, 0.02), zero biases, unit norms, residual projections N(0, 0.02 / sqrt(2 L)). */
export function initGptWeights(c: GptConfig, rng: Rng): Weights {
  validateGptConfig(c);
  const C = c.nEmbd, w: Weights = new Map();
  const resStd = 0.02 / Math.sqrt(2 * c.nLayer);
  w.set('wte', normal(rng, [c.vocabSize, C], 0.02));
  w.set('wpe', normal(rng, [c.blockSize, C], 0.02));
  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}.`;
    w.set(p + 'ln1.g', tf.ones([C])); w.set(p + 'ln1.b', tf.zeros([C]));
    w.set(p + 'attn.qkv.w', normal(rng, [C, 3 * C], 0.02)); w.set(p + 'attn.qkv.b', tf.zeros([3 * C]));
    w.set(p + 'attn.proj.w', normal(rng, [C, C], resStd)); w.set(p + 'attn.proj.b', tf.zeros([C]));
    w.set(p + 'ln2.g', tf.ones([C])); w.set(p + 'ln2.b', tf.zeros([C]));
    w.set(p + 'mlp.fc.w', normal(rng, [C, 4 * C], 0.02)); w.set(p + 'mlp.fc.b', tf.zeros([4 * C]));
    w.set(p + 'mlp.out.w', normal(rng, [4 * C, C], resStd)); w.set(p + 'mlp.out.b', tf.zeros([C]));
  }
  w.set('ln_f.g', tf.ones([C])); w.set('ln_f.b', tf.zeros([C]));
  if (c.untiedHead) w.set('head.w', normal(rng, [C, c.vocabSize], 0.02));
  return w;
}

interface KV { k: tf.Tensor4D; v: tf.Tensor4D }

export class Gpt extends ParamStore implements TextModel {
  readonly family = 'gpt' as const;

  constructor(readonly config: GptConfig, weights: Weights) {
    validateGptConfig(config);
    super(weights);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** Unties the output layer: `head.w` starts as a copy of the token embedding (for head-only fine-tuning). */
  untieHead(): void {
    if (this.config.untiedHead) return;
    this.params.set('head.w', ownVariable(tf.transpose(this.p('wte')), true));
    this.config.untiedHead = true;
  }

  headNames(): string[] {
    return this.config.untiedHead ? ['ln_f.g', 'ln_f.b', 'head.w'] : ['ln_f.g', 'ln_f.b', 'wte'];
  }

  decayNames(): string[] {
    return [...this.params].filter(([, v]) => v.rank >= 2).map(([k]) => k);
  }

  logits(x: tf.Tensor2D): tf.Tensor3D {
    return this.forward(x, 0).logits;
  }

  /**
   * Tokens x [B, Tn] at positions pos0 .. pos0+Tn-1, attending to `past` keys and values
   * (one entry per layer, [B, nh, pos0, hs]) and to each other causally.
   */
  private forward(x: tf.Tensor2D, pos0: number, past?: KV[]): { logits: tf.Tensor3D; present: KV[] } {
    const { nLayer, nHead, nEmbd: C } = this.config;
    const [B, Tn] = x.shape;
    const T = pos0 + Tn, hs = C / nHead;
    if (T > this.config.blockSize) throw new Error(`gpt: ${T} positions exceed blockSize ${this.config.blockSize}`);
    const present: KV[] = [];
    const tok = tf.reshape(tf.gather(this.p('wte'), tf.reshape(x, [-1])), [B, Tn, C]);
    const pos = tf.slice(this.p('wpe'), [pos0, 0], [Tn, C]);
    let h: tf.Tensor = tf.add(tok, pos); // (B, Tn, C)
    for (let l = 0; l < nLayer; l++) {
      const p = `h.${l}.`;
      const qkv = linear(layerNorm(h, this.p(p + 'ln1.g'), this.p(p + 'ln1.b')), this.p(p + 'attn.qkv.w'), this.p(p + 'attn.qkv.b'));
      const toHeads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, Tn, nHead, hs]), [0, 2, 1, 3]) as tf.Tensor4D;
      let [q, k, v] = tf.split(qkv, 3, 2).map(toHeads); // (B, nh, Tn, hs) each
      if (past) {
        k = tf.concat([past[l].k, k], 2);
        v = tf.concat([past[l].v, v], 2);
      }
      present.push({ k, v });
      // query i (at pos0 + i) sees keys j <= pos0 + i
      const att = causalSoftmax(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs), pos0); // (B, nh, Tn, T)
      const y = tf.matMul(att, v); // (B, nh, Tn, hs)
      const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B, Tn, C]);
      h = tf.add(h, linear(merged, this.p(p + 'attn.proj.w'), this.p(p + 'attn.proj.b')));
      const m = linear(layerNorm(h, this.p(p + 'ln2.g'), this.p(p + 'ln2.b')), this.p(p + 'mlp.fc.w'), this.p(p + 'mlp.fc.b'));
      h = tf.add(h, linear(gelu(m), this.p(p + 'mlp.out.w'), this.p(p + 'mlp.out.b')));
    }
    h = layerNorm(h, this.p('ln_f.g'), this.p('ln_f.b'));
    const flat = tf.reshape(h, [-1, C]);
    const lg = this.config.untiedHead ? tf.matMul(flat, this.p('head.w')) : tf.matMul(flat, this.p('wte'), false, true);
    return { logits: tf.reshape(lg, [B, Tn, this.config.vocabSize]), present };
  }

  /**
   * Generation with a KV cache while the text fits the context; past blockSize tokens it
   * recomputes over the last blockSize tokens each step (nanoGPT's sliding window, exactly).
   */
  stream(): TokenStream {
    const block = this.config.blockSize;
    let cache: KV[] | undefined;
    let cached = 0;
    const history: number[] = [];
    const drop = () => { cache?.forEach((kv) => { kv.k.dispose(); kv.v.dispose(); }); cache = undefined; cached = 0; };
    return {
      feed: (ids: Int32Array): Float32Array => {
        for (const id of ids) history.push(id);
        if (history.length > block) drop();
        const useCache = history.length <= block;
        const fresh = useCache ? history.slice(cached) : history.slice(-block);
        const out = tf.tidy(() => {
          const x = tf.tensor2d(fresh, [1, fresh.length], 'int32');
          const r = this.forward(x, useCache ? cached : 0, useCache ? cache : undefined);
          const last = tf.slice(r.logits, [0, fresh.length - 1, 0], [1, 1, this.vocabSize]);
          if (useCache) {
            for (const kv of r.present) { tf.keep(kv.k); tf.keep(kv.v); }
            drop();
            cache = r.present;
            cached = history.length;
          }
          return last;
        });
        const v = out.dataSync() as Float32Array;
        out.dispose();
        return v;
      },
      dispose: drop,
    };
  }
}
