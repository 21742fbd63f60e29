// Text generation and evaluation from a checkpoint: what the CLI (and later the server) call.
import { UserError } from '../util/errors.js';
import { CharTokenizer } from '../data/text.js';
import { buildTextModel, isTextFamily, type TextModelConfig } from '../models/registry.js';
import { drawToken, processors, type SamplingOptions } from '../models/sampling.js';
import type { TextModel } from '../models/types.js';
import { disposeMap, loadCheckpoint, resolveCheckpointDir, type CheckpointData } from '../checkpoint/checkpoint.js';
import { Rng } from '../util/rng.js';

export interface LoadedTextModel {
  model: TextModel;
  tokenizer: CharTokenizer;
  checkpoint: CheckpointData;
  dir: string;
}

/**
 * Loads a text model from a run or checkpoint directory. With `ema`, the EMA weights (if the run
 * kept them) replace the raw ones. The optimizer state stays in `checkpoint` for resume; call
 * disposeLoaded when done.
 */
export function loadTextModel(dirArg: string, opts: { ema?: boolean } = {}): LoadedTextModel {
  const dir = resolveCheckpointDir(dirArg);
  const ck = loadCheckpoint(dir);
  const family = ck.meta.family;
  if (!isTextFamily(family)) {
    disposeMap(ck.weights); disposeMap(ck.optimizer); disposeMap(ck.ema);
    throw new UserError(`${dir} holds a "${family}" model, not a text model (gpt or lstm)`);
  }
  const tok = ck.meta.tokenizer as { type?: string; chars?: string[] } | undefined;
  if (!tok || tok.type !== 'char' || !Array.isArray(tok.chars)) throw new UserError(`checkpoint ${dir}: config.json has no character tokenizer`);
  let weights = ck.weights;
  if (opts.ema && ck.ema) {
    disposeMap(ck.weights);
    weights = ck.ema;
    ck.ema = undefined;
  }
  const model = buildTextModel(family, { ...(ck.meta.model as TextModelConfig) }, new Map(Object.entries(weights)));
  ck.weights = {};
  return { model, tokenizer: new CharTokenizer(tok.chars), checkpoint: ck, dir };
}

export function disposeLoaded(l: LoadedTextModel): void {
  l.model.dispose();
  disposeMap(l.checkpoint.optimizer);
  disposeMap(l.checkpoint.ema);
}

export interface GenerateOptions extends SamplingOptions {
  tokens: number;
  seed?: number;
}

/** At ~200 characters a second on the small models, a million characters is over an hour of output held in memory. */
const MAX_TOKENS = 1_000_000;

/** Continues `prompt` by `tokens` characters; the same seed gives the same text. */
export function generateText(model: TextModel, tokenizer: CharTokenizer, prompt: string, o: GenerateOptions): string {
  if (!Number.isInteger(o.tokens) || o.tokens < 0 || o.tokens > MAX_TOKENS) throw new UserError(`--tokens must be a whole number from 0 to ${MAX_TOKENS.toLocaleString('en-US')}, got ${o.tokens}`);
  let procs;
  try {
    procs = processors(o);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const unknown = tokenizer.unknown(prompt);
  if (unknown.length) throw new UserError(`the prompt has characters outside the model's vocabulary: ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
  const rng = new Rng(o.seed ?? 0);
  // An empty prompt starts from the first character of the vocabulary (usually newline), like nanoGPT's "\n".
  const ids = prompt.length ? tokenizer.encode(prompt) : Int32Array.of(0);
  const stream = model.stream();
  const out: number[] = [];
  try {
    let logits = stream.feed(ids);
    // a model whose outputs are not numbers would "sample" one character over and over
    if (o.tokens > 0 && !logits.every(Number.isFinite)) throw new UserError("the model's outputs are not finite numbers (NaN or infinity): its weights are broken; use an earlier checkpoint");
    for (let i = 0; i < o.tokens; i++) {
      for (const p of procs) logits = p(logits);
      const next = drawToken(logits, rng);
      out.push(next);
      if (i + 1 < o.tokens) logits = stream.feed(Int32Array.of(next));
    }
  } finally {
    stream.dispose();
  }
  return tokenizer.decode(out);
}

