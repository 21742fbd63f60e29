// The in-browser draft: the clip GAN's weights (TensorFlow.js's weights format, as every genlab
// checkpoint) fetched once, then the same generateClip as the server's, on the person's device:
// TensorFlow.js's wasm backend where the browser runs it, its plain JavaScript backend otherwise.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { CheckpointMeta } from '../src/checkpoint/checkpoint.js';
import { clipGeneratorFrom, generateClip, type LoadedClipGenerator } from '../src/pipelines/clipGenerate.js';

export interface Draft { frames: Float32Array; ms: number; loadMs: number; backend: string; step: number | undefined }

let loading: Promise<{ g: LoadedClipGenerator; ms: number }> | undefined;

async function pickBackend(): Promise<void> {
  setWasmPaths('/tfjs-wasm/');
  try {
    if (await tf.setBackend('wasm')) return;
  } catch { /* no WebAssembly here */ }
  await tf.setBackend('cpu');
}

async function load(base: string): Promise<{ g: LoadedClipGenerator; ms: number }> {
  const t0 = performance.now();
  await pickBackend();
  const get = async (f: string) => {
    const r = await fetch(base + f);
    if (!r.ok) throw new Error(`the draft model's ${f} did not load (${r.status})`);
    return r;
  };
  const [meta, manifest, bin] = await Promise.all([
    get('config.json').then((r) => r.json() as Promise<CheckpointMeta>),
    get('weights.json').then((r) => r.json() as Promise<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]>),
    get('weights.bin').then((r) => r.arrayBuffer()),
  ]);
  const weights = tf.io.decodeWeights(bin, manifest.flatMap((g) => g.weights));
  return { g: clipGeneratorFrom(meta, weights, 'clips-gan', 'gan'), ms: performance.now() - t0 };
}

/** A draft clip of `text` with `seed` from the GAN at `base` (loaded on the first call). */
export async function draftClip(text: string, seed: number, base = '/api/models/gan/files/'): Promise<Draft> {
  loading ??= load(base);
  let l: { g: LoadedClipGenerator; ms: number };
  try {
    l = await loading;
  } catch (e) {
    loading = undefined;
    throw e;
  }
  const clip = await generateClip(l.g, text, { seed });
  return { frames: clip.frames, ms: clip.report.ms, loadMs: Math.round(l.ms), backend: tf.getBackend(), step: l.g.meta.step };
}
