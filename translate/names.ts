/**
 * Container names as dockerd handles them: validation (daemon/names.go) and generated names in
 * moby's namesgenerator style, adjective_surname.
 */
import { invalidParameter } from './errors.js';

const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The stored form ("/name"); throws dockerd's 400 for an invalid name. */
export function normalizeName(name: string): string {
  if (!VALID_NAME.test(name)) {
    throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name : `/${name}`;
}

const ADJECTIVES = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold',
  'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending', 'confident', 'cool',
  'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated',
  'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty',
  'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful',
  'hungry', 'infallible', 'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing',
  'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty',
  'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical',
  'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic',
  'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant',
  'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
];

const SURNAMES = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'ardinghelli', 'babbage', 'banach', 'bardeen', 'bartik', 'bassi',
  'bell', 'benz', 'bhabha', 'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain',
  'brown', 'carson', 'cerf', 'chandrasekhar', 'chatelet', 'clarke', 'cohen', 'colden', 'cori', 'curie',
  'darwin', 'davinci', 'dijkstra', 'dirac', 'driscoll', 'dubinsky', 'easley', 'einstein', 'elbakyan', 'elgamal',
  'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo',
  'gates', 'goldberg', 'goldstine', 'goldwasser', 'goodall', 'hamilton', 'hawking', 'heisenberg', 'hermann', 'hodgkin',
  'hopper', 'hypatia', 'jackson', 'jang', 'jennings', 'johnson', 'kalam', 'kepler', 'khorana', 'kilby',
  'knuth', 'kowalevski', 'lalande', 'lamport', 'leakey', 'leavitt', 'lovelace', 'lumiere', 'mahavira', 'mayer',
  'mccarthy', 'mcclintock', 'meitner', 'mendel', 'merkle', 'mirzakhani', 'montalcini', 'moore', 'morse', 'napier',
  'nash', 'newton', 'nobel', 'noether', 'noyce', 'pascal', 'pasteur', 'payne', 'perlman', 'pike',
  'poincare', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind', 'saha', 'sammet', 'shannon',
  'shaw', 'shockley', 'sinoussi', 'snyder', 'spence', 'stonebraker', 'swanson', 'tesla', 'thompson', 'torvalds',
  'turing', 'varahamihira', 'villani', 'volhard', 'wescoff', 'wilbur', 'wiles', 'williams', 'wilson', 'wing',
  'wozniak', 'wright', 'wu', 'yalow', 'yonath', 'zhukovsky',
];

const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length)] as T;

/** A fresh adjective_surname not in `taken` (names without the leading slash); a digit is appended after collisions, as moby does. */
export function generateName(taken: (name: string) => boolean, random: () => number = Math.random): string {
  for (let attempt = 0; ; attempt++) {
    let name = `${pick(ADJECTIVES, random)}_${pick(SURNAMES, random)}`;
    // moby never generates "boring_wozniak" (Steve Wozniak is not boring).
    if (name === 'boring_wozniak') continue;
    if (attempt > 0) name += String(Math.floor(random() * 10));
    if (!taken(name)) return name;
  }
}
