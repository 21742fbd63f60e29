import type * as tf from '@tensorflow/tfjs-core';
import { ownVariable, type Weights } from './layers.js';

/** Named trainable weights, taken over from a Weights map. */
export class ParamStore {
  readonly params = new Map<string, tf.Variable>();

  constructor(weights: Weights) {
    for (const [name, t] of weights) this.params.set(name, ownVariable(t, true));
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`missing weight ${name}`);
    return v;
  }

  /** The weights whose names start with `prefix`. */
  subset(prefix: string): Map<string, tf.Variable> {
    return new Map([...this.params].filter(([k]) => k.startsWith(prefix)));
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
