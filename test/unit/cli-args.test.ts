// The yargs-free reading of lsm blame / lsm log command lines: whatever it accepts, yargs reads the
// same way (same values, and no error); what it is unsure of it leaves to yargs.
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import type { CommandModule, Options } from 'yargs';
import blameCommand, { options as blameOptions } from '../../src/cli/blame.js';
import logCommand, { options as logOptions } from '../../src/cli/log.js';
import checkCommand, { options as checkOptions } from '../../src/cli/check.js';
import scanCommand, { options as scanOptions } from '../../src/cli/scan.js';
import statusCommand, { options as statusOptions } from '../../src/cli/status.js';
import { GLOBAL_OPTIONS } from '../../src/cli/global-options.js';
import { readArgv, rewriteLegacyFlags } from '../../src/cli/fast-path.js';
import { FAST as FLEET, fleetOption } from '../../src/cli/fleet-questions.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const COMMANDS: Record<string, [CommandModule<any, any>, Record<string, Options>, string[]]> = {
  blame: [blameCommand, blameOptions, ['what']],
  log: [logCommand, logOptions, []],
  check: [checkCommand, checkOptions, []],
  scan: [scanCommand, scanOptions, []],
  status: [statusCommand, statusOptions, []],
};

/** What yargs hands the command's handler, or 'error'. */
async function viaYargs(argv: string[]): Promise<Record<string, unknown> | 'error'> {
  let got: Record<string, unknown> | 'error' = 'error';
  let parser = yargs(argv).options(GLOBAL_OPTIONS).strict().exitProcess(false).fail(() => { got = 'error'; });
  for (const [command] of Object.values(COMMANDS)) parser = parser.command({ ...command, handler: (a: Record<string, unknown>) => { got = a; } });
  await parser.parseAsync();
  return got;
}

// The fast path takes the plain forms admins type; anything odd (numbers yargs would coerce,
// bundled or repeated flags, --help, an extra word, a flag value that looks like a flag) it
// declines, and yargs reads it. Both lists are exact: a change to either side shows here.
const ACCEPTED = [
  'blame 22', 'blame 22/tcp --all', 'blame -a --json 127.0.0.1:631', '--repo /r blame /run/x.sock',
  '--repo=/r --config /c blame @abs --no-color', 'blame --json 22 --repo /r', 'blame x"y', 'blame 22 --no-all', 'log',
  'log -n 5', 'log --max-count 5 --stat', 'log --since 2026-01-01 --until=2026-02-01', "log --since '3 days ago'",
  'log --grep 22/tcp --netns host', 'log --container abc -p --json', 'log --patch', 'check', 'check -q',
  '--repo /r check --quiet --no-color', 'check --exit-code --json', 'scan', 'scan -q --established',
  '--config /c scan --json --exit-code', 'status', 'status -a --json', 'status --all --no-color',
];
const DECLINED = [
  'blame --all true', 'blame', 'blame 22 23', 'blame -5', 'blame --json=true 22', 'log -n 2.5', 'log -n abc',
  'log -n5', 'log -pn 2', 'log --since', 'log --grep -x', 'log --json false', 'log --bogus', 'log extra', '--json log',
  'log -- -n', 'log --help', 'log -h', '--no-color log --color', 'log --repo a --repo b', 'check --exit-code=yes',
  'scan --help', 'scan now', 'status -aj',
];
const words = (line: string) => line.match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'(.*)'$/, '$1'));
const fastPath = (argv: string[]) => {
  const name = argv.find((w) => w in COMMANDS) ?? 'log';
  const [, options, positionals] = COMMANDS[name];
  return { ours: readArgv(argv, name, positionals, options), options, positionals };
};

describe('the yargs-free command line of blame and log', () => {
  it('accepts exactly the lines it should, and reads each as yargs does', async () => {
    for (const line of ACCEPTED) {
      const argv = words(line);
      const { ours, options, positionals } = fastPath(argv);
      expect(ours, line).not.toBeNull();
      const theirs = await viaYargs(argv);
      expect(theirs, line).not.toBe('error');
      const names = [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(options), ...positionals];
      const pick = (a: Record<string, unknown>) => Object.fromEntries(names.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
      expect(ours, line).toEqual(pick(theirs as Record<string, unknown>));
    }
  });

  it('declines exactly the lines it cannot be sure of (yargs reads those)', () => {
    for (const line of DECLINED) expect(fastPath(words(line)).ours, line).toBeNull();
    for (const plain of ['--repo /r --config /c scan -q', '--repo /r --config /c blame 22/tcp --all --json', 'log --since 2026-01-01 -n 20 --grep 22 --stat']) {
      expect(fastPath(plain.split(' ')).ours, plain).not.toBeNull();
    }
  });

  it("turns LSM's -g, -c and -d into commands, only before a command", () => {
    expect(rewriteLegacyFlags(['-c'])).toEqual(['check']);
    expect(rewriteLegacyFlags(['--repo', '/r', '-c', '-q'])).toEqual(['check', '--repo', '/r', '-q']);
    expect(rewriteLegacyFlags(['-g', '--config', '/c'])).toEqual(['baseline', '--config', '/c']);
    expect(rewriteLegacyFlags(['--no-color', '-d', '--purge', '--yes'])).toEqual(['forget', '--no-color', '--purge', '--yes']);
    expect(rewriteLegacyFlags(['scan', '-c'])).toEqual(['scan', '-c']); // scan's own (unknown) flag: yargs says so
    expect(rewriteLegacyFlags(['--repo', '-c'])).toEqual(['--repo', '-c']); // a value, however odd
  });

  it('reads lsm fleet status / where / log as yargs does, and declines the rest', async () => {
    const viaYargsFleet = async (argv: string[]) => {
      let got: Record<string, unknown> | 'error' = 'error';
      const subs = Object.values(FLEET).map(({ default: c }) => ({ ...c, handler: (a: Record<string, unknown>) => { got = a; } }));
      await yargs(argv).options(GLOBAL_OPTIONS).strict().exitProcess(false).fail(() => { got = 'error'; })
        .command({ command: 'fleet <command>', describe: 'fleet', builder: (y) => y.options(fleetOption).command(subs), handler: () => {} }).parseAsync();
      return got;
    };
    const ours = (argv: string[]) => {
      const sub = argv[argv.indexOf('fleet') + 1];
      const c = FLEET[sub];
      const positionals = [...String(c.default.command).matchAll(/<(\w+)>/g)].map((m) => m[1]);
      return { args: readArgv(argv, `fleet ${sub}`, positionals, c.options as Record<string, Options>), names: [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(c.options), ...positionals] };
    };
    for (const line of ['fleet status', 'fleet status --json --fleet /srv/f.git', '--config /c fleet status --silent-after 2h', 'fleet where 4444', 'fleet where 4444/tcp --json', 'fleet where 127.0.0.1:631 --fleet /f',
      "fleet log --since '1 day ago' --json", 'fleet log --host web-1 --grep 22/tcp']) {
      const argv = words(line);
      const { args, names } = ours(argv);
      expect(args, line).not.toBeNull();
      const theirs = await viaYargsFleet(argv);
      expect(theirs, line).not.toBe('error');
      const pick = (a: Record<string, unknown>) => Object.fromEntries(names.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
      expect(args, line).toEqual(pick(theirs as Record<string, unknown>));
    }
    for (const line of ['fleet where', 'fleet where 1 2', 'fleet status extra', 'fleet status --help', 'fleet log --bogus', 'fleet log --since', 'fleet status --json=true', 'fleet where --json -4']) {
      expect(ours(words(line)).args, line).toBeNull();
    }
  });
});
