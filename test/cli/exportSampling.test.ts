// What an export recommends for sampling comes from the evaluation it carries: an image eval's
// sampler, or the diffusion row of a clip eval (its steps and guidance, with the figures).
import { describe, expect, it } from 'vitest';
import { recommendedSampling } from '../../src/cli/export.js';

const m = (exact: number) => ({ exact, perAttribute: { digit: 0.5, colour: 0.9, direction: 0.7, speed: 0.6, size: 0.8 } });

describe('recommendedSampling', () => {
  it('takes a clip evaluation\'s diffusion settings, not the true renderer\'s or a one-pass model\'s row', () => {
    const s = recommendedSampling({ command: 'genlab eval-clips --n 100', prompts: 100, rows: [{ name: 'true renderer', m: m(0.99) }, { name: 'gan', steps: 1, guidance: 0, m: m(0.1) }, { name: 'diffusion (15 steps, guidance 4)', steps: 15, guidance: 4, m: m(0.25) }] });
    expect(s).toMatchObject({ steps: 15, guidance: 4, scheduler: 'ddim' });
    expect(s!.chosenBy).toBe('genlab eval-clips --n 100: exact 25.0%, digit 50.0%, colour 90.0%, direction 70.0%, speed 60.0%, size 80.0% on 100 prompts');
  });
  it('recommends nothing from a clip evaluation without a diffusion row', () => {
    expect(recommendedSampling({ command: 'x', prompts: 5, rows: [{ name: 'true renderer', m: m(1) }] })).toBeUndefined();
  });
});
