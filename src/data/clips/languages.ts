// Prompts in French, Spanish and German: a caption grammar per language (every attribute value,
// word orders natural to each) and the parallel corpus with English captions that the
// translators learn from. The digit is the noun: masculine in French and Spanish ("un 3 rouge",
// "el número 7"), feminine in German ("eine rote 3", "die Ziffer 7"), so adjectives agree with it.
// Templates are split as the English ones are: evaluation uses word orders training never shows.
import type { Rng } from '../../util/rng.js';
import { canonicalWords, FILLERS, SYNONYMS, tokenize } from './words.js';
import { ATTRIBUTE_NAMES, ATTRIBUTE_VALUES, type AttributeName, type Colour, type Direction, type ObjectAttributes, type Size, type Speed } from './world.js';

export const LANGUAGES = ['fr', 'es', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANGUAGE_NAMES: Record<Language, string> = { fr: 'French', es: 'Spanish', de: 'German' };

interface Lexicon {
  digits: string[];
  colour: Record<Colour, string[]>;
  /** a colour after the noun as a phrase ("en rouge", "de color rojo", "in Rot"), and bare as a predicate ("ist rot") */
  colourPost: Record<Colour, string[]>;
  colourBare: Record<Colour, string[]>;
  /** size words before the noun and after it */
  sizePre: Record<Size, string[]>;
  sizePost: Record<Size, string[]>;
  direction: Record<Direction, string[]>;
  speed: Record<Speed, string[]>;
  /** verbs that say the direction themselves ("monte", "baja", "steigt"), where the language has them */
  dirVerb: Partial<Record<Direction, string[]>>;
  /** ART: articles; NOUN: a noun before the digit ("le chiffre 3"); REL/VERB: a relative clause's opening, a verb form */
  art: string[];
  noun: string[];
  rel: string[];
  verb: string[];
  /** openings of a request ("montre-moi") */
  ask: string[];
}

export const LEXICONS: Record<Language, Lexicon> = {
  fr: {
    digits: ['zéro', 'un', 'deux', 'trois', 'quatre', 'cinq', 'six', 'sept', 'huit', 'neuf'],
    colour: { white: ['blanc'], red: ['rouge'], green: ['vert'], blue: ['bleu'], yellow: ['jaune'] },
    colourPost: { white: ['en blanc'], red: ['en rouge'], green: ['en vert'], blue: ['en bleu'], yellow: ['en jaune'] },
    colourBare: { white: ['blanc'], red: ['rouge'], green: ['vert'], blue: ['bleu'], yellow: ['jaune'] },
    sizePre: { small: ['petit', 'minuscule'], large: ['grand', 'gros', 'énorme'] },
    sizePost: { small: ['minuscule'], large: ['énorme'] },
    direction: { left: ['vers la gauche', 'à gauche'], right: ['vers la droite', 'à droite'], up: ['vers le haut', 'en haut'], down: ['vers le bas', 'en bas'] },
    speed: { slow: ['lentement', 'doucement'], fast: ['vite', 'rapidement'] },
    dirVerb: { up: ['monte'], down: ['descend'] },
    art: ['un', 'le'], noun: ['chiffre', 'nombre'], rel: ['qui'],
    verb: ['se déplace', 'bouge', 'glisse', 'avance', 'va'],
    ask: ['montre-moi', 'je veux voir', 'fais-moi une vidéo avec', 'affiche'],
  },
  es: {
    digits: ['cero', 'uno', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho', 'nueve'],
    colour: { white: ['blanco'], red: ['rojo'], green: ['verde'], blue: ['azul'], yellow: ['amarillo'] },
    colourPost: { white: ['en blanco', 'de color blanco'], red: ['en rojo', 'de color rojo'], green: ['en verde', 'de color verde'], blue: ['en azul', 'de color azul'], yellow: ['en amarillo', 'de color amarillo'] },
    colourBare: { white: ['blanco'], red: ['rojo'], green: ['verde'], blue: ['azul'], yellow: ['amarillo'] },
    sizePre: { small: ['pequeño'], large: ['gran'] },
    sizePost: { small: ['pequeño', 'diminuto', 'chico'], large: ['grande', 'enorme'] },
    direction: { left: ['hacia la izquierda', 'a la izquierda'], right: ['hacia la derecha', 'a la derecha'], up: ['hacia arriba', 'arriba'], down: ['hacia abajo', 'abajo'] },
    speed: { slow: ['despacio', 'lentamente', 'lento'], fast: ['rápido', 'rápidamente', 'deprisa'] },
    dirVerb: { up: ['sube'], down: ['baja'] },
    art: ['un', 'el'], noun: ['número', 'dígito'], rel: ['que'],
    verb: ['se mueve', 'va', 'se desliza', 'avanza', 'viaja'],
    ask: ['muéstrame', 'quiero ver', 'hazme un vídeo de', 'enséñame'],
  },
  de: {
    digits: ['null', 'eins', 'zwei', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun'],
    // after eine/die, or with no article, a feminine noun in the nominative takes -e
    colour: { white: ['weiße'], red: ['rote'], green: ['grüne'], blue: ['blaue'], yellow: ['gelbe'] },
    colourPost: { white: ['in Weiß'], red: ['in Rot'], green: ['in Grün'], blue: ['in Blau'], yellow: ['in Gelb'] },
    colourBare: { white: ['weiß'], red: ['rot'], green: ['grün'], blue: ['blau'], yellow: ['gelb'] },
    sizePre: { small: ['kleine', 'winzige'], large: ['große', 'riesige'] },
    sizePost: { small: ['klein'], large: ['groß'] },
    direction: { left: ['nach links'], right: ['nach rechts'], up: ['nach oben'], down: ['nach unten'] },
    speed: { slow: ['langsam', 'gemächlich'], fast: ['schnell', 'rasch', 'flink'] },
    dirVerb: { up: ['steigt'], down: ['sinkt', 'fällt'] },
    art: ['eine', 'die'], noun: ['Ziffer', 'Zahl'], rel: ['die'],
    verb: ['sich bewegt', 'gleitet', 'wandert', 'zieht', 'fährt'],
    ask: ['zeig mir', 'ich möchte sehen', 'mach mir ein Video mit', 'zeige'],
  },
};

// Slots: ART, NOUN? (optional noun before the digit), DIGIT, COLOUR (agreeing, before or after the
// noun as the language puts it), COLOURP (a phrase after it), COLOURB (bare, after "ist"), SIZE
// (before the noun), SIZEP (after it), DIR, SPEED, REL, VERB, DIRVERB (a verb that says up or down
// itself half the time, else VERB and DIR in the language's order), ASK; any other token is a word of the language.
export const LANGUAGE_TEMPLATES: Record<Language, { train: string[]; eval: string[] }> = {
  fr: {
    train: [
      'ART SIZE DIGIT COLOUR REL VERB DIR SPEED',
      'ART SIZE NOUN DIGIT COLOUR REL VERB SPEED DIR',
      'ASK ART SIZE DIGIT COLOUR REL VERB DIR SPEED',
      'ART DIGIT COLOUR SIZEP REL VERB SPEED DIR',
      'ART SIZE DIGIT COLOUR se déplaçant DIR SPEED',
      'ASK ART SIZE NOUN DIGIT COLOUR REL VERB DIR SPEED',
      'ART SIZE DIGIT COLOUR REL DIRVERB SPEED',
      'ART NOUN DIGIT COLOURP SIZEP REL VERB DIR SPEED',
    ],
    eval: [
      'ART DIGIT COLOUR et SIZEP allant SPEED DIR',
      'ASK ART SIZE DIGIT COLOURP REL DIRVERB SPEED',
      'SPEED DIR ART SIZE DIGIT COLOUR',
      'ASK ART NOUN DIGIT COLOUR SIZEP qui part DIR SPEED',
    ],
  },
  es: {
    train: [
      'ART DIGIT COLOUR SIZEP REL VERB DIR SPEED',
      'ART NOUN DIGIT COLOUR SIZEP REL VERB SPEED DIR',
      'ASK ART SIZE DIGIT COLOUR REL VERB DIR SPEED',
      'ART SIZE NOUN DIGIT COLOUR REL VERB DIR SPEED',
      'ART DIGIT COLOUR SIZEP moviéndose DIR SPEED',
      'ASK ART DIGIT COLOUR SIZEP REL VERB SPEED DIR',
      'ART DIGIT COLOUR SIZEP REL DIRVERB SPEED',
      'ART NOUN DIGIT COLOURP SIZEP REL VERB DIR SPEED',
    ],
    eval: [
      'ART DIGIT SIZEP y COLOUR yendo SPEED DIR',
      'ASK ART NOUN DIGIT SIZEP COLOURP REL DIRVERB SPEED',
      'SPEED DIR ART DIGIT COLOUR SIZEP',
      'ASK ART NOUN DIGIT SIZEP de color COLOUR que se va DIR SPEED',
    ],
  },
  de: {
    train: [
      'ART SIZE COLOUR DIGIT REL SPEED DIR VERB',
      'ART SIZE COLOUR NOUN DIGIT REL DIR SPEED VERB',
      'ASK ART SIZE COLOUR DIGIT REL SPEED DIR VERB',
      'ART SIZE COLOUR DIGIT bewegt sich SPEED DIR',
      'ART COLOUR DIGIT REL SIZEP ist und sich SPEED DIR bewegt',
      'ASK ART SIZE COLOUR NOUN DIGIT REL SPEED DIR VERB',
      'ART SIZE COLOUR DIGIT REL SPEED DIRVERB',
      'ART SIZE NOUN DIGIT COLOURP REL SPEED DIR VERB',
      'ART NOUN DIGIT ist SIZEP und COLOURB und bewegt sich SPEED DIR',
    ],
    eval: [
      'SPEED DIR gleitet ART SIZE COLOUR DIGIT',
      'ASK ART SIZE DIGIT COLOURP REL SPEED DIRVERB',
      'ART SIZE COLOUR DIGIT SPEED DIR',
      'ASK ART COLOUR NOUN DIGIT REL SIZEP ist und DIR VERB SPEED',
    ],
  },
};

const SLOT_OF: Record<AttributeName, string[]> = { digit: ['DIGIT'], colour: ['COLOUR', 'COLOURP', 'COLOURB'], direction: ['DIR'], speed: ['SPEED'], size: ['SIZE', 'SIZEP'] };

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** A caption of `a` in `lang` from one of its templates, leaving the attributes `omit` unsaid. */
export function foreignCaption(lang: Language, a: ObjectAttributes, rng: Rng, split: 'train' | 'eval' = 'train', omit: readonly AttributeName[] = []): string {
  const L = LEXICONS[lang], drop = new Set(omit.flatMap((k) => SLOT_OF[k]));
  const template = pick(rng, LANGUAGE_TEMPLATES[lang][split]);
  const words: string[] = [];
  for (const slot of template.split(' ')) {
    if (drop.has(slot)) continue;
    switch (slot) {
      case 'ART': words.push(pick(rng, L.art)); break;
      case 'NOUN': words.push(pick(rng, L.noun)); break;
      // German nouns, a spelled digit among them, are capitalised ("eine rote Sieben")
      case 'DIGIT': words.push(rng.next() < 0.5 ? String(a.digit) : lang === 'de' ? L.digits[a.digit][0].toUpperCase() + L.digits[a.digit].slice(1) : L.digits[a.digit]); break;
      case 'COLOUR': words.push(pick(rng, L.colour[a.colour])); break;
      case 'COLOURP': words.push(pick(rng, L.colourPost[a.colour])); break;
      case 'COLOURB': words.push(pick(rng, L.colourBare[a.colour])); break;
      case 'SIZE': words.push(pick(rng, L.sizePre[a.size])); break;
      case 'SIZEP': words.push(pick(rng, L.sizePost[a.size])); break;
      case 'DIR': words.push(pick(rng, L.direction[a.direction])); break;
      case 'SPEED': words.push(pick(rng, L.speed[a.speed])); break;
      // a German relative clause opens with a comma ("eine rote 3, die sich ... bewegt")
      case 'REL': if (lang === 'de' && words.length) words[words.length - 1] += ','; words.push(pick(rng, L.rel)); break;
      case 'VERB': words.push(pick(rng, L.verb)); break;
      case 'DIRVERB': {
        const implied = drop.has('DIR') ? undefined : L.dirVerb[a.direction];
        if (implied && rng.next() < 0.5) { words.push(pick(rng, implied)); break; }
        const verb = pick(rng, L.verb), dir = drop.has('DIR') ? [] : [pick(rng, L.direction[a.direction])];
        words.push(...(lang === 'de' ? [...dir, verb] : [verb, ...dir])); // German puts the verb last in a relative clause
        break;
      }
      case 'ASK': words.push(pick(rng, L.ask)); break;
      default: words.push(slot);
    }
  }
  const text = words.join(' ');
  // Spanish contracts de + el and a + el
  return lang === 'es' ? text.replace(/\bde el\b/g, 'del').replace(/\ba el\b/g, 'al') : text;
}

/** The English a translation should give: the canonical words of what the prompt names, in one fixed order ("a small red 3 moving left fast"). */
export function englishTarget(a: Partial<ObjectAttributes>): string {
  const w = (k: AttributeName) => (a[k] === undefined ? [] : canonicalWords({ [k]: a[k] } as Partial<ObjectAttributes>));
  const moving = a.direction !== undefined || a.speed !== undefined ? ['moving', ...w('direction'), ...w('speed')] : [];
  return ['a', ...w('size'), ...w('colour'), ...(a.digit === undefined ? ['digit'] : w('digit')), ...moving].join(' ');
}

/** One parallel pair: a prompt in `lang` naming `a` (minus `omit`) and its English target. */
export function parallelPair(lang: Language, a: ObjectAttributes, rng: Rng, split: 'train' | 'eval', omit: readonly AttributeName[] = []): { source: string; target: string } {
  const named = Object.fromEntries(ATTRIBUTE_NAMES.filter((k) => !omit.includes(k)).map((k) => [k, a[k]])) as Partial<ObjectAttributes>;
  return { source: foreignCaption(lang, a, rng, split, omit), target: englishTarget(named) };
}

/** Every word the language's grammar can produce, tokenized as prompts are. */
export function languageWords(lang: Language): Set<string> {
  const L = LEXICONS[lang];
  const phrases = [...L.digits, 'del', 'al', ...Object.values(L.colour).flat(), ...Object.values(L.colourPost).flat(), ...Object.values(L.colourBare).flat(), ...Object.values(L.dirVerb).flat(), ...Object.values(L.sizePre).flat(), ...Object.values(L.sizePost).flat(), ...Object.values(L.direction).flat(), ...Object.values(L.speed).flat(), ...L.art, ...L.noun, ...L.rel, ...L.verb, ...L.ask, ...Object.values(LANGUAGE_TEMPLATES[lang]).flat()];
  const words = new Set(phrases.flatMap((p) => tokenize(p)));
  for (const slot of ['ART', 'NOUN', 'DIGIT', 'COLOUR', 'COLOURP', 'COLOURB', 'SIZE', 'SIZEP', 'DIR', 'SPEED', 'REL', 'VERB', 'DIRVERB', 'ASK']) words.delete(slot.toLowerCase());
  return words;
}

const WORDS: Record<Language, Set<string>> = { fr: languageWords('fr'), es: languageWords('es'), de: languageWords('de') };
// the English parser's own words: its attribute phrases and fillers
const ENGLISH = new Set([...FILLERS, ...Object.values(SYNONYMS).flatMap((t) => Object.values(t as Record<string, string[]>).flat())].flatMap((w) => tokenize(w)).filter((w) => !/^\d+$/.test(w)));

/**
 * The language of a prompt: the one whose words cover most of its words (numerals count for none),
 * or 'en' when the English parser's words cover as many. Words shared by two languages ("un", "die") count for both.
 */
export function detectLanguage(text: string): Language | 'en' {
  const tokens = tokenize(text).filter((t) => !/^\d+$/.test(t));
  let best: Language | 'en' = 'en', bestScore = tokens.filter((t) => ENGLISH.has(t)).length;
  for (const lang of LANGUAGES) {
    const score = tokens.filter((t) => WORDS[lang].has(t)).length;
    if (score > bestScore) { best = lang; bestScore = score; }
  }
  return best;
}

/** A random pair: attributes, a language, maybe one or two attributes left unsaid. */
export function randomPair(rng: Rng, split: 'train' | 'eval', pOmit: number, lang?: Language): { lang: Language; source: string; target: string; named: Partial<ObjectAttributes> } {
  const a = Object.fromEntries(ATTRIBUTE_NAMES.map((k) => [k, ATTRIBUTE_VALUES[k][rng.int(ATTRIBUTE_VALUES[k].length)]])) as unknown as ObjectAttributes;
  const omit = rng.next() < pOmit ? ATTRIBUTE_NAMES.filter(() => rng.next() < 0.3).slice(0, 2) : [];
  const l = lang ?? LANGUAGES[rng.int(LANGUAGES.length)];
  const { source } = parallelPair(l, a, rng, split, omit);
  const named = Object.fromEntries(ATTRIBUTE_NAMES.filter((k) => !omit.includes(k)).map((k) => [k, a[k]])) as Partial<ObjectAttributes>;
  return { lang: l, source, target: englishTarget(named), named };
}
