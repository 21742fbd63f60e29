// Training the one-pass clip generators, reading the words with a frozen text encoder (one
// encoder for all three, so that the comparison is fair). The sprite kind (the default) trains in
// pixels on clips rendered fresh every step; the field kind on a latent cache of the frame
// autoencoder. The GAN: hinge loss, a projection discriminator, and real clips shown with another
// clip's text as a third kind of negative (GAN-INT-CLS, Reed et al. 2016), so that D checks the
// words and not only realism; optionally an auxiliary attribute classifier (AC-GAN). The VAE:
// conditional, a reconstruction error (pixels for the sprite kind, latents for the field kind) +
// beta KL to its prior.
import * as tf from '@tensorflow/tfjs-core';
import { ClipSampler } from '../data/clips/dataset.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, SIDE, type AttributeName, type ObjectAttributes } from '../data/clips/world.js';
import type { ImageSet } from '../data/mnist.js';
import { AUX_GROUPS, massCentres, type ClipLatent } from '../models/clipLatent.js';
import { SPRITE_LATENT, spriteLatent } from '../models/spriteLatent.js';
import { Type, type Static } from '../util/config.js';
import { Rng } from '../util/rng.js';
import { cacheRenewer, encodeClips, trainingCaption, trainingText, type LatentCache } from './clipDiffusionTask.js';
import { meanLoss } from './meanLoss.js';
import type { TrainTask } from './trainer.js';

export const ClipLatentTaskSchema = Type.Object({
  cacheClips: Type.Integer({ minimum: 1, maximum: 100000 }),
  renewPerStep: Type.Integer({ minimum: 0, maximum: 64 }),
  pOmit: Type.Number({ minimum: 0, maximum: 1 }),
  /** GAN: weight of the mismatched-text negatives in D's loss */
  mismatch: Type.Number({ minimum: 0, maximum: 1 }),
  /** sprite GAN: weight of the auxiliary classifier's loss (AC-GAN), for D on real clips and for G on its own; 0: none */
  aux: Type.Number({ minimum: 0, maximum: 10 }),
}, { additionalProperties: false });
export type ClipLatentTaskConfig = Static<typeof ClipLatentTaskSchema>;

export function defaultClipLatentTask(): ClipLatentTaskConfig {
  return { cacheClips: 4000, renewPerStep: 1, pOmit: 0.25, mismatch: 0.5, aux: 0 };
}

type Gaussian = { mu: tf.Tensor2D; logvar: tf.Tensor2D };
/** KL(q || p) between diagonal Gaussians, a mean over the batch and z's dimensions. */
export function gaussianKl(q: Gaussian, p: Gaussian): tf.Scalar {
  const ratio = tf.div(tf.add(tf.exp(q.logvar), tf.square(tf.sub(q.mu, p.mu))), tf.exp(p.logvar));
  return tf.mul(0.5, tf.mean(tf.sub(tf.add(tf.sub(p.logvar, q.logvar), ratio), 1))) as tf.Scalar;
}

/** The VAE's posterior draw z (reparameterised) for x read with the text, and its KL to the model's prior. */
function posteriorDraw(model: ClipLatent, x: tf.Tensor4D, pooled: tf.Tensor2D, rng: Rng): { z: tf.Tensor2D; kl: tf.Scalar } {
  const B = pooled.shape[0], Z = model.config.gen.zDim, q = model.posterior(x, pooled);
  const z = tf.add(q.mu, tf.mul(tf.tensor2d(rng.normalArray(B * Z), [B, Z]), tf.exp(tf.mul(q.logvar, 0.5)))) as tf.Tensor2D;
  return { z, kl: gaussianKl(q, model.prior(pooled)) };
}

/** A validation loss over the same held-out clips every time (evaluation-template captions, fresh renders of test digits), in batches of at most 8. */
function pixelValidation(test: ImageSet, valClips: number, T: number, loss: (frames: Float32Array, words: string[], rng: Rng) => tf.Scalar): (batches: number) => number {
  let val: { frames: Float32Array; texts: string[] } | undefined;
  return (batches) => {
    if (!val) {
      const { examples, frames } = new ClipSampler(test, 'eval', new Rng(4242)).batch(valClips);
      val = { frames, texts: examples.map((e) => e.caption) };
    }
    const VB = Math.min(8, valClips), n = Math.max(1, Math.min(batches, Math.ceil(valClips / VB))), per = T * SIDE * SIDE * 3;
    return meanLoss(n, 9876, (b, rng) => {
      const lo = (b * VB) % valClips, hi = Math.min(valClips, lo + VB);
      return loss(val!.frames.subarray(lo * per, hi * per), val!.texts.slice(lo, hi), rng);
    });
  };
}

/**
 * The AC-GAN loss: the cross-entropy of the critic's auxiliary logits [B, 23] with the clips'
 * attributes, a mean over the clips and the attributes their texts name (`omitted` leaves some out).
 */
export function auxLoss(logits: tf.Tensor2D, attrs: ObjectAttributes[], omitted?: AttributeName[][]): tf.Scalar {
  const B = attrs.length, total = AUX_GROUPS.reduce((a, b) => a + b, 0), G = ATTRIBUTE_NAMES.length;
  const target = new Float32Array(B * total), mask = new Float32Array(B * G);
  attrs.forEach((a, b) => {
    let off = 0;
    ATTRIBUTE_NAMES.forEach((name, g) => {
      target[b * total + off + (ATTRIBUTE_VALUES[name] as readonly unknown[]).indexOf(a[name])] = 1;
      mask[b * G + g] = omitted?.[b].includes(name) ? 0 : 1;
      off += AUX_GROUPS[g];
    });
  });
  const groups = tf.split(logits, AUX_GROUPS, 1), targets = tf.split(tf.tensor2d(target, [B, total]), AUX_GROUPS, 1);
  const ce = tf.stack(groups.map((l, g) => tf.neg(tf.sum(tf.mul(targets[g], tf.logSoftmax(l)), 1))), 1); // [B, 5]
  const m = tf.tensor2d(mask, [B, G]);
  return tf.div(tf.sum(tf.mul(ce, m)), Math.max(1, mask.reduce((x, y) => x + y, 0))) as tf.Scalar;
}

/** A GAN batch's texts: training captions of the attributes, and the attributes each leaves unsaid (G is not asked for those). */
type CaptionedBatch = { words: string[]; attrs: ObjectAttributes[]; omitted: AttributeName[][] };
function captioned(attrs: ObjectAttributes[], rng: Rng, pOmit: number): CaptionedBatch {
  const said = attrs.map((a) => trainingCaption(a, rng, 0, pOmit));
  return { words: said.map((c) => c.text), attrs, omitted: said.map((c) => c.omitted) };
}
/** G's batch: the one D's phase just drew, or (G trained alone) captions of fresh training attributes. */
function gBatch(last: CaptionedBatch | undefined, train: ImageSet, rng: Rng, B: number, pOmit: number): CaptionedBatch {
  return last ?? captioned(Array.from({ length: B }, () => new ClipSampler(train, 'train', rng).drawAttributes()), rng, pOmit);
}

/**
 * The sprite GAN, in pixels: real clips rendered fresh every step (the world's renderer is cheaper
 * than a latent cache), the generator's frames as they are, the glimpse critic on both; hinge loss
 * and the mismatched-text negatives as below.
 */
export function spriteGanTask(opts: { model: ClipLatent; train: ImageSet; test: ImageSet; task: ClipLatentTaskConfig; valClips?: number; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, task } = opts, c = model.config, T = c.frames;
  const texts = (attrs: ObjectAttributes[], rng: Rng) => attrs.map((a) => trainingText(a, rng, 0, task.pOmit));
  const zOf = (rng: Rng, B: number) => tf.tensor2d(rng.normalArray(B * c.gen.zDim), [B, c.gen.zDim]);
  const pix = (frames: Float32Array, B: number) => tf.tensor4d(frames, [B * T, SIDE, SIDE, 3]);
  // the mean hinge margin by which D tells held-out real clips from the generator's
  const validate = pixelValidation(opts.test, opts.valClips ?? 16, T, (frames, words, rng) => {
    const B = words.length, pooled = model.condition(words);
    const real = model.pixelScore(model.pixelFeatures(pix(frames, B)), pooled);
    const fake = model.pixelScore(model.pixelFeatures(model.frames(zOf(rng, B), pooled)), pooled);
    return tf.mean(tf.add(tf.relu(tf.sub(1, real)), tf.relu(tf.add(1, fake)))) as tf.Scalar;
  });
  let fakeBatch: CaptionedBatch | undefined;
  return {
    params: model.params, validate,
    meta: () => ({ family: 'clip-gan', model: { ...c }, task: { ...task }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta }),
    phases: {
      D: {
        trainable: model.names('disc.').filter((k) => task.aux > 0 || !k.startsWith('disc.aux.')), decay: new Set(),
        loss: (rng, B) => {
          const s = new ClipSampler(opts.train, 'train', rng), { examples, frames } = s.batch(B), attrs = examples.map((e) => e.attributes[0]);
          const other = Array.from({ length: B }, () => s.drawAttributes()), batch = captioned(attrs, rng, task.pOmit), words = batch.words;
          const pooled = model.condition(words), fr = model.pixelFeatures(pix(frames, B));
          const real = model.pixelScore(fr, pooled);
          const fake = model.pixelScore(model.pixelFeatures(tf.tidy(() => model.frames(zOf(rng, B), pooled))), pooled);
          // a mismatched text counts only where it names other attributes than the clip's
          const differs = tf.tensor1d(attrs.map((a, i) => (JSON.stringify(a) === JSON.stringify(other[i]) ? 0 : 1)));
          const mis = tf.mul(tf.relu(tf.add(1, model.pixelScore(fr, model.condition(texts(other, rng))))), differs);
          fakeBatch = batch;
          const neg = tf.add(tf.mul(tf.mean(tf.relu(tf.add(1, fake))), 1 - task.mismatch), tf.mul(tf.mean(mis), task.mismatch));
          const hinge = tf.add(tf.mean(tf.relu(tf.sub(1, real))), neg) as tf.Scalar;
          // the classifier learns what real clips show (all five attributes, whatever the text says)
          return task.aux > 0 ? tf.add(hinge, tf.mul(auxLoss(model.auxLogits(fr), attrs), task.aux)) as tf.Scalar : hinge;
        },
      },
      G: {
        trainable: model.names('gen.'), decay: new Set(),
        loss: (rng, B) => {
          const batch = gBatch(fakeBatch, opts.train, rng, B, task.pOmit);
          const pooled = model.condition(batch.words), f = model.pixelFeatures(model.frames(zOf(rng, B), pooled));
          const adv = tf.neg(tf.mean(model.pixelScore(f, pooled))) as tf.Scalar;
          // and G is asked to show what its text names
          return task.aux > 0 ? tf.add(adv, tf.mul(auxLoss(model.auxLogits(f), batch.attrs, batch.omitted), task.aux)) as tf.Scalar : adv;
        },
      },
    },
  };
}

/**
 * The latent GAN (arch=latent), in sprite diffusion's latent: real latents are fresh training
 * clips' own ink and path (spriteLatent), nothing rendered. The ink and the path are two GANs on
 * one noise and one reading of the words, each with hinge loss, its own mismatched-text negatives
 * (counted where the other text names another digit, or other path attributes) and its auxiliary
 * classifier (`aux`); G's loss is the sum of both parts'.
 */
export function latentGanTask(opts: { model: ClipLatent; train: ImageSet; test: ImageSet; task: ClipLatentTaskConfig; valClips?: number; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, task } = opts, c = model.config;
  const zOf = (rng: Rng, B: number) => tf.tensor2d(rng.normalArray(B * c.gen.zDim), [B, c.gen.zDim]);
  const realBatch = (s: ClipSampler, B: number) => {
    const x = new Float32Array(B * SPRITE_LATENT), attrs: ObjectAttributes[] = [];
    for (let i = 0; i < B; i++) {
      const e = s.next();
      x.set(spriteLatent(e.scene.objects[0]), i * SPRITE_LATENT);
      attrs.push(e.attributes[0]);
    }
    return { x: tf.tensor2d(x, [B, SPRITE_LATENT]), attrs };
  };
  const hinge = (real: tf.Tensor1D, fake: tf.Tensor1D) => tf.add(tf.mean(tf.relu(tf.sub(1, real))), tf.mean(tf.relu(tf.add(1, fake))));
  let val: { x: Float32Array; texts: string[] } | undefined;
  // the mean hinge margin by which D tells held-out real latents (test digits, evaluation templates) from the generator's, both parts
  const validate = (batches: number) => {
    if (!val) {
      const s = new ClipSampler(opts.test, 'eval', new Rng(4242)), texts: string[] = [], n = opts.valClips ?? 32, xs = new Float32Array(n * SPRITE_LATENT);
      for (let i = 0; i < n; i++) { const e = s.next(); xs.set(spriteLatent(e.scene.objects[0]), i * SPRITE_LATENT); texts.push(e.caption); }
      val = { x: xs, texts };
    }
    const v = val;
    return meanLoss(Math.max(1, Math.min(batches, 4)), 9876, (_b, rng) => {
      const cond = model.condition(v.texts), B = v.texts.length;
      const r = model.latentCritic(tf.tensor2d(v.x, [B, SPRITE_LATENT]), cond), f = model.latentCritic(model.latent(zOf(rng, B), cond), cond);
      return tf.add(hinge(r.ink, f.ink), hinge(r.path, f.path)) as tf.Scalar;
    });
  };
  let fakeBatch: CaptionedBatch | undefined;
  const PATH_ATTRS = ATTRIBUTE_NAMES.filter((k) => k !== 'digit');
  return {
    params: model.params, validate,
    meta: () => ({ family: 'clip-gan', model: { ...c }, task: { ...task }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta }),
    phases: {
      D: {
        // aux 0: the classifiers' weights get no gradient, so they are not trained
        trainable: model.names('disc.').filter((k) => task.aux > 0 || !/^disc\.[ip]\.aux\./.test(k)), decay: new Set(),
        loss: (rng, B) => {
          // clips drawn from the trainer's generator, so that a resumed run continues the same stream
          const s = new ClipSampler(opts.train, 'train', new Rng(rng.int(2 ** 31))), { x, attrs } = realBatch(s, B);
          const batch = captioned(attrs, rng, task.pOmit), words = batch.words, cond = model.condition(words);
          const other = Array.from({ length: B }, () => s.drawAttributes()), otherCond = model.condition(other.map((a) => trainingText(a, rng, 0, task.pOmit)));
          const fr = model.latentFeatures(x), real = model.latentScores(fr, cond), mis = model.latentScores(fr, otherCond);
          const fake = model.latentCritic(tf.tidy(() => model.latent(zOf(rng, B), cond)), cond);
          const differs = (keys: readonly AttributeName[]) => tf.tensor1d(attrs.map((a, i) => (keys.some((k) => a[k] !== other[i][k]) ? 1 : 0)));
          const neg = (f: tf.Tensor1D, m: tf.Tensor1D, d: tf.Tensor1D) => tf.add(tf.mul(tf.mean(tf.relu(tf.add(1, f))), 1 - task.mismatch), tf.mul(tf.mean(tf.mul(tf.relu(tf.add(1, m)), d)), task.mismatch));
          const ink = tf.add(tf.mean(tf.relu(tf.sub(1, real.ink))), neg(fake.ink, mis.ink, differs(['digit'])));
          const path = tf.add(tf.mean(tf.relu(tf.sub(1, real.path))), neg(fake.path, mis.path, differs(PATH_ATTRS)));
          fakeBatch = batch;
          const adv = tf.add(ink, path) as tf.Scalar;
          // the classifiers learn what real latents show (all five attributes, whatever the text says)
          return task.aux > 0 ? tf.add(adv, tf.mul(auxLoss(real.aux, attrs), task.aux)) as tf.Scalar : adv;
        },
      },
      G: {
        trainable: model.names('gen.'), decay: new Set(),
        loss: (rng, B) => {
          const batch = gBatch(fakeBatch, opts.train, rng, B, task.pOmit);
          const cond = model.condition(batch.words), f = model.latentCritic(model.latent(zOf(rng, batch.words.length), cond), cond);
          const adv = tf.neg(tf.add(tf.mean(f.ink), tf.mean(f.path))) as tf.Scalar;
          // and G is asked to show what its text names
          return task.aux > 0 ? tf.add(adv, tf.mul(auxLoss(f.aux, batch.attrs, batch.omitted), task.aux)) as tf.Scalar : adv;
        },
      },
    },
  };
}

/**
 * The sprite VAE's reconstruction error, three means added: the pixels; the frames averaged over
 * 8x8 blocks (a basin wider than the digit, for place and size); and the centre-of-mass path in
 * canvas units (a pasted sprite far from the target gets no pixel gradient toward it).
 */
export function spriteRecon(fake: tf.Tensor4D, real: tf.Tensor4D): tf.Scalar {
  const N = fake.shape[0], coarse = (x: tf.Tensor4D) => tf.mean(tf.reshape(x, [N, 8, 8, 8, 8 * 3]), [2]);
  const blocks = (x: tf.Tensor4D) => tf.mean(tf.reshape(coarse(x), [N, 8, 8, 8, 3]), [3]);
  const a = massCentres(fake), b = massCentres(real);
  const path = tf.div(tf.add(tf.mean(tf.squaredDifference(a.cx, b.cx)), tf.mean(tf.squaredDifference(a.cy, b.cy))), SIDE * SIDE);
  return tf.addN([tf.mean(tf.squaredDifference(fake, real)), tf.mean(tf.squaredDifference(blocks(fake), blocks(real))), path]) as tf.Scalar;
}

/**
 * The sprite VAE, in pixels as the sprite GAN: real clips rendered fresh every step, the glimpse
 * encoder's q(z | clip, text), the sprite decoder's frames from a posterior draw, spriteRecon +
 * beta times the KL (a mean over z's dimensions).
 */
export function spriteVaeTask(opts: { model: ClipLatent; train: ImageSet; test: ImageSet; task: ClipLatentTaskConfig; valClips?: number; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, task } = opts, c = model.config, T = c.frames;
  const loss = (frames: Float32Array, words: string[], rng: Rng) => {
    const B = words.length, x = tf.tensor4d(frames, [B * T, SIDE, SIDE, 3]), pooled = model.condition(words);
    const { z, kl } = posteriorDraw(model, x, pooled, rng);
    return tf.add(spriteRecon(model.frames(z, pooled), x), tf.mul(kl, c.beta)) as tf.Scalar;
  };
  const validate = pixelValidation(opts.test, opts.valClips ?? 16, T, loss);
  const trainable = [...model.names('gen.'), ...model.names('enc.')];
  return {
    params: model.params, trainable, decay: new Set(trainable.filter((k) => k.endsWith('.w'))), validate,
    meta: () => ({ family: 'clip-vae', model: { ...c }, task: { ...task }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta }),
    loss: (rng, B) => {
      const { examples, frames } = new ClipSampler(opts.train, 'train', rng).batch(B);
      return loss(frames, examples.map((e) => trainingText(e.attributes[0], rng, 0, task.pOmit)), rng);
    },
  };
}

export function clipLatentTask(opts: { model: ClipLatent; cache: LatentCache; train: ImageSet; test: ImageSet; task: ClipLatentTaskConfig; valClips?: number; extraMeta?: Record<string, unknown> }): TrainTask {
  const { model, cache, task } = opts, c = model.config, L = c.ae.latent, T = c.frames, per = T * 16 * 16 * L, scale = c.latentScale, N = cache.attributes.length;
  const renew = cacheRenewer(cache, model.ae, opts.train, task.renewPerStep, 0xc11c);
  const draw = (rng: Rng, B: number) => {
    const idx = Array.from({ length: B }, () => rng.int(N)), x = new Float32Array(B * per);
    idx.forEach((k, i) => { const src = cache.latents.subarray(k * per, (k + 1) * per); for (let j = 0; j < per; j++) x[i * per + j] = src[j] * scale; });
    return { x, attrs: idx.map((k) => cache.attributes[k]) };
  };
  const texts = (attrs: ObjectAttributes[], rng: Rng) => attrs.map((a) => trainingText(a, rng, 0, task.pOmit));
  const zOf = (rng: Rng, B: number) => tf.tensor2d(rng.normalArray(B * c.gen.zDim), [B, c.gen.zDim]);
  const vaeLoss = (x: Float32Array, words: string[], rng: Rng) => {
    const B = words.length, xt = tf.tensor4d(x, [B * T, 16, 16, L]), pooled = model.condition(words);
    const { z, kl } = posteriorDraw(model, xt, pooled, rng);
    return tf.add(tf.mean(tf.squaredDifference(model.generate(z, pooled), xt)), tf.mul(kl, c.beta)) as tf.Scalar;
  };
  let val: { x: Float32Array; texts: string[] } | undefined;
  const valClips = opts.valClips ?? 16;
  const validate = (batches: number) => {
    if (!val) {
      const { examples, frames } = new ClipSampler(opts.test, 'eval', new Rng(4242)).batch(valClips);
      val = { x: encodeClips(model.ae, frames, valClips).map((v) => v * scale), texts: examples.map((e) => e.caption) };
    }
    const VB = Math.min(8, valClips), n = Math.max(1, Math.min(batches, Math.ceil(valClips / VB)));
    return meanLoss(n, 9876, (b, rng) => {
      const lo = (b * VB) % valClips, hi = Math.min(valClips, lo + VB), words = val!.texts.slice(lo, hi), x = val!.x.subarray(lo * per, hi * per);
      if (c.kind === 'vae') return vaeLoss(x, words, rng);
      // the GAN: the mean hinge margin by which D tells held-out real clips from the generator's
      const pooled = model.condition(words), B = words.length;
      const real = model.score(tf.tensor4d(x, [B * T, 16, 16, L]), pooled, true), fake = model.score(model.generate(zOf(rng, B), pooled), pooled);
      return tf.mean(tf.add(tf.relu(tf.sub(1, real)), tf.relu(tf.add(1, fake)))) as tf.Scalar;
    });
  };
  const meta = () => ({ family: `clip-${c.kind}`, model: { ...c }, task: { ...task }, image: { height: SIDE, width: SIDE, classes: 10 }, ...opts.extraMeta });
  if (c.kind === 'vae') {
    const trainable = [...model.names('gen.'), ...model.names('enc.')];
    return { params: model.params, trainable, decay: new Set(trainable.filter((k) => k.endsWith('.w'))), loss: (rng, B) => { renew(); const { x, attrs } = draw(rng, B); return vaeLoss(x, texts(attrs, rng), rng); }, validate, meta };
  }
  const G = model.names('gen.'), D = model.names('disc.');
  let fakeBatch: { words: string[] } | undefined;
  return {
    params: model.params, validate, meta,
    phases: {
      D: {
        trainable: D, decay: new Set(),
        loss: (rng, B) => {
          renew();
          const { x, attrs } = draw(rng, B), words = texts(attrs, rng);
          const other = draw(rng, B).attrs, wrong = texts(other, rng);
          const pooled = model.condition(words), xt = tf.tensor4d(x, [B * T, 16, 16, L]);
          const real = model.score(xt, pooled, true);
          const fake = model.score(tf.tidy(() => model.generate(zOf(rng, B), pooled)), pooled, true);
          // a mismatched text counts only where it names other attributes than the clip's
          const differs = tf.tensor1d(attrs.map((a, i) => (JSON.stringify(a) === JSON.stringify(other[i]) ? 0 : 1)));
          const mis = tf.mul(tf.relu(tf.add(1, model.score(xt, model.condition(wrong), true))), differs);
          fakeBatch = { words };
          const neg = tf.add(tf.mul(tf.mean(tf.relu(tf.add(1, fake))), 1 - task.mismatch), tf.mul(tf.mean(mis), task.mismatch));
          return tf.add(tf.mean(tf.relu(tf.sub(1, real))), neg) as tf.Scalar;
        },
      },
      G: {
        trainable: G, decay: new Set(),
        loss: (rng, B) => {
          const words = fakeBatch?.words ?? texts(draw(rng, B).attrs, rng);
          const pooled = model.condition(words);
          return tf.neg(tf.mean(model.score(model.generate(zOf(rng, B), pooled), pooled))) as tf.Scalar;
        },
      },
    },
  };
}
