// The commands people and cron run most, lsm -c / check and scan (the cron job: a no-change scan at
// 1k sockets is ~90 ms), status, and blame and log (answered from the journal in a few ms), would spend
// ~75 ms importing yargs and every other command. So a plain command line for them is read here,
// against the command's own option table (the one its yargs builder declares), and the command
// runs without yargs. Anything this reader is not sure of (--help, an unknown or repeated option,
// a flag group, a value that looks like a flag, a missing or extra positional) returns false:
// yargs reads it as it always did. LSM 0.6's flags (-g, -c, -d) become commands here, for both.
import type { CommandModule, Options } from 'yargs';
import { GLOBAL_OPTIONS } from './global-options.js';
import { LEGACY } from './legacy-flags.js';
import { checkArgv, wordsOf } from './option-check.js';
import { setColour } from './output.js';
import { startPager } from './pager.js';

interface FastCommand { default: CommandModule<object, object>; options: Record<string, Options> }

// commands whose module imports nothing heavy, with only <required> positionals
const COMMANDS: Record<string, () => Promise<FastCommand>> = {
  check: () => import('./check.js'),
  scan: () => import('./scan.js'),
  status: () => import('./status.js'),
  blame: () => import('./blame.js') as Promise<FastCommand>,
  log: () => import('./log.js'),
};

// lsm fleet status / where / log: the questions asked of a fleet (their module loads only the index reader)
const FLEET = new Set(['status', 'where', 'log']);


/**
 * LSM 0.6 flags become commands: -g baseline, -c check, -d forget; only before any command (its
 * own flags follow it). A word is a command unless it is a global option's value.
 */
export function rewriteLegacyFlags(args: string[]): string[] {
  const valued = new Set(Object.entries(GLOBAL_OPTIONS).filter(([, o]) => o.type === 'string').map(([k]) => `--${k}`));
  for (let i = 0; i < args.length; i++) {
    if (valued.has(args[i])) { i++; continue; }
    if (Object.hasOwn(LEGACY, args[i])) return [LEGACY[args[i]], ...args.slice(0, i), ...args.slice(i + 1)];
    if (!args[i].startsWith('-')) break; // a command is already named
  }
  return args;
}

type Value = string | number | boolean;

/**
 * Read `argv` (global options, the command, its positionals and options) as yargs would; null
 * when unsure. Command options count only after the command's (first) name; `command` may be two
 * words ('fleet status').
 */
export function readArgv(argv: string[], command: string, positionals: string[], options: Record<string, Options>): Record<string, Value> | null {
  const args: Record<string, Value> = {};
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') { words.push(a); continue; }
    const m = /^(?:--(no-)?([a-z][\w-]*)(?:=(.*))?|-([a-zA-Z]))$/.exec(a);
    if (!m) return null; // --, flag groups (-pn), -n5
    const table: Record<string, Options> = words.length ? { ...GLOBAL_OPTIONS, ...options } : GLOBAL_OPTIONS;
    const name = m[2] ?? m[4];
    const key = Object.keys(table).find((k) => k === name || [table[k].alias ?? []].flat().includes(name));
    if (key === undefined || Object.hasOwn(args, key)) return null;
    const type = table[key].type;
    if (type === 'boolean') {
      if (m[3] !== undefined || argv[i + 1] === 'true' || argv[i + 1] === 'false') return null; // yargs takes those as the value
      args[key] = !m[1];
      continue;
    }
    if (m[1] || (type !== 'string' && type !== 'number')) return null;
    const value = m[3] ?? argv[++i];
    if (value === undefined || /^-./.test(value)) return null;
    if (type === 'number' && !/^\d+$/.test(value)) return null;
    args[key] = type === 'number' ? Number(value) : value;
  }
  const names = command.split(' ');
  if (words.slice(0, names.length).join(' ') !== command || words.length !== positionals.length + names.length) return null;
  positionals.forEach((p, i) => { args[p] = words[i + names.length]; });
  for (const [k, o] of Object.entries({ ...GLOBAL_OPTIONS, ...options })) if (!Object.hasOwn(args, k) && 'default' in o) args[k] = o.default;
  return args;
}

/** Run one of COMMANDS without yargs when the command line is plain; false: use yargs. */
export async function fastPath(argv: string[]): Promise<boolean> {
  // a TAB: lsm --get-yargs-completions lsm WORDS... (bin/lsm sends it to completion-answer.js; this
  // when main.js is run directly)
  if (argv.includes('--get-yargs-completions')) {
    const { answer } = await import('./completion.js');
    process.stdout.write(answer(argv, process.env));
    return true;
  }
  const f = argv.indexOf('fleet');
  const name = f >= 0 && FLEET.has(argv[f + 1]) ? `fleet ${argv[f + 1]}` : argv.find((a) => Object.hasOwn(COMMANDS, a));
  if (name === undefined) return false;
  const { default: command, options } = name.startsWith('fleet ')
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: FAST's options are Record<string, unknown>
    ? (await import('./fleet-questions.js')).FAST[name.slice(6)] as unknown as FastCommand
    : await COMMANDS[name]();
  const spec = String(command.command);
  const positionals = [...spec.matchAll(/<(\w+)>/g)].map((m) => m[1]);
  // the values are checked as on yargs' path (option-check.ts) when the line is this command's
  const path = name.split(' ');
  if (wordsOf(argv, { ...GLOBAL_OPTIONS, ...options }).slice(0, path.length).join(' ') === name) checkArgv(argv, { path, options, positionals });
  const args = readArgv(argv, name, positionals, options);
  if (!args) return false;
  setColour(args.color !== false);
  startPager(name, args); // as on yargs' path (main.ts ends it)
  await (command.handler as (a: object) => Promise<void>)({ ...args, _: name.split(' '), $0: 'lsm' });
  return true;
}
