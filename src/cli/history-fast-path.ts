// lsm blame and lsm log answer from the journal in a few ms, but yargs and the other commands take
// ~75 ms to import. So a plain command line for them is read here, against the command's own
// option table (the one its yargs builder declares), and the command runs without yargs. Anything
// this reader is not sure of (--help, an unknown or repeated option, a flag group, a value that
// looks like a flag, a missing or extra positional) returns false: yargs reads it as it always did.
import type { CommandModule, Options } from 'yargs';
import { GLOBAL_OPTIONS } from './global-options.js';
import { setColour } from './output.js';

interface FastCommand { default: CommandModule<object, object>; options: Record<string, Options> }

// commands whose module imports nothing heavy, with only <required> positionals
const COMMANDS: Record<string, () => Promise<FastCommand>> = {
  blame: () => import('./blame.js') as Promise<FastCommand>,
  log: () => import('./log.js') as Promise<FastCommand>,
};

type Value = string | number | boolean;

/**
 * Read `argv` (global options, the command, its positionals and options) as yargs would; null
 * when unsure. Command options count only after the command's name.
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
  if (words[0] !== command || words.length !== positionals.length + 1) return null;
  positionals.forEach((p, i) => { args[p] = words[i + 1]; });
  for (const [k, o] of Object.entries({ ...GLOBAL_OPTIONS, ...options })) if (!Object.hasOwn(args, k) && 'default' in o) args[k] = o.default as Value;
  return args;
}

/** Run lsm blame or lsm log without yargs when the command line is plain; false: use yargs. */
export async function historyFastPath(argv: string[]): Promise<boolean> {
  const name = argv.find((a) => Object.hasOwn(COMMANDS, a));
  if (name === undefined) return false;
  const { default: command, options } = await COMMANDS[name]();
  const spec = String(command.command);
  const positionals = [...spec.matchAll(/<(\w+)>/g)].map((m) => m[1]);
  const args = readArgv(argv, name, positionals, options);
  if (!args) return false;
  setColour(args.color !== false);
  await (command.handler as (a: object) => Promise<void>)({ ...args, _: [name], $0: 'lsm' });
  return true;
}
