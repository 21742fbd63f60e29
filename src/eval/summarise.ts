// The summariser measured on held-out chatty descriptions (phrasings training never used): exact
// attribute match of the parsed summary against what the person wanted, beside the parser alone
// on the raw description (a contradiction counts as a miss), and ms per description.
import { randomChatty } from '../data/clips/chatty.js';
import { parseText } from '../data/clips/words.js';
import { ATTRIBUTE_NAMES, type ObjectAttributes } from '../data/clips/world.js';
import { summarise, type LoadedSummariser } from '../pipelines/summarise.js';
import { Rng } from '../util/rng.js';

const same = (a: Partial<ObjectAttributes>, b: Partial<ObjectAttributes>) => ATTRIBUTE_NAMES.every((k) => a[k] === b[k]);

export interface SummaryScores { descriptions: number; exact: number; parserAlone: number; withCorrections: { n: number; exact: number; parserAlone: number }; msPerDescription: number; examples: { text: string; summary: string; wanted: string }[] }

export function scoreSummariser(s: LoadedSummariser, n: number, seed = 99): SummaryScores {
  const rng = new Rng(seed);
  let exact = 0, parser = 0, cn = 0, cExact = 0, cParser = 0;
  const examples: SummaryScores['examples'] = [], t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const e = randomChatty(rng, 'eval'), r = summarise(s, e.text);
    let p: Partial<ObjectAttributes> | undefined;
    try { p = parseText(e.text).objects[0]; } catch { p = undefined; }
    const ok = same(r.attributes, e.named), pOk = p !== undefined && same(p, e.named);
    exact += ok ? 1 : 0; parser += pOk ? 1 : 0;
    // descriptions with a second thought or a negation
    if (/ or rather | no wait | actually make that | sorry i mean |\bnot\b/.test(e.text)) { cn++; cExact += ok ? 1 : 0; cParser += pOk ? 1 : 0; }
    if (examples.length < 4) examples.push({ text: e.text, summary: r.summary, wanted: e.target });
  }
  return { descriptions: n, exact: exact / n, parserAlone: parser / n, withCorrections: { n: cn, exact: cn ? cExact / cn : 0, parserAlone: cn ? cParser / cn : 0 }, msPerDescription: (performance.now() - t0) / n, examples };
}
