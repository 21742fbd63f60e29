// The clip engine's library entry point: text and options in, frames out, with progress (step k
// of n, optionally a preview frame) and cancellation (an AbortSignal). What `genlab generate` and
// the platform call; it imports no training code. Load a generator once, then generate many clips.
import { disposeMap, loadCheckpoint, resolveCheckpointDir } from '../checkpoint/checkpoint.js';
import { clipGeneratorFrom, FAMILY_OF, type ClipModelKind, type LoadedClipGenerator } from './clipGenerate.js';

export * from './clipGenerate.js';

/** Loads a clip generator (its EMA weights when the run kept them); a UserError for any other kind of checkpoint. */
export function loadClipGenerator(dirArg: string, want?: ClipModelKind): LoadedClipGenerator {
  const dir = resolveCheckpointDir(dirArg);
  const ck = loadCheckpoint(dir);
  disposeMap(ck.optimizer);
  // the EMA covers the trained weights; the frozen autoencoder's are the same in both
  const weights = ck.ema ?? ck.weights;
  if (ck.ema) disposeMap(ck.weights);
  try {
    return clipGeneratorFrom(ck.meta, weights, dir, want, dirArg);
  } catch (e) {
    disposeMap(weights);
    throw e;
  }
}
