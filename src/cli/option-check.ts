// Every value on the command line is checked here, once, before any command runs: by main.ts for
// yargs' path and by fast-path.ts for its own. yargs' reading hides what was typed (--json=maybe
// is false, -n '' is 0, --grep given twice is an array the handler cannot use), so the words
// themselves are read, against the options each command declares:
//   - an option is given once (unless declared `array`);
//   - a flag (boolean) stands alone, or takes =true / =false; only a flag can be --no-;
//   - a number is a whole number in its range (a rule, or 0 .. 2^31-1);
//   - a string is not empty; `choices` and the option's rule (`coerce`, below) say the rest.
// A rule is the option's yargs `coerce`: yargs runs it on what it parsed, this module on the word
// typed; it returns the value unchanged and throws Refused saying what is allowed.
import type { CommandModule, Options } from 'yargs';
import { durationIn, formatDuration, parseTime } from '../duration.js';
import { EXIT, LsmError } from '../errors.js';
import { GLOBAL_OPTIONS } from './global-options.js';

export type Table = Record<string, Options>;

/** What a rule throws: the message says what is allowed ('a whole number from 1 to 10'). */
export class Refused extends Error {}

// typed as yargs gives the value (so the handler's types stay); checkValue passes the word typed
type Rule<T> = (value: T) => T;

const MAX_NUMBER = 2 ** 31 - 1;

/** A whole number from min to max (written in decimal digits only). */
export function wholeNumber(min: number, max = MAX_NUMBER): Rule<number> {
  return (v) => {
    if (v === undefined) return v;
    const text = String(v);
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new Refused(`a whole number from ${min} to ${max}`);
    return Number(text);
  };
}

/** A duration from min to max ms (10s, 500ms, 5m, 2h, 1d). */
export function duration(min: number, max: number): Rule<string> {
  return (v) => {
    if (v !== undefined && durationIn(String(v), min, max) === null) throw new Refused(`a duration from ${formatDuration(min)} to ${formatDuration(max)} (written as 10s, 5m, 2h, 1d)`);
    return v;
  };
}

/** A point in time lsm can read (a date, an ISO time, '3 days ago', 12h). */
export const time: Rule<string> = (v) => {
  if (v === undefined) return v;
  try { parseTime(String(v)); } catch { throw new Refused("a time such as 2026-11-24, '2026-11-24 08:00', '3 days ago' or 12h"); }
  return v;
};

// values are shown quoted, escaped and short: the message stays one line whatever was typed
const shown = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
const usage = (message: string) => new LsmError(message, EXIT.USAGE);

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const flagName = (key: string) => (key.length === 1 ? `-${key}` : `--${key}`);
// a word yargs reads as a value rather than an option: '-' and negative numbers
const isValueWord = (w: string) => !w.startsWith('-') || w === '-' || /^-\d/.test(w);
const HELP = new Set(['--help', '-h', '--version', '-V', '--get-yargs-completions']);

/** The key a spelling names (key, alias, or yargs' camelCase of either), or undefined. */
function keyOf(table: Table, name: string): string | undefined {
  const spelled = kebab(name);
  return Object.keys(table).find((k) => [k, ...[table[k].alias ?? []].flat()].some((n) => n === name || n === spelled));
}

function checkValue(key: string, option: Options, value: string): void {
  const refuse = (allowed: string) => usage(`${flagName(key)} ${shown(value)}: expected ${allowed}`);
  if (option.choices) {
    if (!(option.choices as unknown[]).includes(value)) throw refuse(`one of ${(option.choices as unknown[]).join(', ')}`);
    return;
  }
  if (option.type !== 'number' && value === '') throw usage(`${flagName(key)} needs a value`); // empty: as if none were given (--repo= is not the default)
  const rule = (option.coerce ?? (option.type === 'number' ? wholeNumber(0) : undefined)) as Rule<unknown> | undefined;
  try { rule?.(value); } catch (err) {
    if (err instanceof Refused) throw refuse(err.message);
    throw err;
  }
}

/**
 * The words of argv that are no option or option's value, read as yargs finds the command: with
 * only the options of `table` known, an unknown one takes the word after it as its value.
 */
export function wordsOf(argv: string[], table: Table): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return [...words, ...argv.slice(i + 1)];
    if (isValueWord(a)) { words.push(a); continue; }
    const m = /^--?(?:no-)?([^=]+)$/.exec(a);
    if (!m || i + 1 >= argv.length) continue;
    const key = keyOf(table, a.startsWith('--') ? m[1] : m[1].slice(-1));
    const next = argv[i + 1];
    if ((key === undefined || table[key].type !== 'boolean') ? isValueWord(next) : (next === 'true' || next === 'false')) i++;
  }
  return words;
}

/**
 * Check argv for one command: `path` its name ('log', 'fleet status'), `options` its own (the
 * global ones are added), `positionals` its positionals' names. Throws an LsmError (exit 2) naming
 * the first bad option, its value and what is allowed. --help and --version skip the check.
 */
export function checkArgv(argv: string[], command: { path: string[]; options: Table; positionals: string[] }): void {
  const end = argv.indexOf('--');
  if ((end < 0 ? argv : argv.slice(0, end)).some((a) => HELP.has(a))) return;
  const table: Table = { ...GLOBAL_OPTIONS, ...command.options };
  const given = new Map<string, string>();
  const words: string[] = [];
  const take = (key: string, value: string) => {
    if (given.has(key) && !table[key].array) throw usage(`${flagName(key)} given twice (${shown(given.get(key)!)} and ${shown(value)}): give it once`);
    given.set(key, value);
  };
  /** one option, as yargs reads it; returns how many following words it took as its value */
  const option = (key: string, negated: boolean, inline: string | undefined, next: string | undefined, typed: string): number => {
    const o = table[key];
    if (o.type === 'boolean') {
      if (inline !== undefined && (negated || !/^(true|false)$/.test(inline))) throw usage(`${shown(typed)}: ${flagName(key)} is a flag: give it alone (or =true, =false)`);
      const took = inline === undefined && !negated && (next === 'true' || next === 'false') ? 1 : 0; // yargs takes those as its value
      take(key, negated ? 'false' : inline ?? (took ? next! : 'true'));
      return took;
    }
    if (negated) throw usage(`--no-${key}: only a flag can be negated (${flagName(key)} takes a value)`);
    const took = inline === undefined && next !== undefined && isValueWord(next) ? 1 : 0;
    const value = inline ?? (took ? next : undefined);
    if (value === undefined) throw usage(`${flagName(key)} needs a value`);
    take(key, value);
    checkValue(key, o, value);
    return took;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { words.push(...argv.slice(i + 1)); break; }
    if (isValueWord(a)) { words.push(a); continue; }
    const long = /^--(no-)?([^=]+)(?:=([\s\S]*))?$/.exec(a);
    if (long) {
      const plain = keyOf(table, `${long[1] ?? ''}${long[2]}`); // an option named no-x is itself
      const key = plain ?? (long[1] ? keyOf(table, long[2]) : undefined);
      if (key !== undefined) i += option(key, plain === undefined && !!long[1], long[3], argv[i + 1], a);
      continue; // unknown: yargs says so (strict)
    }
    // -abc: flags; a valued one takes the rest of the word (-n5, -n=5) or, last, the next word
    const letters = a.slice(1);
    for (let j = 0; j < letters.length; j++) {
      const key = keyOf(table, letters[j]);
      if (key === undefined) continue;
      const rest = letters.slice(j + 1);
      const last = rest === '';
      if (table[key].type === 'boolean' && !rest.startsWith('=')) { i += option(key, false, undefined, last ? argv[i + 1] : undefined, a); continue; }
      i += option(key, false, last ? undefined : rest.replace(/^=/, ''), last ? argv[i + 1] : undefined, a);
      break;
    }
  }
  // positionals: an empty one names nothing (lsm blame '' would match every line)
  words.slice(command.path.length).forEach((w, n) => {
    if (w === '') throw usage(`${command.positionals[n] ? `<${command.positionals[n]}>` : 'an argument'} is empty: give it a value`);
  });
}

export interface Declared { options: Table; positionals: string[]; subcommands: Map<string, CommandModule<any, any>> } // eslint-disable-line @typescript-eslint/no-explicit-any

/** What a command's builder declares: its options, positionals and subcommands (its builder run against a recorder). */
export function declared(command: CommandModule<any, any>): Declared { // eslint-disable-line @typescript-eslint/no-explicit-any
  const d: Declared = { options: {}, positionals: [...String(command.command).matchAll(/[<[](\w+)[>\]]/g)].map((m) => m[1]), subcommands: new Map() };
  const recorder: unknown = new Proxy({}, {
    get: (_t, method) => (...a: unknown[]) => {
      if (method === 'option' || method === 'options') {
        if (typeof a[0] === 'string') d.options[a[0]] = a[1] as Options;
        else Object.assign(d.options, a[0]);
      }
      if (method === 'command') for (const c of [a[0]].flat() as CommandModule[]) d.subcommands.set(String(c.command).split(' ')[0], c);
      return recorder;
    },
  });
  if (typeof command.builder === 'function') (command.builder as (y: unknown) => unknown)(recorder);
  else if (command.builder) Object.assign(d.options, command.builder);
  return d;
}

/**
 * Check argv against the command it names among `commands` (a fleet subcommand with fleet's own
 * options too). A line that names no known command is left to yargs, which says so.
 */
export function checkCommandLine(argv: string[], commands: CommandModule<any, any>[]): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  const name = wordsOf(argv, GLOBAL_OPTIONS)[0];
  const command = commands.find((c) => String(c.command).split(' ')[0] === name);
  if (!command) return;
  let d = declared(command);
  const path = [name];
  if (d.subcommands.size) {
    const subName = wordsOf(argv, { ...GLOBAL_OPTIONS, ...d.options })[1];
    const sub = d.subcommands.get(subName);
    if (!sub) return;
    const s = declared(sub);
    d = { ...s, options: { ...d.options, ...s.options } };
    path.push(subName);
  }
  checkArgv(argv, { path, options: d.options, positionals: d.positionals });
}
