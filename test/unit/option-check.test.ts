// Every value on the command line is checked before a command runs (option-check.ts): for every
// option of every command, as the commands declare them, each mangled form (given twice, empty,
// missing, negated, negative, huge, not a number, an unknown choice, a flag with a value) is one
// line and exit 2, and a good value of each passes. The binary's own test (cli-values) runs a
// sample of these for real; this one asks the checker itself, so the whole matrix costs no process.
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { commands } from '../../src/cli/commands.js';
import { LsmError } from '../../src/errors.js';
import { checkCommandLine, declared } from '../../src/cli/option-check.js';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options.js';
import { parseDuration, formatDuration, durationIn } from '../../src/duration.js';
import { GLOBALS, allCommands, goodValue, line, mangles } from '../helpers/option-matrix.js';

function refusal(argv: string[]): LsmError | null {
  try { checkCommandLine(argv, commands); return null; } catch (err) {
    if (err instanceof LsmError) return err;
    throw err;
  }
}

describe('every command-line value', () => {
  const all = allCommands();

  it('finds every command and its options in their declarations', () => {
    const names = all.map((c) => c.path.join(' '));
    for (const n of ['scan', 'check', 'log', 'watch', 'flush', 'install', 'uninstall', 'fleet init', 'fleet status', 'fleet log', 'fleet check']) expect(names).toContain(n);
    expect(Object.keys(all.find((c) => c.path[0] === 'watch')!.options).sort()).toEqual(['count', 'full-every', 'interval', 'quiet']);
    expect(all.reduce((n, c) => n + Object.keys(c.own).length, 0)).toBeGreaterThan(50);
  });

  it('refuses each mangled option of each command: exit 2, one line naming the option and the value', () => {
    let cases = 0;
    for (const c of all) {
      for (const [key, o] of Object.entries({ ...c.own, ...GLOBALS })) {
        for (const m of mangles(key, o)) {
          // after the command's words; a global option before them too ('--x cmd' alone: cmd is its value)
          const before = key in GLOBALS && !(m.length === 1 && o.type !== 'boolean' && !m[0].includes('='));
          for (const argv of before ? [line(c, ...m), [...m, ...line(c)]] : [line(c, ...m)]) {
            const err = refusal(argv);
            expect(err, argv.join(' ')).not.toBeNull();
            expect(err!.exitCode, argv.join(' ')).toBe(2);
            expect(err!.message, argv.join(' ')).not.toContain('\n');
            const spelled = key.length === 1 ? `-${key}` : `--${key}`;
            expect(err!.message, argv.join(' ')).toContain(spelled);
            cases++;
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(500);
  });

  it('passes each option given once with a good value (and every flag alone, =true, =false, --no-)', () => {
    for (const c of all) {
      for (const [key, o] of Object.entries({ ...c.own, ...GLOBALS })) {
        const flag = key.length === 1 ? `-${key}` : `--${key}`;
        const forms = o.type === 'boolean' ? [[flag], [`${flag}=true`], [`${flag}=false`], [flag, 'false'], [`--no-${key}`]] : [[flag, goodValue(o)!], [`${flag}=${goodValue(o)}`]];
        for (const f of forms) expect(refusal(line(c, ...f)), line(c, ...f).join(' ')).toBeNull();
      }
    }
  });

  it('passes nothing yargs would refuse: each good line is one yargs runs (the checker reads no option yargs does not know)', async () => {
    // every command with its handler (and its subcommands' handlers) replaced by a recorder
    type Any = CommandModule<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    let ran = false;
    const stub = (c: Any): Any => {
      const d = declared(c);
      if (!d.subcommands.size) return { ...c, handler: () => { ran = true; } };
      return { ...c, builder: (y) => y.options(d.options).command([...d.subcommands.values()].map(stub)), handler: () => { ran = true; } };
    };
    const stubs = commands.map(stub);
    for (const c of all) {
      for (const [key, o] of Object.entries(c.own)) {
        const flag = key.length === 1 ? `-${key}` : `--${key}`;
        const argv = line(c, ...(o.type === 'boolean' ? [flag] : [flag, goodValue(o)!]));
        expect(refusal(argv), argv.join(' ')).toBeNull();
        ran = false;
        let failed = '';
        await yargs(argv).options(GLOBAL_OPTIONS).command(stubs).strict().exitProcess(false).fail((m) => { failed = m; }).parseAsync();
        expect([ran, failed], argv.join(' ')).toEqual([true, '']);
      }
    }
  });

  it('says what was given and what is allowed', () => {
    const says = (argv: string) => refusal(argv.split(' '))?.message;
    expect(says('log --grep=22 --grep=80')).toBe('--grep given twice ("22" and "80"): give it once');
    expect(says('watch --interval 1s --interval=2s')).toBe('--interval given twice ("1s" and "2s"): give it once');
    expect(says('watch --interval 25d')).toBe('--interval "25d": expected a duration from 1s to 7d (written as 10s, 5m, 2h, 1d)');
    expect(says('watch --count -1')).toBe('--count "-1": expected a whole number from 1 to 2147483647');
    expect(says('flush --retry-dead=maybe')).toBe('"--retry-dead=maybe": --retry-dead is a flag: give it alone (or =true, =false)');
    expect(says('install --schedule hourly')).toBe('--schedule "hourly": expected one of cron, systemd, none');
    expect(says('log --no-grep')).toBe('--no-grep: only a flag can be negated (--grep takes a value)');
    expect(says('log -pn 5x')).toBe('-n "5x": expected a whole number from 0 to 2147483647');
    expect(says('--repo /a status --repo /b')).toBe('--repo given twice ("/a" and "/b"): give it once');
    expect(refusal(['blame', ''])?.message).toBe('<what> is empty: give it a value');
    expect(says('log --since=')).toBe('--since needs a value');
    expect(says('fleet check --silent-after 1ms')).toBeUndefined(); // the smallest there is (tests make every host silent)
    expect(refusal(['log', '--grep', 'a\nb', '--grep', 'x'.repeat(500)])?.message).toBe(`--grep given twice ("a\\nb" and "${'x'.repeat(60)}..."): give it once`);
  });

  it('reads the words as yargs does: values after --, help, flag groups, aliases and camelCase', () => {
    expect(refusal(['log', '-pn', '5'])).toBeNull();
    expect(refusal(['log', '-n5', '--max-count', '6'])?.message).toMatch(/^-n given twice/);
    expect(refusal(['check', '--exitCode', '--exit-code'])?.message).toMatch(/^--exit-code given twice/);
    expect(refusal(['blame', '--', '--json=maybe'])).toBeNull(); // a positional after --
    expect(refusal(['log', '--grep=', '--help'])).toBeNull(); // help is shown, nothing runs
    expect(refusal(['log', '--grep=-x'])).toBeNull();
    expect(refusal(['frobnicate', '--x=maybe'])).toBeNull(); // no such command: yargs says so
    expect(refusal(['completion', 'bash'])).toBeNull();
    // yargs finds the command as if unknown options took a value: -n 1 -n 1 log runs log
    expect(refusal(['-n', '1', '-n', '1', 'log'])?.message).toMatch(/^-n given twice/);
    expect(refusal(['--count', '-1', 'watch'])?.message).toMatch(/^--count "-1"/);
    expect(refusal(['--json', 'status', '--json=maybe'])).toBeNull(); // json=status: no command, yargs says so
  });

  it('bounds durations: what a timer can wait (2^31-1 ms) is above every range', () => {
    expect(durationIn('7d', 1e3, 7 * 864e5)).toBe(6048e5);
    expect(durationIn('7.5d', 1e3, 7 * 864e5)).toBeNull();
    expect(durationIn('999ms', 1e3, 7 * 864e5)).toBeNull();
    expect(parseDuration('25d')! > 2 ** 31 - 1).toBe(true);
    expect([formatDuration(864e5), formatDuration(6e4), formatDuration(90_000), formatDuration(1500)]).toEqual(['1d', '1m', '90s', '1500ms']);
  });
});
