// Every option of every command, read from the commands' own declarations (a new option is in the
// matrix without a word here), with a value it accepts and the mangled values it must refuse.
// Shared by the checker's unit test (the whole matrix) and the binary's test (a sample of it).
import type { Options } from 'yargs';
import { commands } from '../../src/cli/commands.js';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options.js';
import { declared, time, type Table } from '../../src/cli/option-check.js';

export interface CommandEntry { path: string[]; options: Table; own: Table; positionals: string[]; required: string[] }

/** Every command and fleet subcommand, with its options (fleet's own added to its subcommands'). */
export function allCommands(): CommandEntry[] {
  const out: CommandEntry[] = [];
  for (const c of commands) {
    const d = declared(c);
    const name = String(c.command).split(' ')[0];
    if (!d.subcommands.size) {
      out.push({ path: [name], options: d.options, own: d.options, positionals: d.positionals, required: [...String(c.command).matchAll(/<(\w+)>/g)].map((m) => m[1]) });
      continue;
    }
    for (const [sub, s] of d.subcommands) {
      const sd = declared(s);
      out.push({ path: [name, sub], options: { ...d.options, ...sd.options }, own: { ...d.options, ...sd.options }, positionals: sd.positionals, required: [...String(s.command).matchAll(/<(\w+)>/g)].map((m) => m[1]) });
    }
  }
  return out;
}

export const GLOBALS: Table = GLOBAL_OPTIONS;

const HUGE = '9'.repeat(40);

/** A value the option accepts (its first choice, a number in range, a duration or time its rule takes). */
export function goodValue(o: Options): string | null {
  if (o.type === 'boolean') return null;
  if (o.choices) return String((o.choices as unknown[])[0]);
  const rule = o.coerce as ((v: unknown) => unknown) | undefined;
  const candidates = o.type === 'number' ? ['1', '8080'] : ['x', '10s', '2h', '2026-01-01'];
  return candidates.find((c) => { try { rule?.(c); return true; } catch { return false; } }) ?? null;
}

/** The mangled forms of one option: argv words, each to be refused. */
export function mangles(key: string, o: Options): string[][] {
  const flag = key.length === 1 ? `-${key}` : `--${key}`;
  const good = goodValue(o);
  if (o.type === 'boolean') {
    return [[flag, flag], [flag, `--no-${key}`], [`${flag}=maybe`], [`${flag}=`], [`${flag}=1`], [`--no-${key}=true`]];
  }
  const out: string[][] = [[flag, good!, flag, good!], [`${flag}=`], [flag], [`--no-${key}`]];
  if (o.choices) out.push([flag, 'bogus'], [`${flag}=${String((o.choices as unknown[])[0]).toUpperCase()}`]);
  else if (o.type === 'number') out.push([flag, '-1'], [`${flag}=-1`], [flag, HUGE], [flag, 'abc'], [flag, '2.5'], [flag, '0x10'], [flag, '1e3']);
  else if (o.coerce) {
    out.push([flag, '-1d'], [flag, `${HUGE}d`], [flag, 'abc']);
    if (o.coerce !== time) out.push([flag, '0s'], [flag, '400d']); // a duration: below and above its range
  }
  return out;
}

/** A command line for the entry: its words, required positionals filled. */
export function line(c: CommandEntry, ...rest: string[]): string[] {
  return [...c.path, ...c.required.map(() => 'x'), ...rest];
}
