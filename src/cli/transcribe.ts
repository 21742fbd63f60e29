// `genlab transcribe FILE.wav`: the acoustic model's transcript of a spoken prompt and the attributes
// it parses to, as one JSON line.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEFAULT_DECODE, loadAcoustic, transcribeWav } from '../pipelines/transcribe.js';
import { UserError } from '../util/errors.js';
import { action, int, num, setup } from './common.js';

export const SHIPPED_VOICE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'voice');
const MAX_BYTES = 32 << 20;

export function registerTranscribe(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe a spoken prompt (WAV: PCM or float, any common sample rate, mono or stereo, at most 30 s) with the acoustic model; prints one JSON line: the text and the attributes it parses to')
    .argument('<wav>', 'a .wav file')
    .option('--checkpoint <dir>', 'an acoustic model checkpoint (default: models/voice)')
    .option('--beam <n>', 'CTC prefix beam width (1 without the grammar: greedy)', int('--beam', 1), DEFAULT_DECODE.beam)
    .option('--unsaid <x>', 'the grammar prior\'s cost (a log-probability) of each attribute the transcript leaves unsaid; 0: none', num('--unsaid'), DEFAULT_DECODE.unsaid)
    .option('--no-grammar', 'plain beam search: no check that the transcript parses without a contradiction, no cost for unsaid attributes')
    .action(action(async (file: string, o: { checkpoint?: string; beam: number; unsaid: number; grammar: boolean }) => {
      if (o.beam > 64) throw new UserError('--beam: at most 64');
      if (!(o.unsaid >= 0 && o.unsaid <= 20)) throw new UserError('--unsaid: a number from 0 to 20');
      if (!existsSync(file)) throw new UserError(`no such file: ${file}`);
      if (!statSync(file).isFile()) throw new UserError(`${file} is not a file`);
      if (statSync(file).size > MAX_BYTES) throw new UserError(`${file} is larger than ${MAX_BYTES >> 20} MB`);
      const dir = o.checkpoint ?? SHIPPED_VOICE;
      if (!existsSync(dir)) throw new UserError(`no acoustic model at ${dir}${o.checkpoint ? '' : ' (genlab ships one there: was it moved?)'}; train one with genlab train voice and pass --checkpoint`);
      const bytes = readFileSync(file);
      await setup();
      const t0 = performance.now(), a = loadAcoustic(dir);
      try {
        const decode = { beam: o.beam, grammar: o.grammar, unsaid: o.grammar ? o.unsaid : 0 };
        const r = transcribeWav(a, bytes, file, decode);
        process.stdout.write(JSON.stringify({ file, ...r, checkpoint: dir, decode, ms: Math.round(performance.now() - t0) }) + '\n');
      } finally {
        a.model.dispose();
      }
    }));
}
