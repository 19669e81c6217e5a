// A stepped clock (a host booted before its time was set, a wrong NTP server): the commit keeps the
// clock's word and says so, `lsm log --since` still finds every change stamped after the time asked
// (the journal's newest-time mark), and a reminder sent while the clock ran ahead is not years away.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitSnapshot } from '../../src/store/commit.js';
import type { Snapshot } from '../../src/types.js';
import { LSM } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const H = 3_600_000;
const A = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
const B = '0.0.0.0:80  nginx  root  /usr/sbin/nginx';
const C = '0.0.0.0:4444  nc  root  /usr/bin/nc';
const D = '0.0.0.0:5555  nc  root  /usr/bin/nc';
const snap = (tcp: string[]): Snapshot => new Map([['host/tcp', tcp], ['host/udp', []]]);
const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
function run(config: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [LSM, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const logged = (config: string, repo: string, since: string) => {
  const r = run(config, 'log', '--since', since, '--json', '--repo', repo);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).change.commit as string);
};

describe('a stepped clock', () => {
  it('a commit stamped before its parent says so, and log --since still lists every change stamped since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-clock-'));
    const repo = join(dir, 'repo');
    const config = testConfig(join(dir, 'etc'));
    const now = Date.now();
    const c1 = (await commitSnapshot(repo, snap([A]), { now: now - 2 * H }))!;
    const c2 = (await commitSnapshot(repo, snap([A, B]), { now: now - H }))!;
    expect(c2.clock).toBeUndefined();
    // the clock stepped back a day: the change is recorded and alerted as usual, its time is the clock's word
    const c3 = (await commitSnapshot(repo, snap([A, B, C]), { now: now - 24 * H }))!;
    expect(c3.clock).toMatch(new RegExp(`^the clock read \\S+, before the previous commit's \\S+ \\(stepped back by 82800 s\\): commit ${c3.commit.slice(0, 10)} stamped as the clock read`));
    expect(git(repo, 'log', '-1', '--format=%B')).toContain('stepped back by 82800 s');
    // newest first, in commit order; c3 itself is stamped a day ago: not since 3h, but it hides nothing older
    expect(logged(config, repo, '3h')).toEqual([c2.commit, c1.commit]);
    expect(logged(config, repo, '2d')).toEqual([c3.commit, c2.commit, c1.commit]);
    const c4 = (await commitSnapshot(repo, snap([A, B, C, D]), { now: now - 23 * H }))!; // still behind c2
    expect(c4.clock).toBeUndefined(); // after its parent: no new step
    expect(logged(config, repo, '90m')).toEqual([c2.commit]);
    // the journal as history gives it (verify), and reindex writes the same bytes
    const journal = join(repo, '.git', 'lsm', 'journal.jsonl');
    const before = readFileSync(journal, 'utf8');
    expect(before.split('\n').filter((l) => l.includes('"m":')).length).toBe(2);
    expect(run(config, 'verify', '--repo', repo)).toMatchObject({ code: 0, stderr: '' });
    expect(run(config, 'reindex', '--repo', repo).code).toBe(0);
    expect(readFileSync(journal, 'utf8')).toBe(before);
    // the clock right again: the walk stops where every older record is too old
    const c5 = (await commitSnapshot(repo, snap([A]), { now }))!;
    expect(c5.clock).toBeUndefined();
    expect(logged(config, repo, '30m')).toEqual([c5.commit]);
  });

  it('a reminder sent while the clock ran years ahead: due now, not when the clock catches up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-clock-remind-'));
    const repo = join(dir, 'repo');
    const etc = join(dir, 'etc');
    const config = testConfig(etc, { DRIFT_REMINDER_HOURS: '0.001' }); // 3.6 s
    const proc = (name: string) => join(__dirname, '..', 'fixtures', name, 'proc');
    expect(run(config, '-g', '--proc', proc('basic'), '--repo', repo).code).toBe(0);
    expect(run(config, '-c', '--proc', proc('hostile'), '--repo', repo).code).toBe(0);
    writeFileSync(join(repo, '.git', 'lsm', 'drift-reminded'), String(Date.now() + 10 * 365 * 24 * H));
    await new Promise((r) => setTimeout(r, 4_000));
    const due = run(config, '-c', '--proc', proc('hostile'), '--repo', repo);
    expect(due.code).toBe(0);
    expect(due.stdout).toMatch(/reminder sent\n$/);
  });
});
