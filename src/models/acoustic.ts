// The acoustic model (issue 15: speech recognition with a recurrent network): 16 kHz audio to
// log-mel frames (25 ms windows every 10 ms, 40 mel bands, normalised per utterance), 6 frames
// stacked to one step of 60 ms, a stack of bidirectional LSTMs, and a softmax over the spoken
// prompt words plus CTC's blank. Word units, not letters: the prompt vocabulary is closed (CLIPS.md).
import * as tf from '@tensorflow/tfjs-core';
import { linearWeights } from '../nn/conv.js';
import { ctcBeam, ctcGreedy, ctcLoss, type BeamPrior } from '../nn/ctc.js';
import { linear, uniform, type Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { Type, type Static } from '../util/config.js';
import type { Rng } from '../util/rng.js';
import { lstmWeights, runLstm } from './seq2seq.js';

export const AcousticConfigSchema = Type.Object({
  mels: Type.Integer({ minimum: 8, maximum: 128, description: 'mel bands' }),
  stack: Type.Integer({ minimum: 1, maximum: 16, description: '10 ms frames stacked into one recurrent step' }),
  dim: Type.Integer({ minimum: 4, maximum: 1024, description: 'LSTM width of each direction' }),
  layers: Type.Integer({ minimum: 1, maximum: 6, description: 'bidirectional LSTM layers' }),
  conv: Type.Optional(Type.Integer({ minimum: 0, maximum: 64, description: 'channels of a convolutional front end (two 3x3 convolutions over time and mel bands, stride 2 across the bands) whose features add to the stacked frames\' linear projection before the LSTMs; 0 or absent: none' })),
  vocab: Type.Array(Type.String(), { minItems: 2, description: 'output words, CTC blank first' }),
}, { additionalProperties: false });
export type AcousticConfig = Static<typeof AcousticConfigSchema>;

const RATE = 16_000, WIN = 400, HOP = 160, NFFT = 512, BINS = NFFT / 2 + 1;

// The short-time spectrum as two matrix products with a Hann-windowed DFT basis: TensorFlow.js's
// tf.signal.stft needs an FFT kernel that the wasm backend lacks, and on BLAS the product is fast.
let basis: { re: tf.Tensor2D; im: tf.Tensor2D; mel: Map<number, tf.Tensor2D> } | undefined;
function dft(mels: number): { re: tf.Tensor2D; im: tf.Tensor2D; mel: tf.Tensor2D } {
  if (!basis) {
    const re = new Float32Array(WIN * BINS), im = new Float32Array(WIN * BINS);
    for (let n = 0; n < WIN; n++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WIN);
      for (let k = 0; k < BINS; k++) { re[n * BINS + k] = w * Math.cos((2 * Math.PI * n * k) / NFFT); im[n * BINS + k] = -w * Math.sin((2 * Math.PI * n * k) / NFFT); }
    }
    basis = { re: tf.keep(tf.tensor2d(re, [WIN, BINS])), im: tf.keep(tf.tensor2d(im, [WIN, BINS])), mel: new Map() };
  }
  let mel = basis.mel.get(mels);
  if (!mel) { mel = tf.keep(tf.tensor2d(melFilterbank(mels), [BINS, mels])); basis.mel.set(mels, mel); }
  return { re: basis.re, im: basis.im, mel };
}

/** Triangular mel filters [BINS, mels] from 20 Hz to 8 kHz (HTK's mel scale). */
export function melFilterbank(mels: number): Float32Array {
  const toMel = (f: number) => 2595 * Math.log10(1 + f / 700), toHz = (m: number) => 700 * (10 ** (m / 2595) - 1);
  const lo = toMel(20), hi = toMel(RATE / 2), pts = Array.from({ length: mels + 2 }, (_, i) => toHz(lo + ((hi - lo) * i) / (mels + 1)));
  const fb = new Float32Array(BINS * mels);
  for (let m = 0; m < mels; m++) {
    for (let k = 0; k < BINS; k++) {
      const f = (k * RATE) / NFFT, up = (f - pts[m]) / (pts[m + 1] - pts[m]), down = (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]);
      fb[k * mels + m] = Math.max(0, Math.min(up, down));
    }
  }
  return fb;
}

/** Log-mel features [frames, mels] of 16 kHz samples, each band normalised to mean 0 and variance 1 over the utterance (a level change does nothing). */
export function logMel(samples: Float32Array, mels: number): tf.Tensor2D {
  const T = Math.max(1, 1 + Math.floor((samples.length - WIN) / HOP)), x = new Float32Array(T * WIN);
  for (let t = 0; t < T; t++) x.set(samples.subarray(t * HOP, Math.min(samples.length, t * HOP + WIN)), t * WIN);
  const b = dft(mels);
  return tf.tidy(() => {
    const fr = tf.tensor2d(x, [T, WIN]), re = tf.matMul(fr, b.re), im = tf.matMul(fr, b.im);
    const lm = tf.log(tf.add(tf.matMul(tf.add(tf.square(re), tf.square(im)), b.mel), 1e-6));
    const { mean, variance } = tf.moments(lm, 0, true);
    return tf.div(tf.sub(lm, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor2D;
  });
}

/** Mel bands left after the front end's two stride-2 convolutions: 'same' padding gives ceil(in / stride) per axis (not a numeric padding of 1, which tfjs 4.22 sizes with the height's stride on both axes). */
const frontBands = (mels: number) => Math.ceil(Math.ceil(mels / 2) / 2);

export function initAcousticWeights(c: AcousticConfig, rng: Rng): Weights {
  const w: Weights = new Map(), C = c.conv ?? 0;
  // He et al. 2015's uniform init (ReLU follows) keeps the signal's scale, where PyTorch's default shrinks it about 6 times over
  // the two convolutions
  if (C > 0) for (const [l, cin] of [['c0', 1], ['c1', C]] as const) { w.set(`${l}.w`, uniform(rng, [3, 3, cin, C], Math.sqrt(6 / (9 * cin)))); w.set(`${l}.b`, tf.zeros([C])); }
  linearWeights(w, 'in', rng, c.mels * c.stack, c.dim);
  const nc = c.stack * frontBands(c.mels) * C;
  // 0 at the start, so that a new run begins as the plain model does (no bias of its own: in.b is there)
  if (C > 0) w.set('inc.w', tf.zeros([nc, c.dim]));
  for (let l = 0; l < c.layers; l++) { const I = l === 0 ? c.dim : 2 * c.dim; lstmWeights(w, `l${l}.fw`, rng, I, c.dim); lstmWeights(w, `l${l}.bw`, rng, I, c.dim); }
  linearWeights(w, 'out', rng, 2 * c.dim, c.vocab.length);
  return w;
}

/** A batch of utterances' features, padded: x [B, steps, mels * stack] and each one's steps. */
export interface FeatureBatch { x: tf.Tensor3D; steps: number[] }

export class AcousticModel extends ParamStore {
  readonly ids: Map<string, number>;
  constructor(readonly config: AcousticConfig, weights: Weights) {
    super(weights);
    this.ids = new Map(config.vocab.map((w, i) => [w, i]));
  }

  /** Pads and stacks log-mel features [frames, mels] of each utterance. */
  batch(feats: readonly Float32Array[]): FeatureBatch {
    const { mels, stack } = this.config, steps = feats.map((f) => Math.max(1, Math.ceil(f.length / mels / stack))), S = Math.max(...steps);
    const x = new Float32Array(feats.length * S * stack * mels);
    feats.forEach((f, b) => x.set(f, b * S * stack * mels));
    return { x: tf.tensor3d(x, [feats.length, S, stack * mels]), steps };
  }

  /** Log-probabilities [B, steps, vocab]. */
  logits(fb: FeatureBatch): tf.Tensor3D {
    const c = this.config, p = (n: string) => this.p(n), [B, S] = fb.x.shape;
    const masks = Array.from({ length: S }, (_, t) => tf.tensor2d(fb.steps.map((s) => (t < s ? 1 : 0)), [B, 1]));
    // the front end's features add to the stacked frames' projection, whose weights start at 0: fed its features alone, and
    // added with a random projection, a conv=16 run sat at CTC's all-blank loss for 500-1,000 steps, where the plain model left it by 750
    const x0 = linear(fb.x, p('in.w'), p('in.b'));
    let xs = tf.unstack(tf.relu((c.conv ?? 0) > 0 ? tf.add(x0, linear(this.front(fb), p('inc.w'))) : x0), 1) as tf.Tensor2D[];
    for (let l = 0; l < c.layers; l++) {
      const fw = runLstm(p, `l${l}.fw`, xs, masks, c.dim), bw = runLstm(p, `l${l}.bw`, [...xs].reverse(), [...masks].reverse(), c.dim);
      const back = [...bw.hs].reverse();
      xs = fw.hs.map((h, t) => tf.concat([h, back[t]], 1));
    }
    return tf.logSoftmax(linear(tf.stack(xs, 1), p('out.w'), p('out.b'))) as tf.Tensor3D;
  }

  /**
   * The convolutional front end: the frames [B, steps * stack, mels, 1] through two 3x3 convolutions
   * (ReLU; stride 1 in time, 2 across the bands), regrouped into steps [B, steps, stack * bands * C].
   * A filter that slides across the bands sees a formant the same wherever a voice puts it. Frames past an
   * utterance's last step are set to 0 after each convolution, as the padding of one alone is, so that a
   * shorter utterance's outputs do not depend on its batch.
   */
  private front(fb: FeatureBatch): tf.Tensor3D {
    const c = this.config, C = c.conv ?? 0, [B, S] = fb.x.shape, F = S * c.stack, p = (n: string) => this.p(n) as tf.Tensor4D;
    const live = tf.tensor4d(fb.steps.flatMap((s) => Array.from({ length: F }, (_, f) => (f < s * c.stack ? 1 : 0))), [B, F, 1, 1]);
    let h = tf.reshape(fb.x, [B, F, c.mels, 1]) as tf.Tensor4D;
    for (const l of ['c0', 'c1']) h = tf.mul(tf.relu(tf.fused.conv2d({ x: h, filter: p(`${l}.w`), strides: [1, 2], pad: 'same', bias: this.p(`${l}.b`) })), live);
    return tf.reshape(h, [B, S, c.stack * frontBands(c.mels) * C]);
  }

  /** Mean CTC loss (per word) of transcripts (word lists; words outside the vocabulary are an error). */
  loss(fb: FeatureBatch, words: readonly string[][]): tf.Scalar {
    const labels = words.map((ws) => ws.map((w) => { const id = this.ids.get(w); if (id === undefined || id === 0) throw new RangeError(`acoustic model: "${w}" is not in its vocabulary`); return id; }));
    return ctcLoss(this.logits(fb), labels, fb.steps);
  }

  /** Each utterance's log-probability rows [steps][vocab], its padding cut off. */
  logRows(fb: FeatureBatch): number[][][] {
    const lp = tf.tidy(() => this.logits(fb)), rows = lp.arraySync() as number[][][];
    lp.dispose();
    return rows.map((r, b) => r.slice(0, fb.steps[b]));
  }

  /** One utterance's words from its rows: greedy (beam 1 without a prior) or prefix beam search, with a prior over label-id lists where given. */
  decode(rows: readonly number[][], beam = 1, prior?: BeamPrior): string[] {
    return (beam === 1 && !prior ? ctcGreedy(rows) : ctcBeam(rows, beam, prior)).map((id) => this.config.vocab[id]);
  }

  /** Transcripts (word lists) of a batch (decode, without a prior). */
  transcribe(fb: FeatureBatch, beam = 1): string[][] {
    return this.logRows(fb).map((r) => this.decode(r, beam));
  }
}
