// METRICS_FILE in-process (src/run/metrics.ts; test/integration/metrics.test.ts runs bin/lsm): the
// exact text a run leaves (every sample and its labels, escaped), what a failed run keeps from the
// last good one, the commit time read from the journal's tail, the spool's and the problems'
// gauges, the fleet's push; the file written whole with mode 644 whatever the umask, and a
// directory others control refused in one line on stderr, never failing the run.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { metricsText, recordRun, writeMetrics, type RunFacts } from '../../src/run/metrics.js';
import { resolveSettings } from '../../src/run/settings.js';
import { scan } from '../../src/run/scan.js';
import { problemFound, trackProblems } from '../../src/run/outcome.js';
import { clockFile } from '../../src/run/clock.js';
import { exitListeners, runWorld, samples, stderrLines } from '../helpers/run-world.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); });

const HEAD = (metric: string, help: string) => [`# HELP ${metric} ${help}`, `# TYPE ${metric} gauge`];

describe('the metrics text', () => {
  it('every sample, exactly: times in seconds (ms rounded), sockets per namespace and kind with escaped labels, the drift, the spool, the problems', async () => {
    const w = runWorld({ METRICS_FILE: '' });
    const ctx = resolveSettings(w.args);
    stderrLines();
    await scan(ctx); // the repository, its journal, the spool (nothing waits: the first snapshot)
    trackProblems(ctx.repoDir);
    vi.spyOn(Date, 'now').mockReturnValue(1_600_000_000_000);
    problemFound('eventlog', 'the log is full', 1);
    process.exitCode = undefined;
    // the clock's state as the scan left it, with a step seen: back 2 h, half a second
    const clock = JSON.parse(readFileSync(clockFile(ctx.repoDir), 'utf8'));
    writeFileSync(clockFile(ctx.repoDir), JSON.stringify({ ...clock, steps: 3, last: { by: -7_200_500, at: 1_650_000_000_250 } }));
    const facts: RunFacts = {
      snapshot: new Map([['host/tcp', ['a', 'b']], ['netns/we"ird\\x\ny/udp', ['c']]]),
      drift: [{ path: 'host/tcp', added: ['x', 'y'], removed: ['z'] }, { path: 'host/udp', added: ['w'], removed: [] }],
      commitTime: 1_700_000_000_123, checked: true,
    };
    expect(metricsText(ctx, facts, false, 1_700_000_100_499.6, 1_699_999_000)).toBe([
      ...HEAD('lsm_last_run_timestamp_seconds', 'Unix time the last lsm -c ended (or lsm watch last looked).'), 'lsm_last_run_timestamp_seconds 1700000100.5',
      ...HEAD('lsm_last_run_success', '1 when the last lsm -c succeeded, 0 when it failed.'), 'lsm_last_run_success 0',
      ...HEAD('lsm_last_success_timestamp_seconds', 'Unix time of the last lsm -c that succeeded.'), 'lsm_last_success_timestamp_seconds 1699999000',
      ...HEAD('lsm_sockets', 'Sockets recorded by the last scan, per network namespace and kind.'),
      'lsm_sockets{namespace="host",kind="tcp"} 2', 'lsm_sockets{namespace="netns/we\\"ird\\\\x\\ny",kind="udp"} 1',
      ...HEAD('lsm_drift_lines', 'Lines that differ from the approved baseline (lsm drift).'), 'lsm_drift_lines{change="added"} 3', 'lsm_drift_lines{change="removed"} 1',
      ...HEAD('lsm_spool_alerts', 'Alerts waiting in the spool for delivery.'), 'lsm_spool_alerts 0',
      ...HEAD('lsm_dead_alerts', 'Alerts a channel refused for good (lsm flush --retry-dead).'), 'lsm_dead_alerts 0',
      ...HEAD('lsm_problem', 'Outstanding until a run does it: damaged (the repository), spool (an alert not spooled), eventlog (the event log could not record).'),
      'lsm_problem{kind="damaged"} 0', 'lsm_problem{kind="spool"} 0', 'lsm_problem{kind="eventlog"} 1',
      ...HEAD('lsm_problem_since_timestamp_seconds', 'Unix time each outstanding problem was first seen.'), 'lsm_problem_since_timestamp_seconds{kind="eventlog"} 1600000000',
      '# HELP lsm_clock_steps_total Steps of the wall clock seen between runs (against boot time).', '# TYPE lsm_clock_steps_total counter', 'lsm_clock_steps_total 3',
      ...HEAD('lsm_clock_last_step_seconds', 'The last step of the wall clock seen between runs: + forward, - back.'), 'lsm_clock_last_step_seconds -7200.5',
      ...HEAD('lsm_clock_last_step_timestamp_seconds', 'Unix time the last step of the wall clock was seen.'), 'lsm_clock_last_step_timestamp_seconds 1650000000.25',
      ...HEAD('lsm_last_commit_timestamp_seconds', 'Unix time of the last commit (the last change seen).'), 'lsm_last_commit_timestamp_seconds 1700000000.123',
      '',
    ].join('\n'));
    // a run that succeeded is its own last success; no drift read, no snapshot: no such samples
    const ok = samples(metricsText(ctx, { checked: true }, true, 1_700_000_200_000, 5));
    expect([ok.get('lsm_last_run_success'), ok.get('lsm_last_success_timestamp_seconds')]).toEqual([1, 1_700_000_200]);
    expect([...ok.keys()].filter((k) => /sockets|drift/.test(k))).toEqual([]);
    // never a success before, and this one failed: no success time at all
    expect(metricsText(ctx, {}, false, 1_000, null)).not.toContain('lsm_last_success_timestamp_seconds');
    expect(metricsText(ctx, {}, false, 1_000, 0)).toMatch(/^lsm_last_success_timestamp_seconds 0$/m);
  });

  it('the spool\'s waiting and dead alerts and every problem with its first time, as they are in the repository', async () => {
    const w = runWorld();
    mkdirSync(join(w.conf, 'hooks.d'), { recursive: true });
    const ctx = resolveSettings(w.args);
    stderrLines();
    await scan(ctx);
    w.listen(4444);
    await scan(ctx); // no mail configured: the alert waits
    w.listen(4445);
    writeFileSync(join(w.conf, 'hooks.d', 'notify'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(w.conf, 'hooks.d', 'notify'), 0o775); // group-writable: refused for good, the alerts after it dead for hooks
    await scan(ctx);
    w.listen(4446);
    await scan(ctx);
    trackProblems(ctx.repoDir);
    vi.spyOn(Date, 'now').mockReturnValue(1_000_500);
    problemFound('damaged', 'ref gone', 65);
    problemFound('spool', 'full', 1);
    const m = samples(metricsText(ctx, { checked: true }, false, 2_000_000, null));
    expect([m.get('lsm_spool_alerts'), m.get('lsm_dead_alerts')]).toEqual([1, 2]); // one waits for mail only, two are dead for the hooks
    expect(['damaged', 'spool', 'eventlog'].map((k) => m.get(`lsm_problem{kind="${k}"}`))).toEqual([1, 1, 0]);
    expect(['damaged', 'spool', 'eventlog'].map((k) => m.get(`lsm_problem_since_timestamp_seconds{kind="${k}"}`))).toEqual([1000.5, 1000.5, undefined]);
    // the problems of the repository as the file keeps them, when this process tracks another one
    trackProblems(join(w.dir, 'other'));
    expect(samples(metricsText(ctx, { checked: true }, false, 2_000_000, null)).get('lsm_problem{kind="spool"}')).toBe(1);
    // nothing outstanding: no since samples at all
    const fresh = runWorld();
    const freshCtx = resolveSettings(fresh.args);
    expect(metricsText(freshCtx, { checked: true }, true, 1, null)).not.toContain('lsm_problem_since');
  });

  it('the last commit time is the journal\'s last whole record, read from its tail (a torn line left out); none without a journal', async () => {
    const w = runWorld();
    const ctx = resolveSettings(w.args);
    expect(metricsText(ctx, { checked: true }, true, 1, null)).not.toContain('lsm_last_commit_timestamp_seconds');
    stderrLines();
    await scan(ctx);
    const journal = join(w.repo, '.git', 'lsm', 'journal.jsonl');
    const t = Number(/"t":(\d+)/.exec(readFileSync(journal, 'utf8'))![1]);
    expect(samples(metricsText(ctx, { checked: true }, true, 1, null)).get('lsm_last_commit_timestamp_seconds')).toBe(t / 1000);
    // years of history: only the last 64 KiB are read, the newest record is the one that counts
    const old = readFileSync(journal, 'utf8');
    writeFileSync(journal, `${'{"c":"x","t":1000,"s":"old"}\n'.repeat(5000)}${old}`);
    expect(statSync(journal).size).toBeGreaterThan(2 * 65536);
    expect(samples(metricsText(ctx, { checked: true }, true, 1, null)).get('lsm_last_commit_timestamp_seconds')).toBe(t / 1000);
    // a record with its time last, then a torn line (a crash mid-append): the whole record counts
    appendFileSync(journal, '{"c":"y","s":"z","t":1234567}\n{"c":"z","t":7654321,"s":"torn');
    expect(samples(metricsText(ctx, { checked: true }, true, 1, null)).get('lsm_last_commit_timestamp_seconds')).toBe(1234.567);
    // a journal with no time in its tail: no sample (the run's own commit time still wins when given)
    writeFileSync(journal, '{"c":"x"}\n');
    expect(metricsText(ctx, { checked: true }, true, 1, null)).not.toContain('lsm_last_commit');
    expect(samples(metricsText(ctx, { checked: true, commitTime: 4000 }, true, 1, null)).get('lsm_last_commit_timestamp_seconds')).toBe(4);
  });

  it('with a fleet remote: whether the last push succeeded and when the server last accepted one', () => {
    const w = runWorld({ REMOTE: 'https://fleet.example/git/fleet.git', HOST_ID: 'web1' });
    const ctx = resolveSettings(w.args);
    const state = join(w.repo, '.git', 'lsm', 'push.json');
    let m = samples(metricsText(ctx, { checked: true }, true, 1, null));
    expect([m.get('lsm_fleet_push_success'), m.has('lsm_fleet_last_push_timestamp_seconds')]).toEqual([0, false]); // nothing pushed yet
    mkdirSync(join(w.repo, '.git', 'lsm'), { recursive: true });
    writeFileSync(state, JSON.stringify({ time: 9_000, ok: true, error: null, head: 'a', pushed: 'a', lastSuccess: 8_500, failingSince: null, diverged: null }));
    m = samples(metricsText(ctx, { checked: true }, true, 1, null));
    expect([m.get('lsm_fleet_push_success'), m.get('lsm_fleet_last_push_timestamp_seconds')]).toEqual([1, 8.5]);
    writeFileSync(state, JSON.stringify({ time: 9_000, ok: false, error: 'x', head: 'a', pushed: 'a', lastSuccess: null, failingSince: 9_000, diverged: null }));
    m = samples(metricsText(ctx, { checked: true }, true, 1, null));
    expect([m.get('lsm_fleet_push_success'), m.has('lsm_fleet_last_push_timestamp_seconds')]).toEqual([0, false]);
    // no remote: no fleet samples, whatever push.json says
    expect(metricsText(resolveSettings(runWorld().args), { checked: true }, true, 1, null)).not.toContain('fleet');
  });
});

describe('the metrics file', () => {
  it('written whole, mode 644 whatever the umask, no temporary file left; a failed run keeps the last success', () => {
    const w = runWorld();
    mkdirSync(join(w.dir, 'textfile'));
    const file = join(w.dir, 'textfile', 'lsm.prom');
    const ctx = resolveSettings({ ...w.args, config: runWorld({ METRICS_FILE: file }).config });
    // a umask that keeps others out (the systemd unit's 077); not settable in a worker thread (Stryker's pool): there the default 022
    const mask = (() => { try { return process.umask(0o077); } catch { return null; } })();
    try {
      writeMetrics(ctx, {}, true, 5_000_000);
    } finally { if (mask !== null) process.umask(mask); }
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(w.dir, 'textfile'))).toEqual(['lsm.prom']);
    expect(samples(readFileSync(file, 'utf8')).get('lsm_last_success_timestamp_seconds')).toBe(5000);
    writeMetrics(ctx, {}, false, 6_000_000); // the success time read back from the file (its sample, not its # lines)
    expect(samples(readFileSync(file, 'utf8'))).toEqual(new Map([['lsm_last_run_timestamp_seconds', 6000], ['lsm_last_run_success', 0], ['lsm_last_success_timestamp_seconds', 5000]]));
    // a temporary file left by a killed run with this pid is replaced
    writeFileSync(join(w.dir, 'textfile', `.lsm.prom.${process.pid}.tmp`), 'stale');
    writeMetrics(ctx, {}, true, 7_000_000);
    expect(readdirSync(join(w.dir, 'textfile'))).toEqual(['lsm.prom']);
    expect(samples(readFileSync(file, 'utf8')).get('lsm_last_run_timestamp_seconds')).toBe(7000);
  });

  it('a directory others control, or none: one line on stderr, nothing written, the run not failed; no METRICS_FILE: nothing at all', () => {
    const w = runWorld();
    mkdirSync(join(w.dir, 'open'));
    chmodSync(join(w.dir, 'open'), 0o777);
    const open = join(w.dir, 'open', 'lsm.prom');
    const said = stderrLines();
    writeMetrics(resolveSettings({ ...w.args, config: runWorld({ METRICS_FILE: open }).config }), {}, true, 1);
    expect(said).toEqual([`lsm: cannot write METRICS_FILE ${open}: refusing unsafe METRICS_FILE directory: ${join(w.dir, 'open')} is writable by others (mode 777; chmod go-w ${join(w.dir, 'open')})`]);
    expect(readdirSync(join(w.dir, 'open'))).toEqual([]);
    said.length = 0;
    const inFile = join(w.config, 'lsm.prom'); // its "directory" is a file
    writeMetrics(resolveSettings({ ...w.args, config: runWorld({ METRICS_FILE: inFile }).config }), {}, true, 1);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(new RegExp(`^lsm: cannot write METRICS_FILE ${inFile}: `));
    expect(process.exitCode).toBeUndefined();
    said.length = 0;
    const dirAt = join(w.dir, 'prom-dir', 'lsm.prom'); // a directory where the file goes: what it is, not the rename's EISDIR
    mkdirSync(dirAt, { recursive: true });
    writeMetrics(resolveSettings({ ...w.args, config: runWorld({ METRICS_FILE: dirAt }).config }), {}, true, 1);
    expect(said).toEqual([`lsm: cannot write METRICS_FILE ${dirAt}: it is a directory, not a regular file: nothing written; move it aside (mv ${dirAt} ${dirAt}.bad)`]);
    expect(readdirSync(join(w.dir, 'prom-dir'))).toEqual(['lsm.prom']);
    said.length = 0;
    writeMetrics(resolveSettings(w.args), {}, true, 1);
    expect(said).toEqual([]);
    expect(existsSync(join(w.dir, 'lsm.prom'))).toBe(false);
  });

  it('recordRun writes the file at exit: 0 and 3 are a success, any other code a failure; without METRICS_FILE no listener', async () => {
    const w = runWorld();
    mkdirSync(join(w.dir, 'textfile'));
    const file = join(w.dir, 'textfile', 'lsm.prom');
    const ctx = resolveSettings({ ...w.args, config: runWorld({ METRICS_FILE: file }).config });
    const facts: RunFacts = {};
    const got = await exitListeners(() => recordRun(ctx, facts));
    expect(got.result).toBe(facts);
    expect(got.listeners).toHaveLength(1);
    expect(existsSync(file)).toBe(false); // nothing until the process ends
    facts.snapshot = new Map([['host/tcp', ['a']]]); // filled as the run goes
    for (const [code, ok] of [[0, 1], [3, 1], [1, 0], [2, 0], [65, 0], [77, 0]]) {
      got.listeners[0](code);
      const m = samples(readFileSync(file, 'utf8'));
      expect([code, m.get('lsm_last_run_success'), m.get('lsm_sockets{namespace="host",kind="tcp"}')]).toEqual([code, ok, 1]);
    }
    const none = await exitListeners(() => recordRun(resolveSettings(w.args)));
    expect(none.listeners).toEqual([]);
    expect(none.result).toEqual({});
  });
});
