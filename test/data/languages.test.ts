import { describe, expect, it } from 'vitest';
import { detectLanguage, englishTarget, foreignCaption, LANGUAGE_TEMPLATES, LANGUAGES, LEXICONS, parallelPair } from '../../src/data/clips/languages.js';
import { parseText, tokenize } from '../../src/data/clips/words.js';
import { ATTRIBUTE_VALUES, type ObjectAttributes } from '../../src/data/clips/world.js';
import { Rng } from '../../src/util/rng.js';

const all = (): ObjectAttributes[] => ATTRIBUTE_VALUES.digit.flatMap((digit) => ATTRIBUTE_VALUES.colour.flatMap((colour) => ATTRIBUTE_VALUES.direction.flatMap((direction) =>
  ATTRIBUTE_VALUES.speed.flatMap((speed) => ATTRIBUTE_VALUES.size.map((size) => ({ digit, colour, direction, speed, size }))))));

describe('prompt grammars in French, Spanish and German', () => {
  it('have words for every attribute value, and no word that means two values of one attribute', () => {
    for (const lang of LANGUAGES) {
      const L = LEXICONS[lang];
      expect(L.digits).toHaveLength(10);
      for (const [attr, table] of [['colour', L.colour], ['colourPost', L.colourPost], ['colourBare', L.colourBare], ['direction', L.direction], ['dirVerb', L.dirVerb], ['speed', L.speed], ['sizePre', L.sizePre], ['sizePost', L.sizePost]] as const) {
        const values = Object.keys(table), of = attr.startsWith('size') ? ATTRIBUTE_VALUES.size : attr.startsWith('colour') ? ATTRIBUTE_VALUES.colour : attr === 'dirVerb' ? ['up', 'down'] : ATTRIBUTE_VALUES[attr as 'direction' | 'speed'];
        expect(values.sort(), `${lang} ${attr}`).toEqual([...of].sort());
        const seen = new Map<string, string>();
        for (const [v, words] of Object.entries(table as Record<string, string[]>)) {
          expect(words.length, `${lang} ${attr} ${v}`).toBeGreaterThan(0);
          for (const w of words) { expect(seen.get(w) ?? v, `${lang} "${w}" is two ${attr}s`).toBe(v); seen.set(w, v); }
        }
      }
    }
  });
  it('say every attribute in every template, and evaluation templates are not training templates', () => {
    for (const lang of LANGUAGES) {
      const { train, eval: ev } = LANGUAGE_TEMPLATES[lang];
      for (const t of [...train, ...ev]) for (const slots of [['DIGIT'], ['COLOUR', 'COLOURP', 'COLOURB'], ['DIR', 'DIRVERB'], ['SPEED']]) expect(t.split(' ').some((w) => slots.includes(w)), `${lang}: ${t} lacks ${slots[0]}`).toBe(true);
      for (const t of [...train, ...ev]) expect(t.split(' ').some((w) => w === 'SIZE' || w === 'SIZEP'), `${lang}: ${t}`).toBe(true);
      for (const t of ev) expect(train).not.toContain(t);
    }
  });
  it('put the digit, and its value words, into captions of every combination; an omitted attribute leaves the caption and the English target', () => {
    const rng = new Rng(11);
    for (const lang of LANGUAGES) {
      const L = LEXICONS[lang];
      for (const a of all()) {
        const split = rng.next() < 0.5 ? 'train' : 'eval';
        const text = foreignCaption(lang, a, rng, split);
        const tokens = tokenize(text).join(' ');
        expect(tokens.includes(String(a.digit)) || tokenize(L.digits[a.digit]).every((w) => tokens.split(' ').includes(w)), `${lang}: ${text}`).toBe(true);
        expect([...L.colour[a.colour], ...L.colourPost[a.colour], ...L.colourBare[a.colour]].some((w) => tokens.includes(tokenize(w).join(' '))), `${lang}: ${text}`).toBe(true);
        expect([...L.direction[a.direction], ...(L.dirVerb[a.direction] ?? [])].some((w) => tokens.includes(tokenize(w).join(' '))), `${lang}: ${text}`).toBe(true);
      }
      const p = parallelPair(lang, { digit: 4, colour: 'blue', direction: 'up', speed: 'fast', size: 'small' }, rng, 'train', ['speed', 'colour']);
      expect(p.target).toBe('a small 4 moving up');
      for (const w of [...L.speed.fast, ...L.colour.blue]) expect(tokenize(p.source)).not.toContain(tokenize(w)[0]);
    }
  });
  it('translate to English targets that the English parser reads back exactly', () => {
    for (const a of all()) expect(parseText(englishTarget(a)).objects[0]).toEqual(a);
    expect(parseText(englishTarget({ colour: 'red' })).objects[0]).toEqual({ colour: 'red' });
  });
  it('detects the language of its own captions, and English as English', () => {
    const rng = new Rng(5), combos = all();
    for (const lang of LANGUAGES) {
      let right = 0;
      for (let i = 0; i < 200; i++) right += detectLanguage(foreignCaption(lang, combos[rng.int(combos.length)], rng, i % 2 ? 'train' : 'eval')) === lang ? 1 : 0;
      expect(right, lang).toBe(200);
    }
    expect(detectLanguage('a big red 3 moving left quickly')).toBe('en');
    expect(detectLanguage('eine rote 3, die nach links fährt')).toBe('de');
    expect(detectLanguage('un 3 rouge qui va à gauche')).toBe('fr');
    expect(detectLanguage('un 3 rojo que va a la izquierda')).toBe('es');
  });
});
describe('language detection of short English prompts', () => {
  it('reads "a 5", "the 3" and "a red 3" as English (a word shared with Spanish is not enough)', () => {
    for (const t of ['a 5', 'the 3', 'a red 3', 'a 0 moving up', '7']) expect(detectLanguage(t), t).toBe('en');
  });
});
