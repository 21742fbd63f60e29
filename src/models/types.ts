import type * as tf from '@tensorflow/tfjs-core';

/** Incremental generation: feed tokens, get the logits [vocab] that follow the last one. */
export interface TokenStream {
  feed(ids: Int32Array): Float32Array;
  dispose(): void;
}

/** What the trainer, the sampler and fine-tuning need from a character-level language model. */
export interface TextModel {
  readonly family: 'gpt' | 'lstm';
  readonly vocabSize: number;
  /** The model's config, as saved in a checkpoint. */
  readonly config: Record<string, number | string | boolean>;
  /** Every weight by name, in a stable order. */
  readonly params: Map<string, tf.Variable>;
  /** x [B, T] int32 -> logits [B, T, V] */
  logits(x: tf.Tensor2D): tf.Tensor3D;
  /** Names of the output layer(s): what `finetune --train head` trains. */
  headNames(): string[];
  /** Names that get weight decay (matrices; not biases or norms). */
  decayNames(): string[];
  stream(): TokenStream;
  dispose(): void;
}
