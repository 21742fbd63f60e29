// The workloads of BENCHMARKS.md, built from the project's own model code, one step each, with
// the shapes, batch and optimizer of the PyTorch peer (shared/peer/torch_reference.py).
import * as tf from '@tensorflow/tfjs-core';
import { Gpt, defaultGptConfig, initGptWeights } from '../models/gpt.js';
import { Lstm, defaultLstmConfig, initLstmWeights } from '../models/lstm.js';
import { drawToken } from '../models/sampling.js';
import { countParams } from '../nn/layers.js';
import { Dcgan, bceWithLogits, defaultDcganConfig, initDcganWeights } from '../models/dcgan.js';
import { Unet, defaultUnetConfig, initUnetWeights } from '../models/unet.js';
import { linearBetas } from '../diffusion/schedules.js';
import { Vae, defaultVaeConfig, initVaeWeights } from '../models/vae.js';
import { Adam } from '../train/optim.js';
import { batchLoss } from '../models/textLoss.js';
import { createProgress } from '../train/progress.js';
import { Trainer, defaultTrainConfig, type TrainConfig, type TrainTask } from '../train/trainer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { defaultFrameAeConfig, FrameAe, initFrameAeWeights } from '../models/frameAe.js';
import { defaultTextEncoderConfig, initTextEncoderWeights, TextEncoder } from '../models/textEncoder.js';
import { initVideoUnetWeights, referenceVideoUnetConfig, unusedVideoUnetWeights, VideoUnet } from '../models/videoUnet.js';
import { ParamStore } from '../nn/params.js';

/** The peer's text encoder and video UNet (the reference sizes), one store of weights. */
function referenceClipNet(seed: number) {
  const tc = defaultTextEncoderConfig(), uc = referenceVideoUnetConfig(), rng = new Rng(seed);
  const store = new ParamStore(new Map([...initTextEncoderWeights(tc, rng), ...initVideoUnetWeights(uc, rng)]));
  const get = (n: string) => store.p(n);
  return { store, text: new TextEncoder(tc, get), unet: new VideoUnet(uc, get) };
}

export interface Workload {
  name: string;
  params: number;
  unit: string;
  /** repetitions the peer uses: a quarter for the slow generation workloads */
  heavy: boolean;
  step(): void;
  dispose(): void;
}

/**
 * The project's own train step (Trainer.trainStep) on a fixed batch of random tokens, with the
 * peer's optimizer: torch's Adam or AdamW defaults, constant lr, no clipping.
 */
function trainerStep(name: string, unit: string, params: Map<string, tf.Variable>, loss: () => tf.Scalar, decay: string[], opt: Partial<TrainConfig>, trainable = [...params.keys()]): Workload {
  const task: TrainTask = { params, trainable, decay: new Set(decay), loss, meta: () => ({ family: name, model: {} }) };
  const cfg: TrainConfig = { ...defaultTrainConfig(), warmupSteps: 0, gradClip: 0, beta2: 0.999, eps: 1e-8, steps: 1e9, ...opt };
  cfg.minLr = cfg.lr;
  const trainer = new Trainer(task, cfg, { outDir: join(tmpdir(), 'genlab-bench-unused'), progress: createProgress({ quiet: true }) });
  return {
    name, unit, heavy: false, params: countParams(params),
    step: () => { trainer.trainStep(); },
    dispose: () => { trainer.dispose(); for (const v of params.values()) v.dispose(); },
  };
}

function textTrainStep(model: Gpt | Lstm, batch: number, block: number, opt: Partial<TrainConfig>, unit: string, name: string): Workload {
  const rng = new Rng(0);
  const x = Int32Array.from({ length: batch * block }, () => rng.int(96));
  const y = Int32Array.from({ length: batch * block }, () => rng.int(96));
  return trainerStep(name, unit, model.params, () => batchLoss(model, { x, y, batch, block }), opt.optimizer === 'adamw' ? model.decayNames() : [], opt);
}

/** One Adam step of `opt` on `loss` (gradients leave the tidy first, as in the Trainer). */
function adamStep(vars: Map<string, tf.Variable>, opt: Adam, lr: number, loss: () => tf.Scalar): void {
  const names = [...vars.keys()], list = names.map((n) => vars.get(n)!);
  const { value, grads } = tf.tidy(() => {
    const r = tf.variableGrads(loss, list);
    const named: tf.NamedTensorMap = {};
    list.forEach((v, i) => { named[names[i]] = r.grads[v.name]; });
    return { value: r.value, grads: named };
  });
  value.dataSync();
  value.dispose();
  opt.apply(grads, lr);
  for (const g of Object.values(grads)) g.dispose();
}

function adam(vars: Map<string, tf.Variable>, beta1 = 0.9): Adam {
  return new Adam(vars, [...vars.keys()], new Set(), { kind: 'adam', beta1, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
}

export const WORKLOADS: Record<string, () => Workload> = {
  charlstm: () => {
    const c = defaultLstmConfig();
    return textTrainStep(new Lstm(c, initLstmWeights(c, new Rng(0))), 32, 64, { optimizer: 'adam', lr: 2e-3, weightDecay: 0 }, 'ms/step (batch 32 x seq 64)', 'charlstm');
  },
  gpt: () => {
    const c = defaultGptConfig();
    return textTrainStep(new Gpt(c, initGptWeights(c, new Rng(0))), 12, 64, { optimizer: 'adamw', lr: 1e-3, weightDecay: 0.01 }, 'ms/step (batch 12 x block 64)', 'gpt');
  },
  dcgan: () => {
    const c = defaultDcganConfig();
    const m = new Dcgan(c, initDcganWeights(c, new Rng(0)));
    const G = m.subset('g.'), D = m.subset('d.');
    const optG = adam(G, 0.5), optD = adam(D, 0.5);
    const real = tf.sub(tf.mul(tf.randomUniform([64, 28, 28, 1], 0, 1, 'float32', 1), 2), 1) as tf.Tensor4D;
    return {
      name: 'dcgan', unit: 'ms/step (batch 64, one D and one G update)', heavy: false, params: countParams(m.params),
      step: () => {
        const z = tf.randomNormal([64, c.z]) as tf.Tensor2D;
        const fake = tf.tidy(() => m.generate(z));
        adamStep(D, optD, 2e-4, () => tf.add(bceWithLogits(m.discriminate(real), 1), bceWithLogits(m.discriminate(fake), 0)) as tf.Scalar);
        fake.dispose();
        adamStep(G, optG, 2e-4, () => bceWithLogits(m.discriminate(m.generate(z)), 1));
        z.dispose();
      },
      dispose: () => { optG.dispose(); optD.dispose(); m.dispose(); real.dispose(); },
    };
  },
  vae: () => {
    const c = defaultVaeConfig();
    const m = new Vae(c, initVaeWeights(c, new Rng(0)));
    const opt = adam(m.params);
    const x = tf.cast(tf.greater(tf.randomUniform([128, 28, 28, 1], 0, 1, 'float32', 2), 0.5), 'float32') as tf.Tensor4D;
    return {
      name: 'vae', unit: 'ms/step (batch 128)', heavy: false, params: countParams(m.params),
      step: () => adamStep(m.params, opt, 1e-3, () => m.loss(x, tf.randomNormal([128, c.latent]) as tf.Tensor2D)),
      dispose: () => { opt.dispose(); m.dispose(); x.dispose(); },
    };
  },
  unet: () => {
    const c = defaultUnetConfig();
    const m = new Unet(c, initUnetWeights(c, new Rng(0)));
    const opt = adam(m.params);
    const { alphasCumprod } = linearBetas();
    const abar = tf.tensor1d(Float32Array.from(alphasCumprod));
    const x0 = tf.sub(tf.mul(tf.randomUniform([32, 32, 32, 1], 0, 1, 'float32', 3), 2), 1) as tf.Tensor4D;
    const rng = new Rng(4);
    return {
      name: 'unet', unit: 'ms/step (batch 32, 32x32x1)', heavy: false, params: countParams(m.params),
      step: () => adamStep(m.params, opt, 2e-4, () => {
        const t = tf.tensor1d(Int32Array.from({ length: 32 }, () => rng.int(1000)), 'int32');
        const eps = tf.randomNormal([32, 32, 32, 1]);
        const a = tf.reshape(tf.gather(abar, t), [32, 1, 1, 1]);
        const xt = tf.add(tf.mul(tf.sqrt(a), x0), tf.mul(tf.sqrt(tf.sub(1, a)), eps)) as tf.Tensor4D;
        return tf.mean(tf.squaredDifference(m.forward(xt, t), eps)) as tf.Scalar;
      }),
      dispose: () => { opt.dispose(); m.dispose(); abar.dispose(); x0.dispose(); },
    };
  },
  ddim: () => {
    const c = defaultUnetConfig();
    const m = new Unet(c, initUnetWeights(c, new Rng(0)));
    const { alphasCumprod } = linearBetas();
    const ts = Array.from({ length: 50 }, (_, i) => Math.trunc(999 - (999 * i) / 49)); // torch.linspace(999, 0, 50).long()
    return {
      name: 'ddim', unit: 'ms per 16 images (50 DDIM steps)', heavy: true, params: countParams(m.params),
      step: () => {
        let x = tf.randomNormal([16, 32, 32, 1]) as tf.Tensor4D;
        ts.forEach((t, i) => {
          const a = alphasCumprod[t], aPrev = i + 1 < ts.length ? alphasCumprod[ts[i + 1]] : 1;
          const next = tf.tidy(() => {
            const eps = m.forward(x, tf.fill([16], t, 'int32') as tf.Tensor1D);
            const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
            return tf.add(tf.mul(x0, Math.sqrt(aPrev)), tf.mul(eps, Math.sqrt(1 - aPrev))) as tf.Tensor4D;
          });
          x.dispose();
          x = next;
        });
        x.dataSync();
        x.dispose();
      },
      dispose: () => m.dispose(),
    };
  },
  frame_ae: () => {
    const c = defaultFrameAeConfig();
    const m = new FrameAe(c, initFrameAeWeights(c, new Rng(0)));
    const opt = adam(m.params);
    const x = tf.randomUniform([32, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    return {
      name: 'frame_ae', unit: 'ms/step (batch 32 frames, 64x64x3 -> 16x16x4)', heavy: false, params: countParams(m.params),
      step: () => adamStep(m.params, opt, 2e-4, () => m.loss(x, tf.randomNormal([32, 16, 16, 4]) as tf.Tensor4D).loss),
      dispose: () => { opt.dispose(); m.dispose(); x.dispose(); },
    };
  },
  video_unet: () => {
    const { store, text, unet } = referenceClipNet(0);
    const { alphasCumprod } = linearBetas();
    const rng = new Rng(6);
    const z0 = tf.randomNormal([8 * 16, 16, 16, 4], 0, 1, 'float32', 7) as tf.Tensor4D;
    const ids = tf.tensor2d(Int32Array.from({ length: 8 * 12 }, () => 1 + rng.int(127)), [8, 12], 'int32');
    const perFrame = (t: Int32Array, f: (a: number) => number) => tf.tensor4d(Float32Array.from({ length: 8 * 16 }, (_, i) => f(alphasCumprod[t[Math.floor(i / 16)]])), [8 * 16, 1, 1, 1]);
    const unused = new Set(unusedVideoUnetWeights());
    const w = trainerStep('video_unet', 'ms/step (batch 8 clips, 16 frames of 16x16x4 latents, 12 text tokens)', store.params, () => {
      const t = Int32Array.from({ length: 8 }, () => rng.int(1000));
      const eps = tf.randomNormal([8 * 16, 16, 16, 4]);
      const xt = tf.add(tf.mul(z0, perFrame(t, Math.sqrt)), tf.mul(eps, perFrame(t, (a) => Math.sqrt(1 - a)))) as tf.Tensor4D;
      return tf.mean(tf.squaredDifference(unet.forward(xt, tf.tensor1d(t, 'int32'), text.encode(ids), 16), eps)) as tf.Scalar;
    }, [...store.params.keys()].filter((k) => k.endsWith('.w') || k.endsWith('tok') || k.endsWith('pos')), { optimizer: 'adamw', lr: 2e-4, weightDecay: 0.01, beta2: 0.999 }, [...store.params.keys()].filter((k) => !unused.has(k)));
    return { ...w, dispose: () => { w.dispose(); z0.dispose(); ids.dispose(); } };
  },
  clip_sample: () => {
    const { store, text, unet } = referenceClipNet(0);
    const ac = defaultFrameAeConfig(), ae = new FrameAe(ac, initFrameAeWeights(ac, new Rng(1)));
    const { alphasCumprod } = linearBetas();
    const ts = Array.from({ length: 20 }, (_, i) => Math.trunc(999 - (999 * i) / 19)); // torch.linspace(999, 0, 20).long()
    const rng = new Rng(8);
    const decoder = [...ae.params].filter(([k]) => k.startsWith('dec.')).reduce((n, [, v]) => n + v.size, 0);
    return {
      name: 'clip_sample', unit: 'ms per clip (20 DDIM steps with guidance, then decode 16 frames)', heavy: true, params: countParams(store.params) + decoder,
      step: () => {
        const ctx = tf.tidy(() => text.encode(tf.tensor2d(Int32Array.from({ length: 24 }, () => 1 + rng.int(127)), [2, 12], 'int32')));
        let x = tf.randomNormal([16, 16, 16, 4]) as tf.Tensor4D;
        ts.forEach((t, i) => {
          const a = alphasCumprod[t], aPrev = i + 1 < ts.length ? alphasCumprod[ts[i + 1]] : 1;
          const next = tf.tidy(() => {
            const [c, u] = tf.split(unet.forward(tf.concat([x, x]) as tf.Tensor4D, tf.fill([2], t, 'int32') as tf.Tensor1D, ctx, 16), 2);
            const eps = tf.add(u, tf.mul(tf.sub(c, u), 3));
            const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
            return tf.add(tf.mul(x0, Math.sqrt(aPrev)), tf.mul(eps, Math.sqrt(1 - aPrev))) as tf.Tensor4D;
          });
          x.dispose();
          x = next;
        });
        const frames = tf.tidy(() => ae.decode(x));
        frames.dataSync();
        tf.dispose([frames, x, ctx.tokens, ctx.keyBias, ctx.pooled]);
      },
      dispose: () => { store.dispose(); ae.dispose(); },
    };
  },
  matmul1024: () => {
    // Not a peer workload: the raw speed of a 1024x1024 float32 product (2 * 1024^3 flops). The
    // cpu, wasm and native kernels run synchronously, so the product is done when matMul returns;
    // reading the 4 MB result back into JavaScript (2-3 ms here) is a copy, not the product.
    const a = tf.randomNormal([1024, 1024]), b = tf.randomNormal([1024, 1024]);
    const asyncBackend = tf.getBackend() === 'webgl' || tf.getBackend() === 'webgpu';
    return {
      name: 'matmul1024', unit: 'ms per 1024x1024 product', heavy: false, params: 0,
      step: () => { const c = tf.matMul(a, b); if (asyncBackend) c.dataSync(); c.dispose(); },
      dispose: () => { a.dispose(); b.dispose(); },
    };
  },
  gpt_generate: () => {
    const c = defaultGptConfig();
    const m = new Gpt(c, initGptWeights(c, new Rng(0)));
    const rng = new Rng(1);
    return {
      name: 'gpt_generate', unit: 'ms per 256 sampled tokens (batch 1)', heavy: true, params: countParams(m.params),
      step: () => {
        const s = m.stream();
        let logits = s.feed(Int32Array.of(0));
        for (let i = 0; i < 256; i++) {
          const next = drawToken(logits, rng);
          if (i < 255) logits = s.feed(Int32Array.of(next));
        }
        s.dispose();
      },
      dispose: () => m.dispose(),
    };
  },
};

