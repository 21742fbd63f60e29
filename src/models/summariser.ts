// The summariser (issue 15: summarisation with a transformer): a word-level GPT (src/models/gpt.ts)
// reads a long, chatty description and writes its reading in the caption grammar after a [sep]
// ("... no wait, an 8 ... not green: blue ..." [sep] "a large blue 8 moving left fast" [eos]).
// Trained on the target words only; greedy decoding.
import * as tf from '@tensorflow/tfjs-core';
import type { Weights } from '../nn/layers.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { Gpt, GptConfigSchema, initGptWeights } from './gpt.js';
import { maskedCrossEntropy } from './seq2seq.js';

export const SUMMARY_SPECIALS = ['[pad]', '[bos]', '[sep]', '[eos]', '[unk]'] as const;
const PAD = 0, BOS = 1, SEP = 2, EOS = 3, UNK = 4;

export const SummariserConfigSchema = Type.Object({
  gpt: GptConfigSchema,
  maxSummary: Type.Integer({ minimum: 2, maximum: 32, description: 'summary words at most, [eos] included' }),
  vocab: Type.Array(Type.String(), { minItems: 6, description: 'words, the specials first' }),
}, { additionalProperties: false });
export type SummariserConfig = Static<typeof SummariserConfigSchema>;

export function initSummariserWeights(c: SummariserConfig, rng: Rng): Weights {
  return initGptWeights(c.gpt, rng);
}

export class Summariser {
  private readonly gpt: Gpt;
  readonly ids: Map<string, number>;
  constructor(readonly config: SummariserConfig, weights: Weights) {
    this.gpt = new Gpt(config.gpt, weights);
    this.ids = new Map(config.vocab.map((w, i) => [w, i]));
  }

  get params(): Map<string, tf.Variable> {
    return this.gpt.params;
  }

  dispose(): void {
    this.gpt.dispose();
  }

  /** Source words as ids, cut from the front where too long to leave room for the summary. */
  private source(words: readonly string[]): number[] {
    const room = this.config.gpt.blockSize - this.config.maxSummary - 2;
    return [BOS, ...words.slice(Math.max(0, words.length - room)).map((w) => this.ids.get(w) ?? UNK), SEP];
  }

  /** Mean cross-entropy of the summaries' words (and [eos]) given the descriptions. */
  loss(texts: readonly string[][], summaries: readonly string[][]): tf.Scalar {
    const T = this.config.gpt.blockSize, B = texts.length;
    const x = new Int32Array(B * T), y = new Int32Array(B * T), mask = new Float32Array(B * T);
    texts.forEach((t, b) => {
      const src = this.source(t), tgt = [...summaries[b].slice(0, this.config.maxSummary - 1).map((w) => this.ids.get(w) ?? UNK), EOS];
      const seq = [...src, ...tgt].slice(0, T + 1);
      for (let i = 0; i + 1 < seq.length; i++) {
        x[b * T + i] = seq[i]; y[b * T + i] = seq[i + 1];
        if (i + 1 >= src.length) mask[b * T + i] = 1; // predict only the summary
      }
    });
    return maskedCrossEntropy(this.gpt.logits(tf.tensor2d(x, [B, T], 'int32')), y, mask);
  }

  /** The summary of one description (its words), greedy. */
  summarise(words: readonly string[]): string[] {
    const seq = this.source(words), out: string[] = [];
    for (let k = 0; k < this.config.maxSummary; k++) {
      const id = tf.tidy(() => {
        const lg = this.gpt.logits(tf.tensor2d(Int32Array.from(seq), [1, seq.length], 'int32'));
        const last = tf.slice(lg, [0, seq.length - 1, 0], [1, 1, -1]);
        // never the specials but [eos]
        const ban = tf.tensor1d(this.config.vocab.map((_, i) => (i === EOS || i > UNK ? 0 : -1e9)));
        return tf.argMax(tf.add(tf.reshape(last, [-1]), ban)).dataSync()[0];
      });
      if (id === EOS) break;
      out.push(this.config.vocab[id]);
      seq.push(id);
    }
    return out;
  }
}
