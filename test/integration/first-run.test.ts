// The first scan says where the history went and what to run next (issue 20.1), on a terminal
// only: bin/lsm under a real pseudo-terminal (python's pty), and through a pipe, where the output
// stays the data alone (cron drops stdout; scripts parse it). A scan with nothing new says nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstScanHint } from '../../src/cli/first-run.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const BIN = join(__dirname, '..', '..', 'bin', 'lsm');
const PROC = join(__dirname, '..', 'fixtures', 'basic', 'proc');
const PTY = `
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
shown = b''
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    shown += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(shown)
sys.exit(os.waitstatus_to_exitcode(status))
`;
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const dir = mkdtempSync(join(tmpdir(), 'lsm first run-')); // a space: the commands quote the path
const config = testConfig(join(dir, 'etc'), { SENDMAIL: fakeSendmail(dir).path });
const env = { ...process.env, LSM_CONFIG: config, NO_COLOR: '1' };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function onTerminal(...args: string[]): { code: number; shown: string } {
  const r = spawnSync(PYTHON, ['-c', PTY, BIN, ...args, '--proc', PROC, '--no-pager'], { encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status ?? -1, shown: r.stdout.replace(/\r\n/g, '\n') };
}
const piped = (...args: string[]) => spawnSync(BIN, [...args, '--proc', PROC], { encoding: 'utf8', env });

describe('the first scan on a terminal', { timeout: 120_000 }, () => {
  it('lsm scan: where the history is and what to run next, before the sockets; nothing the second time', () => {
    const repo = join(dir, 'scan repo');
    const r = onTerminal('scan', '--repo', repo);
    expect(r.code).toBe(0);
    const q = `'${repo}'`;
    expect(r.shown.split('\n').slice(0, 3)).toEqual([
      `history: the git repository ${q} (lsm log --repo=${q}; git -C ${q} log -p)`,
      `next: lsm -g --repo=${q} approves this state as the baseline; lsm -c --repo=${q} (what cron runs) then reports changes and drift; lsm install schedules it`,
      expect.stringMatching(/^[0-9a-f]{10} first snapshot \+\d+ -0: /),
    ]);
    expect(r.shown).toMatch(/^\+ host\/tcp {2}/m);
    expect(onTerminal('scan', '--repo', repo)).toEqual({ code: 0, shown: '' }); // nothing new: nothing said
  });

  it('lsm -c: the baseline it approved, then the history and what comes next; lsm -g: the same after the baseline line', () => {
    const repo = join(dir, 'check repo');
    const r = onTerminal('-c', '--repo', repo);
    expect(r.code).toBe(0);
    const lines = r.shown.split('\n');
    expect(lines[0]).toMatch(/^no baseline yet: approved the current state \([0-9a-f]{10}\) as the baseline$/);
    expect(lines[1]).toBe(`history: the git repository '${repo}' (lsm log --repo='${repo}'; git -C '${repo}' log -p)`);
    expect(lines[2]).toBe(`next: lsm -c --repo='${repo}' (what cron runs) reports what changes from now on; lsm install schedules it`);
    expect(onTerminal('-c', '--repo', repo)).toEqual({ code: 0, shown: '' }); // cron's silence when nothing changed

    const g = onTerminal('-g', '--repo', join(dir, 'g'));
    expect(g.code).toBe(0);
    expect(g.shown).toMatch(/^[0-9a-f]{10} first snapshot \+\d+ -0: .*\nbaseline set to .*\nhistory: the git repository .*\/g' \(lsm log --repo=.*\nnext: lsm -c --repo=/);
  });

  it('through a pipe (cron, scripts): the data alone, no hint', () => {
    for (const [args, first] of [[['scan'], /^[0-9a-f]{10} first snapshot /], [['-c'], /^no baseline yet: /], [['-g'], /^[0-9a-f]{10} first snapshot /]] as const) {
      const r = piped(...args, '--repo', join(dir, `piped${args[0]}`));
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(first);
      expect(r.stdout).not.toMatch(/history:|next:/);
    }
  });

  it('the default repository needs no --repo in the commands', () => {
    expect(firstScanHint('/var/lib/lsm/snapshots', false, false)).toBe([
      'history: the git repository /var/lib/lsm/snapshots (lsm log; git -C /var/lib/lsm/snapshots log -p)',
      'next: lsm -g approves this state as the baseline; lsm -c (what cron runs) then reports changes and drift; lsm install schedules it',
    ].join('\n'));
  });
});
