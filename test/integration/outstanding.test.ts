// What a run could not do is said until it is done (issue 17, never silent): an alert not spooled,
// an event log that could not record, a damaged repository show in the exit code (a failure is
// never hidden by --exit-code's 3), in `lsm status` (what, since when, what to run) and in
// METRICS_FILE, and go once a run did the job; `lsm watch` goes on through them and its exit says
// whether one is still outstanding when it ends. Real tmpfs file systems filled for real.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fullDisks, sh } from '../helpers/full-disk.js';
import { LSM, ROOT } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const FIX = join(ROOT, 'test', 'fixtures');
const PROCS = [join(FIX, 'basic', 'proc'), join(FIX, 'hostile', 'proc')];

function lsm(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [LSM, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sample of a Prometheus text file, null when absent. */
function sample(file: string, name: string): number | null {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

/** lsm watch (12 looks, 1 s apart, a full scan each) started on PROCS[1], once it said that its event log could not record. */
async function watchUntilLogFails(repo: string, env: Record<string, string>, extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [LSM, 'watch', '--count', '12', '--interval', '1s', '--full-every', '1s', '-q', '--repo', repo, '--proc', PROCS[1]], { env: { ...process.env, NO_COLOR: '1', ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ended = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (let i = 0; i < 200 && !/eventlog: cannot write/.test(stderr); i++) await sleep(50);
  if (!/eventlog: cannot write the event log .*: no space left on device/.test(stderr)) child.kill('SIGKILL');
  expect(stderr).toMatch(/eventlog: cannot write the event log .*: no space left on device/);
  return { child, ended };
}

describe('what a run could not do, said until it is done', { timeout: 120_000 }, () => {
  const disks = fullDisks('lsm-outstanding-');
  const { mount, fill } = disks;
  /** A config whose EVENT_LOG or SPOOL_DIR (key) is on a small disk of its own; METRICS_FILE beside it. */
  const setup = (name: string, key: 'EVENT_LOG' | 'SPOOL_DIR') => {
    const small = mount(name, 'size=300k');
    const etc = join(disks.tmp, `etc-${name}`);
    mkdirSync(join(etc, 'metrics'), { recursive: true });
    const metrics = join(etc, 'metrics', 'lsm.prom');
    const config = testConfig(etc, { [key]: join(small, key === 'EVENT_LOG' ? 'events.jsonl' : 'spool'), METRICS_FILE: metrics });
    return { small, metrics, env: { LSM_CONFIG: config }, repo: join(disks.tmp, `repo-${name}`) };
  };

  it('check --exit-code: an event log that could not record is exit 1, not 3; status and metrics say it until it records', () => {
    const { small, metrics, env, repo } = setup('log', 'EVENT_LOG');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    fill(small);
    const r = lsm(['-c', '--exit-code', '--repo', repo, '--proc', PROCS[1]], env);
    expect(r.stderr).toMatch(/eventlog: cannot write the event log .*: no space left on device/);
    expect(r.code).toBe(1); // drift too, but a failure wins over "changed"
    const status = lsm(['status', '--repo', repo, '--proc', PROCS[1]], env);
    expect(status.stdout).toMatch(new RegExp(`^event log ${join(small, 'events.jsonl')} could not record \\(exit 1\\) since \\d{4}-\\S+Z: alert [0-9a-f]{10}: eventlog: cannot write the event log .*: no space left on device; the alerts stay spooled: free the space, then lsm flush$`, 'm'));
    expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="eventlog"}'), sample(metrics, 'lsm_problem{kind="spool"}')]).toEqual([0, 1, 0]);
    expect(sample(metrics, 'lsm_problem_since_timestamp_seconds{kind="eventlog"}')).toBeGreaterThan(0);
    // the next run, with the alert still waiting for the log (its back-off), fails too, since the first time
    const since = sample(metrics, 'lsm_problem_since_timestamp_seconds{kind="eventlog"}');
    expect(lsm(['-c', '--exit-code', '--repo', repo, '--proc', PROCS[1]], env).code).toBe(1);
    expect(sample(metrics, 'lsm_problem_since_timestamp_seconds{kind="eventlog"}')).toBe(since);
    // room again: lsm flush writes it, and nothing is said any more
    rmSync(join(small, 'filler'));
    expect(lsm(['flush', '--repo', repo], env).stderr).not.toContain('event log');
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).not.toMatch(/could not record/);
    expect(lsm(['-c', '--exit-code', '--repo', repo, '--proc', PROCS[1]], env).code).toBe(3); // the drift, and nothing failed
    expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="eventlog"}')]).toEqual([1, 0]);
    expect(sample(metrics, 'lsm_problem_since_timestamp_seconds{kind="eventlog"}')).toBeNull();
  });

  it('an alert that could not be spooled: status and metrics say it until a run spools it', () => {
    const { small, metrics, env, repo } = setup('spool', 'SPOOL_DIR');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    fill(small);
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[1]], env).code).toBe(1);
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).toMatch(/^alerts not spooled \(exit 1\) since \d{4}-\S+Z: cannot spool the alert \(the change is committed; the next run spools it\): no space left on device; the changes are committed: fix that, then lsm -c spools them$/m);
    expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="spool"}')]).toEqual([0, 1]);
    rmSync(join(small, 'filler'));
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[1]], env).code).toBe(0);
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).not.toMatch(/not spooled/);
    expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="spool"}')]).toEqual([1, 0]);
  });

  it('a damaged repository: exit 65, and status and metrics say it until a run succeeds', () => {
    const etc = join(disks.tmp, 'etc-damaged');
    mkdirSync(join(etc, 'metrics'), { recursive: true });
    const metrics = join(etc, 'metrics', 'lsm.prom');
    const env = { LSM_CONFIG: testConfig(etc, { METRICS_FILE: metrics }) };
    const repo = join(disks.tmp, 'repo-damaged');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    rmSync(join(repo, '.git', 'refs', 'heads', 'main'));
    expect(lsm(['-c', '--exit-code', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(65);
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[0]], env).stdout).toMatch(new RegExp(`^repository damaged \\(exit 65\\) since \\d{4}-\\S+Z: repository ${repo} is damaged: refs/heads/main is missing .*; run git -C ${repo} fsck and lsm verify, then lsm -c \\(this line goes once a run succeeds\\)$`, 'm'));
    expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="damaged"}')]).toEqual([0, 1]);
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[0]], env).stdout).not.toMatch(/^repository damaged/m);
    expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="damaged"}')]).toEqual([1, 0]);
  });

  it('lsm watch: a spool that stays full ends it with exit 1 and is said by status; once spooled, exit 0', () => {
    const { small, env, repo } = setup('watch-spool', 'SPOOL_DIR');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    fill(small);
    const w = lsm(['watch', '--count', '2', '--interval', '1s', '-q', '--repo', repo, '--proc', PROCS[1]], env);
    expect(w.stderr).toMatch(/^lsm: cannot spool the alert \(tried again at the next scan\): no space left on device$/m);
    expect(w.code).toBe(1); // still not spooled as it ended
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).toMatch(/^alerts not spooled \(exit 1\) since /m);
    rmSync(join(small, 'filler'));
    expect(lsm(['watch', '--count', '1', '-q', '--repo', repo, '--proc', PROCS[1]], env).code).toBe(0);
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).not.toMatch(/not spooled/);
  });

  it('lsm watch: an event log that cannot record is in status and the metrics while it lasts, and not in its exit once written', async () => {
    const { small, metrics, env, repo } = setup('watch-log', 'EVENT_LOG');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    fill(small);
    const { child, ended } = await watchUntilLogFails(repo, env);
    try {
      expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).toMatch(/^event log \S+ could not record \(exit 1\) since /m);
      for (let i = 0; i < 60 && sample(metrics, 'lsm_problem{kind="eventlog"}') !== 1; i++) await sleep(50);
      expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="eventlog"}')]).toEqual([0, 1]);
      rmSync(join(small, 'filler'));
      expect(lsm(['flush', '--repo', repo], env).code).not.toBeNull(); // mail is not configured: only the event log matters here
      for (let i = 0; i < 100 && sample(metrics, 'lsm_problem{kind="eventlog"}') !== 0; i++) await sleep(50);
      expect([sample(metrics, 'lsm_last_run_success'), sample(metrics, 'lsm_problem{kind="eventlog"}')]).toEqual([1, 0]);
      expect(await ended).toBe(0); // the disk recovered and the log caught up before it ended
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(lsm(['status', '--repo', repo, '--proc', PROCS[1]], env).stdout).not.toMatch(/could not record/);
  });

  it('lsm watch: an alert waiting in the spool is tried again as its back-off falls due, while nothing changes', async () => {
    const { small, metrics, env, repo } = setup('watch-retry', 'EVENT_LOG');
    expect(lsm(['-c', '--repo', repo, '--proc', PROCS[0]], env).code).toBe(0);
    fill(small);
    // the back-off's first wait is a minute: watch's wall clock steps 2 h ahead 5 s after it starts
    const clock = { NODE_OPTIONS: `--import ${join(ROOT, 'test', 'helpers', 'step-clock.mjs')}`, STEP_CLOCK_MS: String(-2 * 3600_000), STEP_CLOCK_AFTER_MS: '5000' };
    const { child, ended } = await watchUntilLogFails(repo, env, clock);
    try {
      rmSync(join(small, 'filler')); // room again, and nothing changes: no lsm flush, no new alert
      expect(await ended).toBe(0); // the log caught up before watch ended
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const commit = sh(['git', '-C', repo, 'rev-parse', 'HEAD']).stdout.trim();
    const records = readFileSync(join(small, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { commit?: string });
    expect(records.filter((r) => r.commit === commit)).toHaveLength(1);
    expect(sample(metrics, 'lsm_problem{kind="eventlog"}')).toBe(0);
  });
});
