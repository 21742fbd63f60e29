// `genlab`: one file per verb; this file only assembles them.
import { Command, CommanderError } from 'commander';
import { registerBench } from './bench.js';
import { registerEdit } from './edit.js';
import { registerExport } from './export.js';
import { registerEval } from './eval.js';
import { registerFinetune } from './finetune.js';
import { registerInfo } from './info.js';
import { registerPlot } from './plot.js';
import { registerEvalClips } from './evalClips.js';
import { registerGenerate } from './generate.js';
import { registerRender } from './render.js';
import { registerSample } from './sample.js';
import { registerTrain } from './train.js';
import { registerWorker } from './worker.js';
import { registerTranslate } from './translate.js';
import { registerRl } from './rl.js';
import { registerCaption } from './caption.js';
import { registerTranscribe } from './transcribe.js';
import { registerSummarise } from './summarise.js';

// a reader that stops reading (`genlab ... | head`) ends the command as a Unix tool's SIGPIPE would, without a stack trace
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('genlab')
  .description('generative models in TypeScript: train, sample, evaluate and fine-tune')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerInfo(program);
registerTrain(program);
registerSample(program);
registerEval(program);
registerEdit(program);
registerFinetune(program);
registerExport(program);
registerPlot(program);
registerRender(program);
registerGenerate(program);
registerEvalClips(program);
registerBench(program);
registerWorker(program);
registerTranslate(program);
registerRl(program);
registerCaption(program);
registerTranscribe(program);
registerSummarise(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}
