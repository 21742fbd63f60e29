// The clip captioner (issue 15: image captioning with a recurrent network): a small CNN reads
// each of the 16 frames, a bidirectional LSTM runs over the frames (motion is a change of
// position between them), and an LSTM decoder with Luong attention over the frame states writes
// the caption in the clip world's English ("a small red 3 moving left fast"). Greedy or beam.
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, convWeights, linearWeights, normWeights } from '../nn/conv.js';
import { layerNorm, linear, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { attentionDecoderLogits, attentionDecoderWeights, beamSearch, biLstmMemory, biLstmWeights, BOS, maskedCrossEntropy, teacherForcing, UNK } from './seq2seq.js';

export const CaptionerConfigSchema = Type.Object({
  dim: Type.Integer({ minimum: 4, maximum: 1024, description: 'frame feature, LSTM and decoder width' }),
  c1: Type.Integer({ minimum: 1, maximum: 512, description: 'channels of the first convolution (8x8, stride 4: 64x64 to 16x16)' }),
  c2: Type.Integer({ minimum: 1, maximum: 512, description: 'channels at 8x8' }),
  c3: Type.Integer({ minimum: 1, maximum: 512, description: 'channels at 4x4' }),
  g1: Type.Integer({ minimum: 1, maximum: 512, description: 'channels of the glimpse CNN at 12x12 (the object cropped to 24x24)' }),
  g2: Type.Integer({ minimum: 1, maximum: 512, description: 'channels of the glimpse CNN at 6x6' }),
  frames: Type.Integer({ minimum: 1, maximum: 64 }),
  maxTgt: Type.Integer({ minimum: 2, maximum: 64, description: 'caption words at most, [eos] included' }),
  vocab: Type.Array(Type.String(), { minItems: 5, description: 'caption words (the specials first)' }),
}, { additionalProperties: false });
export type CaptionerConfig = Static<typeof CaptionerConfigSchema>;

export function initCaptionerWeights(c: CaptionerConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  convWeights(w, 'cnn.c1', rng, 8, 3, c.c1);
  convWeights(w, 'cnn.c2', rng, 3, c.c1, c.c2);
  convWeights(w, 'cnn.c3', rng, 3, c.c2, c.c3);
  convWeights(w, 'glimpse.c1', rng, 3, 1, c.g1);
  convWeights(w, 'glimpse.c2', rng, 3, c.g1, c.g2);
  linearWeights(w, 'cnn.fc', rng, 17 * c.c3 + 36 * c.g2 + GEOMETRY, c.dim);
  normWeights(w, 'cnn.ln', c.dim);
  biLstmWeights(w, 'time', rng, c.dim, c.dim);
  attentionDecoderWeights(w, rng, c.dim, c.dim, c.vocab.length);
  return w;
}

const GLIMPSE = 24, GEOMETRY = 4;

/**
 * Each frame's object as a square glimpse, cut from the frame's grey (brightest channel) around the
 * box of its lit pixels, and that box [cx, cy, w, h] / 64. Both come from the input only (no gradient):
 * the glimpse makes the digit the same size wherever it is and however large, as MNIST's are.
 */
export function objectGlimpse(frames: tf.Tensor4D): { glimpse: tf.Tensor4D; box: tf.Tensor2D } {
  return tf.tidy(() => {
    const N = frames.shape[0], S = frames.shape[1];
    const grey = tf.max(frames, 3, true) as tf.Tensor4D, lit = tf.greater(tf.squeeze(grey, [3]), 0.2);
    const edges = (m: tf.Tensor2D) => { // first and last lit index of each row of m [N, S] (an empty frame: the whole side)
      const any = tf.any(m, 1), first = tf.argMax(tf.cast(m, 'int32'), 1), last = tf.sub(S - 1, tf.argMax(tf.reverse(tf.cast(m, 'int32'), 1), 1));
      return [tf.where(any, tf.cast(first, 'float32'), tf.zerosLike(first).toFloat()), tf.where(any, tf.cast(last, 'float32'), tf.fill([N], S - 1))];
    };
    const [top, bottom] = edges(tf.any(lit, 2) as tf.Tensor2D), [left, right] = edges(tf.any(lit, 1) as tf.Tensor2D);
    const cy = tf.div(tf.add(top, bottom), 2), cx = tf.div(tf.add(left, right), 2);
    const h = tf.add(tf.sub(bottom, top), 1), w = tf.add(tf.sub(right, left), 1);
    const half = tf.div(tf.add(tf.mul(tf.maximum(h, w), 1.15), 2), 2);
    const boxes = tf.div(tf.stack([tf.sub(cy, half), tf.sub(cx, half), tf.add(cy, half), tf.add(cx, half)], 1), S - 1) as tf.Tensor2D;
    const glimpse = tf.image.cropAndResize(grey, boxes, tf.range(0, N, 1, 'int32') as tf.Tensor1D, [GLIMPSE, GLIMPSE], 'bilinear', 0);
    return { glimpse, box: tf.div(tf.stack([cx, cy, w, h], 1), S) as tf.Tensor2D };
  });
}

export class Captioner extends ParamStore {
  readonly words: Map<string, number>;

  constructor(readonly config: CaptionerConfig, weights: Weights) {
    super(weights);
    this.words = new Map(config.vocab.map((w, i) => [w, i]));
  }

  /** Frames [B * frames, 64, 64, 3] in [0, 1] to the decoder's memory [B, frames, dim] and first state. */
  encode(frames: tf.Tensor4D): { mem: tf.Tensor3D; h0: tf.Tensor2D } {
    const c = this.config, p = (n: string) => this.p(n), B = frames.shape[0] / c.frames;
    if (frames.shape[1] !== 64 || frames.shape[2] !== 64 || frames.shape[3] !== 3 || !Number.isInteger(B)) throw new RangeError(`captioner: frames must be [B * ${c.frames}, 64, 64, 3], got [${frames.shape}]`);
    // black stays 0 (the canvas adds nothing), and the frame features are layer-normalised: without
    // both, the constant background dominated them, the LSTM saturated and every clip read the same
    let x = tf.relu(conv2d(frames, p('cnn.c1.w'), p('cnn.c1.b'), 4, 2)) as tf.Tensor4D; // 16x16
    x = tf.relu(conv2d(x, p('cnn.c2.w'), p('cnn.c2.b'), 2, 1)) as tf.Tensor4D; // 8x8
    x = tf.relu(conv2d(x, p('cnn.c3.w'), p('cnn.c3.b'), 2, 1)) as tf.Tensor4D; // 4x4: where the object is stays in the layout
    // the 4x4 layout says where the object is; its maximum over the layout says what it is, wherever it is
    // the glimpse says which digit it is, its box where it is and how large
    const { glimpse, box } = objectGlimpse(frames);
    let g = tf.relu(conv2d(glimpse, p('glimpse.c1.w'), p('glimpse.c1.b'), 2, 1)) as tf.Tensor4D; // 12x12
    g = tf.relu(conv2d(g, p('glimpse.c2.w'), p('glimpse.c2.b'), 2, 1)) as tf.Tensor4D; // 6x6
    const feats = tf.concat([tf.reshape(x, [B * c.frames, 16 * c.c3]), tf.max(x, [1, 2]), tf.reshape(g, [B * c.frames, 36 * c.g2]), box], 1);
    const f = layerNorm(tf.relu(linear(feats, p('cnn.fc.w'), p('cnn.fc.b'))), p('cnn.ln.g'), p('cnn.ln.b'));
    return biLstmMemory(p, 'time', tf.reshape(f, [B, c.frames, c.dim]) as tf.Tensor3D, undefined, c.dim);
  }

  /** Mean cross-entropy of captions (word lists) of clips frames [B * frames, 64, 64, 3]; `wordDropout` hides input words (training only). */
  loss(frames: tf.Tensor4D, captions: readonly string[][], wordDropout?: { p: number; rng: Rng }): tf.Scalar {
    const { T, tin, tout, mask } = teacherForcing(captions.map((t) => t.map((w) => this.words.get(w) ?? UNK)), this.config.maxTgt);
    if (wordDropout) for (let i = 0; i < tin.length; i++) if (i % T > 0 && wordDropout.rng.next() < wordDropout.p) tin[i] = UNK; // never [bos]
    const { mem, h0 } = this.encode(frames);
    return maskedCrossEntropy(attentionDecoderLogits((n) => this.p(n), mem, undefined, h0, tf.tensor2d(tin, [captions.length, T], 'int32')), tout, mask);
  }

  /** Captions of clips [B * frames, 64, 64, 3] by beam search (beam 1: greedy), as word lists. */
  caption(frames: tf.Tensor4D, beam = 1): string[][] {
    const B = frames.shape[0] / this.config.frames, out: string[][] = [];
    for (let b = 0; b < B; b++) {
      const enc = tf.tidy(() => {
        const e = this.encode(tf.slice(frames, [b * this.config.frames, 0, 0, 0], [this.config.frames, -1, -1, -1]));
        return [e.mem, e.h0] as [tf.Tensor3D, tf.Tensor2D];
      });
      try {
        const ids = beamSearch((prefixes) => {
          const lp = tf.tidy(() => {
            const n = prefixes.length, t = prefixes[0].length;
            const tin = tf.tensor2d(Int32Array.from(prefixes.flatMap((h) => [BOS, ...h])), [n, t + 1], 'int32');
            const mem = tf.tile(enc[0], [n, 1, 1]) as tf.Tensor3D, h0 = tf.tile(enc[1], [n, 1]) as tf.Tensor2D;
            return tf.logSoftmax(tf.reshape(tf.slice(attentionDecoderLogits((k) => this.p(k), mem, undefined, h0, tin), [0, t, 0], [-1, 1, -1]), [n, -1]));
          });
          const rows = lp.arraySync() as number[][];
          lp.dispose();
          return rows;
        }, this.config.maxTgt, beam);
        out.push(ids.map((id) => this.config.vocab[id]));
      } finally {
        tf.dispose(enc);
      }
    }
    return out;
  }
}
