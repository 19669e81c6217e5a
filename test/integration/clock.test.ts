// A stepped clock (a host booted before its time was set, a wrong NTP server): the commit keeps the
// clock's word and says so, `lsm log --since` still finds every change stamped after the time asked
// (the journal's newest-time mark), and a reminder sent while the clock ran ahead is not years away.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clockStatusLine } from '../../src/run/clock.js';
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
  return runIn([], config, ...args);
}
/** lsm run behind `prefix` (unshare --time --boottime=N: a boot time N s ahead of the host's, the wall clock untouched) */
function runIn(prefix: string[], config: string, ...args: string[]) {
  const argv = [...prefix, process.execPath, LSM, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', LSM_CONFIG: config } });
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

  // Between runs the wall clock is compared with the boot time. A time namespace offsets the boot
  // time of the processes in it and never the wall clock: a run in one, after a run outside it, saw
  // its clock fall behind the boot time by the offset (a step back), and the next run outside saw
  // it catch up (a step forward). Real clocks, real /proc: nothing is pinned.
  describe('between runs, against the boot time', () => {
    const STEP = 3600;
    const ahead = ['unshare', '--time', `--boottime=${STEP}`];
    const proc = (name: string) => join(__dirname, '..', 'fixtures', name, 'proc');
    const world = (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), `lsm-clock-${name}-`));
      const repo = join(dir, 'repo');
      const metrics = join(dir, 'lsm.prom');
      const config = testConfig(join(dir, 'etc'), { METRICS_FILE: metrics });
      const lsm = (prefix: string[], fixture: string, ...args: string[]) => runIn(prefix, config, '-c', '--proc', proc(fixture), '--repo', repo, ...args);
      const state = join(repo, '.git', 'lsm', 'clock.json');
      return { dir, repo, metrics, config, lsm, state };
    };
    const quiet = (r: { code: number; stderr: string }) => [r.code, r.stderr.split('\n').filter((l) => l.includes('clock')).join('\n')];
    const metric = (file: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1]);

    it('a step back and a step forward are said: stderr, the commit, lsm status, the metrics; exit 0', () => {
      const w = world('steps');
      expect(quiet(w.lsm([], 'basic'))).toEqual([0, '']);
      // back: this run's boot time went on an hour more than its clock
      const back = w.lsm(ahead, 'hostile');
      expect(back.code).toBe(0);
      expect(back.stderr).toMatch(new RegExp(`^lsm: the clock stepped back by ${STEP} s between runs: since the run at \\S+ it counted \\d+ s, the boot time \\d+ s;`, 'm'));
      expect(git(w.repo, 'log', '-1', '--format=%B')).toContain(`the clock stepped back by ${STEP} s between runs`);
      expect(metric(w.metrics, 'lsm_clock_steps_total')).toBe(1);
      expect(metric(w.metrics, 'lsm_clock_last_step_seconds')).toBeCloseTo(-STEP, -1);
      // forward: no commit this run (nothing changed), said all the same
      const fwd = w.lsm([], 'hostile');
      expect(fwd.code).toBe(0);
      expect(fwd.stderr).toMatch(new RegExp(`^lsm: the clock stepped forward by ${STEP} s between runs`, 'm'));
      expect(git(w.repo, 'rev-list', '--count', 'HEAD')).toBe('2\n');
      expect(metric(w.metrics, 'lsm_clock_steps_total')).toBe(2);
      expect(metric(w.metrics, 'lsm_clock_last_step_seconds')).toBeCloseTo(STEP, -1);
      expect(metric(w.metrics, 'lsm_clock_last_step_timestamp_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
      const status = runIn([], w.config, 'status', '--proc', proc('basic'), '--repo', w.repo);
      expect(status.stdout).toMatch(new RegExp(`^the clock last stepped forward by ${STEP} s, seen at \\S+Z \\(2 steps seen between runs\\)$`, 'm'));
      // said once: the next run compares with this one
      expect(quiet(w.lsm([], 'hostile'))).toEqual([0, '']);
      expect(metric(w.metrics, 'lsm_clock_steps_total')).toBe(2);
    });

    it('a reboot is no step; a state lsm did not write is refused, never followed', () => {
      const w = world('refused');
      expect(quiet(w.lsm([], 'basic'))).toEqual([0, '']);
      // another boot an hour off: the boot time started again, nothing to compare
      const last = JSON.parse(readFileSync(w.state, 'utf8'));
      writeFileSync(w.state, JSON.stringify({ ...last, boot: '00000000-0000-4000-8000-000000000000', up: last.up + 3_600_000, steps: 4 }));
      expect(quiet(w.lsm([], 'basic'))).toEqual([0, '']);
      expect(JSON.parse(readFileSync(w.state, 'utf8'))).toMatchObject({ boot: last.boot, steps: 4 });
      // garbage: said, replaced by this run's reading
      writeFileSync(w.state, '{"boot":');
      expect(clockStatusLine(w.repo)).toBe(`the clock's last reading is not used (refusing ${w.state}: it does not read as lsm writes it): the next lsm -c records a new one`);
      const garbage = w.lsm([], 'basic');
      expect(garbage.code).toBe(0);
      expect(garbage.stderr).toContain(`lsm: the clock is not compared with the last run: refusing ${w.state}: it does not read as lsm writes it`);
      expect(JSON.parse(readFileSync(w.state, 'utf8'))).toMatchObject({ boot: last.boot, steps: 0 });
      // a link to a state elsewhere that says "an hour ahead": not read, not written, moved aside as damage
      const elsewhere = join(w.dir, 'elsewhere.json');
      const planted = JSON.stringify({ ...last, wall: last.wall + 3_600_000 });
      writeFileSync(elsewhere, planted);
      rmSync(w.state);
      symlinkSync(elsewhere, w.state);
      const link = w.lsm([], 'basic');
      expect(link.code).toBe(65);
      expect(link.stderr).toContain(`refusing ${w.state}: it is a symbolic link`);
      expect(link.stderr).toContain('.git/lsm/clock.json was a symbolic link');
      expect(link.stderr).not.toContain('stepped');
      expect(readFileSync(elsewhere, 'utf8')).toBe(planted);
      expect(lstatSync(w.state).isFile()).toBe(true);
      expect(readdirSync(join(w.repo, '.git', 'lsm', 'damaged')).some((f) => f.startsWith('lsm_clock.json.'))).toBe(true);
      expect(quiet(w.lsm([], 'basic'))).toEqual([0, '']);
      // a FIFO: opened without waiting for a writer, refused, moved aside
      rmSync(w.state);
      execFileSync('mkfifo', [w.state]);
      const fifo = w.lsm([], 'basic');
      expect([fifo.code, fifo.stderr]).toEqual([65, expect.stringContaining(`refusing ${w.state}: not a regular file`)]);
      expect(lstatSync(w.state).isFile()).toBe(true);
    });
  });
});
