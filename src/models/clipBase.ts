// What every clip generator holds: the text encoder that reads the words (`text.*`) and the frozen
// frame autoencoder (`ae.*`, trained before by `genlab train frame-ae`) whose latents it makes.
import * as tf from '@tensorflow/tfjs-core';
import type { Weights } from '../nn/layers.js';
import { ParamStore } from '../nn/params.js';
import { FrameAe, type FrameAeConfig } from './frameAe.js';
import { TextEncoder, type TextEncoderConfig, type TextEncoding } from './textEncoder.js';

export class ClipModelBase extends ParamStore {
  readonly text: TextEncoder;
  readonly ae: FrameAe;

  constructor(c: { text: TextEncoderConfig; ae: FrameAeConfig; latentScale: number }, weights: Weights) {
    const ae: Weights = new Map(), rest: Weights = new Map();
    for (const [k, t] of weights) (k.startsWith('ae.') ? ae : rest).set(k, t);
    super(rest);
    this.ae = new FrameAe(c.ae, new Map([...ae].map(([k, t]) => [k.slice(3), t])));
    for (const [k, v] of this.ae.params) this.params.set(`ae.${k}`, v);
    this.text = new TextEncoder(c.text, (n) => this.p(n));
    this.scale = c.latentScale;
  }

  private readonly scale: number;

  /** Encoder texts ('' is the empty prompt of classifier-free guidance). */
  encodeText(texts: readonly string[]): TextEncoding {
    return this.text.encodeTexts(texts);
  }

  /** Scaled latents [N, 16, 16, latent] to frames [N, 64, 64, 3] in [0, 1]. */
  decode(z: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.clipByValue(this.ae.decode(tf.div(z, this.scale) as tf.Tensor4D), 0, 1));
  }

  /** Frames [N, 64, 64, 3] to scaled latents (the posterior mean). */
  encodeFrames(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => tf.mul(this.ae.encode(x).mu, this.scale));
  }
}
