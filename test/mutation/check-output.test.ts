// What `lsm check` (LSM's -c, what cron runs) says, in-process on a /proc of our own: silent when
// nothing changed (cron mails nothing), the change and the standing drift when something did,
// --quiet silent always, --json the change and every drift line; with DRIFT_REMINDER_HOURS, drift
// older than that is alerted again, at most that often. Time is moved with vi.setSystemTime
// (Date only): the reminder's clock is the wall clock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import check from '../../src/cli/check.js';
import { FIXTURES } from '../unit/fixtures.js';
import { testConfig } from '../helpers/config.js';

afterEach(() => { process.exitCode = undefined; vi.useRealTimers(); });

const LINE_4444 = '   9: 00000000:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99444 1 0000000000000000 100 0 0 10 0\n';

function world(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-check-'));
  cpSync(join(FIXTURES, 'basic'), join(dir, 'root'), { recursive: true, verbatimSymlinks: true });
  const proc = join(dir, 'root', 'proc');
  const tcp = join(proc, '1', 'net', 'tcp');
  const original = readFileSync(tcp, 'utf8');
  const config = testConfig(join(dir, 'conf'), extra);
  const repo = join(dir, 'repo');
  return {
    repo,
    listen4444: (on: boolean) => (on ? appendFileSync(tcp, LINE_4444) : writeFileSync(tcp, original)),
    /** lsm check with these options: what it printed on stdout */
    check: async (opts: Record<string, boolean> = {}): Promise<string> => {
      const chunks: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((c: string | Uint8Array) => { chunks.push(String(c)); return true; }) as typeof process.stdout.write;
      try { await check.handler({ repo, config, proc, _: ['check'], $0: 'lsm', ...opts }); } finally { process.stdout.write = write; }
      return chunks.join('');
    },
  };
}

describe('lsm check says', () => {
  it('that the first run approved the state as the baseline, then nothing while nothing changes; --quiet nothing at all', async () => {
    const w = world();
    expect(await w.check()).toMatch(/^no baseline yet: approved the current state \([0-9a-f]{10}\) as the baseline\n[0-9a-f]{10} first snapshot \+15 -0: /);
    expect(await w.check()).toBe('');
    w.listen4444(true);
    expect(await w.check({ quiet: true })).toBe('');
    expect(await w.check({ quiet: true })).toBe('');
    const w2 = world();
    expect(await w2.check({ quiet: true })).toBe('');
  });

  it('a change, and the drift it leaves from the baseline; the standing drift alone is silent', async () => {
    const w = world();
    await w.check();
    w.listen4444(true);
    const said = await w.check();
    expect(said).toContain('+1 -0: host/tcp +1');
    expect(said).toContain('+ host/tcp  0.0.0.0:4444  ?  root  ?');
    expect(said).toMatch(/\ndrift from baseline [0-9a-f]{10}: \+1 -0: host\/tcp \+1 \(lsm drift; approve with lsm -g\)\n$/);
    expect(await w.check()).toBe(''); // nothing new: cron mails nothing
    expect(await w.check({ 'exit-code': true })).toBe(''); // nor with --exit-code, which reads the drift for its exit code (3)
    w.listen4444(false);
    const back = await w.check();
    expect(back).toContain('- host/tcp  0.0.0.0:4444');
    expect(back).not.toContain('drift from baseline'); // back at the baseline
  });

  it('--json: the change (or null) and every drift line with since and commit', async () => {
    const w = world();
    await w.check();
    const first = JSON.parse(await w.check({ json: true }));
    expect(first).toMatchObject({ change: null, drift: [], reminded: false });
    expect(first.baseline).toBe(first.head);
    w.listen4444(true);
    const j = JSON.parse(await w.check({ json: true }));
    expect(j.change.summary).toBe('+1 -0: host/tcp +1');
    expect(j.drift).toHaveLength(1);
    expect(j.drift[0]).toMatchObject({ change: 'added', line: '0.0.0.0:4444  ?  root  ?', commit: j.change.commit });
    const again = JSON.parse(await w.check({ json: true }));
    expect(again.change).toBeNull();
    expect(again.drift).toEqual(j.drift); // standing drift, same since
    expect(await w.check({ json: true, quiet: true })).toBe('');
  });

  it('reminds of drift older than DRIFT_REMINDER_HOURS, then not again before that many hours', async () => {
    const T = Date.now();
    const HOUR = 3_600_000;
    vi.useFakeTimers({ toFake: ['Date'], now: T });
    const w = world({ DRIFT_REMINDER_HOURS: '2' });
    await w.check();
    w.listen4444(true);
    const at = async (hours: number) => { vi.setSystemTime(T + hours * HOUR); return JSON.parse(await w.check({ json: true })).reminded as boolean; };
    expect(await at(0)).toBe(false); // the drift is new
    expect(await at(1.9)).toBe(false); // younger than 2 h
    expect(await at(2.1)).toBe(true); // older: reminded
    expect(await at(3)).toBe(false); // reminded 0.9 h ago
    expect(await at(4.2)).toBe(true); // 2.1 h after the last reminder
    expect(await w.check()).toBe(''); // not a change: nothing printed without a reminder due
    w.listen4444(false);
    expect(await at(9)).toBe(false); // no drift, no reminder
  });
});
