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

const LINES = [
  'blame 22', 'blame 22/tcp --all', 'blame -a --json 127.0.0.1:631', '--repo /r blame /run/x.sock', '--repo=/r --config /c blame @abs --no-color',
  'blame --json 22 --repo /r', 'blame x"y', 'blame --all true', 'blame 22 --no-all', 'blame', 'blame 22 23', 'blame -5', 'blame --json=true 22',
  'log', 'log -n 5', 'log --max-count 5 --stat', 'log -n 2.5', 'log -n abc', 'log -n5', 'log -pn 2', 'log --since 2026-01-01 --until=2026-02-01',
  "log --since '3 days ago'", 'log --grep 22/tcp --netns host', 'log --container abc -p --json', 'log --patch', 'log --since', 'log --grep -x',
  'log --json false', 'log --bogus', 'log extra', '--json log', 'log -- -n', 'log --help', 'log -h', '--no-color log --color', 'log --repo a --repo b',
  'check', 'check -q', '--repo /r check --quiet --no-color', 'check --exit-code --json', 'check --exit-code=yes', 'scan', 'scan -q --established',
  '--config /c scan --json --exit-code', 'scan --help', 'scan now', 'status', 'status -a --json', 'status --all --no-color', 'status -aj',
];

describe('the yargs-free command line of blame and log', () => {
  it('reads what it accepts as yargs does, and accepts the common forms', async () => {
    let accepted = 0;
    for (const line of LINES) {
      const argv = line.match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'(.*)'$/, '$1'));
      const name = argv.find((w) => w in COMMANDS) ?? 'log';
      const [, options, positionals] = COMMANDS[name];
      const ours = readArgv(argv, name, positionals, options);
      if (!ours) continue;
      accepted++;
      const theirs = await viaYargs(argv);
      expect(theirs, line).not.toBe('error');
      const names = [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(options), ...positionals];
      const pick = (a: Record<string, unknown>) => Object.fromEntries(names.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
      expect(ours, line).toEqual(pick(theirs as Record<string, unknown>));
    }
    expect(accepted).toBeGreaterThanOrEqual(16);
    for (const plain of ['check -q', '--repo /r --config /c scan -q', 'blame 22', '--repo /r --config /c blame 22/tcp --all --json', 'log --since 2026-01-01 -n 20 --grep 22 --stat']) {
      const argv = plain.split(' ');
      const name = argv.find((w) => w in COMMANDS)!;
      expect(readArgv(argv, name, COMMANDS[name][2], COMMANDS[name][1]), plain).not.toBeNull();
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
});
