// Ops that have a fused kernel on some backends and a composite form everywhere.
import * as tf from '@tensorflow/tfjs-core';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** GELU, exact form 0.5 x (1 + erf(x / sqrt 2)) as PyTorch's F.gelu (Hendrycks & Gimpel 2016). */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (x.dtype === 'float32' && hasKernel('GenlabGelu') && hasKernel('GenlabGeluGrad')) {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as tf.Tensor, save = args[1] as tf.GradSaveFunc;
      save([input]);
      return {
        value: tf.engine().runKernel('GenlabGelu', { x: input }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel('GenlabGeluGrad', { x: saved[0], dy }) as tf.Tensor,
      };
    });
    return f(x);
  }
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}
