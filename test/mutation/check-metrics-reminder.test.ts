// What `lsm check` leaves for METRICS_FILE and when it reminds of drift, in-process (the mutation
// run reaches src/ only; test/integration/metrics.test.ts runs bin/lsm). METRICS_FILE: the run is
// recorded when the process ends, with the sockets this scan recorded and the drift from the
// baseline, also on a run that changed nothing while drift stands; the exit listener check
// registers is taken off the process and called as the exit would call it. DRIFT_REMINDER_HOURS:
// the oldest drift line decides, the hours are a bound that is reached, not passed (vi fakes Date).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import check from '../../src/cli/check.js';
import { FIXTURES } from '../unit/fixtures.js';
import { testConfig } from '../helpers/config.js';

afterEach(() => { process.exitCode = undefined; vi.useRealTimers(); });

const listenLine = (port: number, inode: number) =>
  `  ${port % 100}: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;

function world(metrics: boolean, extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-check-metrics-'));
  cpSync(join(FIXTURES, 'basic'), join(dir, 'root'), { recursive: true, verbatimSymlinks: true });
  const proc = join(dir, 'root', 'proc');
  const tcp = join(proc, '1', 'net', 'tcp');
  const original = readFileSync(tcp, 'utf8');
  mkdirSync(join(dir, 'textfile'));
  const file = join(dir, 'textfile', 'lsm.prom');
  const config = testConfig(join(dir, 'conf'), metrics ? { METRICS_FILE: file, ...extra } : extra);
  const repo = join(dir, 'repo');
  return {
    events: join(dir, 'conf', 'events.jsonl'),
    listen: (port: number) => appendFileSync(tcp, listenLine(port, 90000 + port)),
    listen4444: (on: boolean) => (on ? appendFileSync(tcp, listenLine(4444, 99444)) : writeFileSync(tcp, original)),
    /** lsm check [--exit-code] [-q]: what it printed, its exit code, the exit listeners it registered (taken off the process) */
    check: async (exitCode = false, quiet = true) => {
      const before = new Set(process.listeners('exit'));
      let added: ((code: number) => void)[] = [];
      const chunks: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((c: string | Uint8Array) => { chunks.push(String(c)); return true; }) as typeof process.stdout.write;
      try {
        await check.handler({ repo, config, proc, quiet, 'exit-code': exitCode, _: ['check'], $0: 'lsm' });
      } finally {
        process.stdout.write = write;
        added = process.listeners('exit').filter((l) => !before.has(l)) as ((code: number) => void)[];
        for (const l of added) process.removeListener('exit', l);
      }
      const code = process.exitCode ?? 0;
      process.exitCode = undefined;
      return { code, added, said: chunks.join('') };
    },
    /** what the metrics file says after the process would have ended with this code */
    /** Run the exit listeners as the process would (the run's outcome first, then the metrics), then read the file. */
    metricsAt: (listeners: ((code: number) => void)[], code: number): Map<string, number> => {
      for (const l of listeners) l(code);
      return new Map(readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
        const cut = l.lastIndexOf(' ');
        return [l.slice(0, cut), Number(l.slice(cut + 1))];
      }));
    },
  };
}

describe('lsm check and METRICS_FILE', () => {
  it('records each run at exit: its sockets, the drift it leaves, also while drift stands with nothing new', async () => {
    const w = world(true);
    const first = await w.check();
    expect(first.added).toHaveLength(2); // the run's outcome (outcome.ts: lsm status), then the metrics
    let m = w.metricsAt(first.added, first.code);
    expect(m.get('lsm_last_run_success')).toBe(1);
    expect(m.get('lsm_sockets{namespace="host",kind="tcp"}')).toBe(3);
    expect([m.get('lsm_drift_lines{change="added"}'), m.get('lsm_drift_lines{change="removed"}')]).toEqual([0, 0]);
    const commitTime = m.get('lsm_last_commit_timestamp_seconds')!;
    expect(commitTime).toBeGreaterThan(0);

    w.listen4444(true);
    const changed = await w.check();
    m = w.metricsAt(changed.added, changed.code);
    expect(m.get('lsm_sockets{namespace="host",kind="tcp"}')).toBe(4);
    expect([m.get('lsm_drift_lines{change="added"}'), m.get('lsm_drift_lines{change="removed"}')]).toEqual([1, 0]);
    expect(m.get('lsm_last_commit_timestamp_seconds')).toBeGreaterThanOrEqual(commitTime);

    const standing = await w.check(); // nothing new: the drift is still read, for the file
    m = w.metricsAt(standing.added, standing.code);
    expect([m.get('lsm_drift_lines{change="added"}'), m.get('lsm_drift_lines{change="removed"}')]).toEqual([1, 0]);

    const failed = await w.check(true); // exit 3 (drift) is a success for the heartbeat; any other code is not
    expect(failed.code).toBe(3);
    expect(w.metricsAt(failed.added, 3).get('lsm_last_run_success')).toBe(1);
    expect(w.metricsAt(failed.added, 1).get('lsm_last_run_success')).toBe(0);
  });

  it('without METRICS_FILE only the run\'s outcome is left to run at exit (no metrics)', async () => {
    const w = world(false);
    expect((await w.check()).added).toHaveLength(1); // the run's outcome only: no metrics
    w.listen4444(true);
    expect((await w.check(true)).added).toHaveLength(1);
  });
});

describe('lsm check reminds of unapproved drift (DRIFT_REMINDER_HOURS)', () => {
  it('when the oldest drift line is that many hours old, in the text output and the event log; again that many hours after the last reminder', async () => {
    const T = Date.UTC(2026, 0, 1, 12);
    const HOUR = 3_600_000;
    vi.useFakeTimers({ toFake: ['Date'], now: T });
    const w = world(false, { DRIFT_REMINDER_HOURS: '2' });
    const at = async (ms: number) => { vi.setSystemTime(T + ms); return (await w.check(false, false)).said; };
    expect(await at(0)).toMatch(/^no baseline yet/);
    w.listen(4444);
    expect(await at(0)).toContain('+ host/tcp  0.0.0.0:4444');
    w.listen(4445);
    expect(await at(1.5 * HOUR)).toContain('+ host/tcp  0.0.0.0:4445'); // the oldest line is 1.5 h old: no reminder
    // exactly 2 h after the oldest line appeared (the newer one is 0.5 h old): reminded, nothing else said
    expect(await at(2 * HOUR)).toMatch(/^drift from baseline [0-9a-f]{10}: \+2 -0: host\/tcp \+2 \(lsm drift; approve with lsm -g\); reminder sent\n$/);
    const events = readFileSync(w.events, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.reminder)).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ reminder: true, summary: 'reminder: unapproved drift since 2026-01-01T12:00:00.000Z: +2 -0: host/tcp +2' });
    // each line says since when it stands, and the commit that made it
    const since = events.at(-1).added.map((l: { since: { commit: string; time: string } }) => l.since);
    expect(since.map((x: { time: string }) => x.time)).toEqual(['2026-01-01T12:00:00.000Z', '2026-01-01T13:30:00.000Z']);
    expect(since[0].commit).toMatch(/^[0-9a-f]{40}$/);
    expect(since[1].commit).toMatch(/^[0-9a-f]{40}$/);
    expect(since[0].commit).not.toBe(since[1].commit);
    expect(await at(4 * HOUR - 1)).toBe(''); // 1 ms short of 2 h since the reminder
    expect(await at(4 * HOUR)).toContain('; reminder sent'); // 2 h since the reminder: again
    expect(readFileSync(w.events, 'utf8').trim().split('\n').filter((l) => JSON.parse(l).reminder)).toHaveLength(2);
  });
});
