import { describe, expect, it } from 'vitest';
import { evalCommand } from '../../src/cli/export.js';

describe('genlab export\'s note on a run without an evaluation', () => {
  it('names the command that writes one for each family, and none where no command does', () => {
    expect(evalCommand('voice', 'runs/v')).toBe('npm run bench:voice -- runs/v --write-eval');
    expect(evalCommand('captioner', 'r')).toBe('npm run bench:caption -- r --write-eval');
    expect(evalCommand('translator', 'r')).toBe('npm run bench:translate -- r --write-eval');
    expect(evalCommand('summariser', 'r')).toBe('npm run bench:summarise -- r --write-eval');
    expect(evalCommand('clip-gan', 'r')).toBe('genlab eval-clips --model gan --checkpoint r --report r');
    for (const f of ['gpt', 'lstm', 'classifier', 'frame-ae', 'diffusion', 'gan', 'vae']) expect(evalCommand(f, 'r')).toBe('genlab eval r');
    expect(evalCommand('clip-text', 'r')).toBeUndefined();
  });
});
