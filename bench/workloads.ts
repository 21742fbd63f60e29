// The workloads of BENCHMARKS.md, built from the project's own model code, one step each, with
// the shapes, batch and optimizer of the PyTorch peer (shared/peer/torch_reference.py).
import * as tf from '@tensorflow/tfjs-core';
import { Gpt, defaultGptConfig, initGptWeights } from '../src/models/gpt.js';
import { Lstm, defaultLstmConfig, initLstmWeights } from '../src/models/lstm.js';
import { drawToken } from '../src/models/sampling.js';
import { countParams } from '../src/nn/layers.js';
import { batchLoss } from '../src/train/textTask.js';
import { createProgress } from '../src/train/progress.js';
import { Trainer, defaultTrainConfig, type TrainConfig, type TrainTask } from '../src/train/trainer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/util/rng.js';

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
function trainerStep(name: string, unit: string, params: Map<string, tf.Variable>, loss: () => tf.Scalar, decay: string[], opt: Partial<TrainConfig>): Workload {
  const task: TrainTask = { params, trainable: [...params.keys()], decay: new Set(decay), loss, meta: () => ({ family: name, model: {} }) };
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

export const WORKLOADS: Record<string, () => Workload> = {
  charlstm: () => {
    const c = defaultLstmConfig();
    return textTrainStep(new Lstm(c, initLstmWeights(c, new Rng(0))), 32, 64, { optimizer: 'adam', lr: 2e-3, weightDecay: 0 }, 'ms/step (batch 32 x seq 64)', 'charlstm');
  },
  gpt: () => {
    const c = defaultGptConfig();
    return textTrainStep(new Gpt(c, initGptWeights(c, new Rng(0))), 12, 64, { optimizer: 'adamw', lr: 1e-3, weightDecay: 0.01 }, 'ms/step (batch 12 x block 64)', 'gpt');
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

