// The fleet questions' edges, in-process on a real central repository (real git, branches written
// with git fast-import, pushes recorded as the drain records them): a host that sends only
// heartbeats is alive, one that sends nothing is silent, the limit itself is not yet silence; a
// change the server received exactly at T is in `log --since T` (and one a millisecond before is not);
// `fleet check` tells a silence once, and a return once, into a real spool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../src/alert/spool.js';
import { lastSeen, markSeen, recordPush, updateHostIndex } from '../../src/fleet/catalog.js';
import { fleetLog, fleetStatus } from '../../src/fleet/questions.js';
import { tellSilence } from '../../src/fleet/silence.js';

const HOUR = 3_600_000;
const T = Date.parse('2026-11-01T12:00:00Z'); // the --since of the log tests, and when web-1's second change arrived
const NOW = T + 10 * HOUR;
const ZERO = '0'.repeat(40);

/** One snapshot commit on hosts/<host> (its host date `at`), on top of the branch. */
function commit(gitdir: string, host: string, line: string, at: number): string {
  const tip = (() => { try { return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', '--verify', '-q', `refs/heads/hosts/${host}`], { encoding: 'utf8' }).trim(); } catch { return null; } })();
  let s = `commit refs/heads/hosts/${host}\ncommitter lsm <lsm@${host}> ${Math.floor(at / 1000)} +0000\ndata 6\nchange\n${tip ? `from ${tip}\n` : ''}deleteall\n`;
  for (const [p, body] of [['host/tcp', `${line}\n`], ['host/udp', ''], ['host/raw', ''], ['host/packet', ''], ['host/unix', '']]) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s });
  return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', `refs/heads/hosts/${host}`], { encoding: 'utf8' }).trim();
}

/** A push as the drain records it: received at `t` (the server's clock), seen, indexed. */
function push(gitdir: string, host: string, old: string, tip: string, t: number): void {
  recordPush(gitdir, { t, host, old, new: tip, user: host });
  markSeen(gitdir, host, t);
  updateHostIndex(gitdir, host, tip, t, null);
}

describe('fleet questions: heartbeats and --since at its edge', () => {
  let gitdir: string;
  let web1: string[];
  beforeAll(() => {
    gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-q-'));
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    // web-1: two changes (the second received exactly at T), then only heartbeats, the last one 5 minutes ago
    const a = commit(gitdir, 'web-1', '0.0.0.0:22  sshd', T - 2 * HOUR);
    push(gitdir, 'web-1', ZERO, a, T - 2 * HOUR + 1000);
    const b = commit(gitdir, 'web-1', '0.0.0.0:4444  nc', T - 5 * 60_000); // the host's clock a little behind
    push(gitdir, 'web-1', a, b, T);
    web1 = [a, b];
    markSeen(gitdir, 'web-1', NOW - 5 * 60_000); // a heartbeat: the post-receive hook marks it, nothing else
    // web-2: one change, received a millisecond before T, then nothing
    const c = commit(gitdir, 'web-2', '0.0.0.0:80  nginx', T - HOUR);
    push(gitdir, 'web-2', ZERO, c, T - 1);
  });
  afterAll(() => rmSync(gitdir, { recursive: true, force: true }));

  it('a host sending only heartbeats is not silent; one sending nothing is', () => {
    const rows = fleetStatus(gitdir, HOUR, NOW);
    expect(rows.map((r) => [r.host, r.silent, r.lastSeen, r.lastPush])).toEqual([
      ['web-1', false, new Date(NOW - 5 * 60_000).toISOString(), new Date(T).toISOString()], // last seen: the heartbeat, not the last change
      ['web-2', true, new Date(T - 1).toISOString(), new Date(T - 1).toISOString()],
    ]);
  });

  it('silent means longer than --silent-after: at the limit itself the host is not yet silent', () => {
    const seen = NOW - 5 * 60_000;
    expect(fleetStatus(gitdir, NOW - seen, NOW).find((r) => r.host === 'web-1')!.silent).toBe(false);
    expect(fleetStatus(gitdir, NOW - seen - 1, NOW).find((r) => r.host === 'web-1')!.silent).toBe(true);
  });

  it('log --since T keeps a change received exactly at T, and drops one received a millisecond before', () => {
    const since = fleetLog(gitdir, { since: T });
    expect(since.map((e) => [e.host, e.commit, e.time])).toEqual([['web-1', web1[1], new Date(T).toISOString()]]);
    expect(fleetLog(gitdir, { since: T - 1 }).map((e) => e.host)).toEqual(['web-2', 'web-1']); // oldest first
    expect(fleetLog(gitdir, { since: T + 1 })).toEqual([]);
    // the same edge for one host: its latest change is exactly T, so it is not skipped unread
    expect(fleetLog(gitdir, { since: T, host: 'web-1' }).map((e) => e.commit)).toEqual([web1[1]]);
  });

  it('a heartbeat never moves last seen back; check tells the silent host once and its return once, never the one sending heartbeats', async () => {
    markSeen(gitdir, 'web-1', T); // a late drain recording an old push after a newer heartbeat
    expect(lastSeen(gitdir, 'web-1')).toBe(NOW - 5 * 60_000);
    const spool = new Spool(mkdtempSync(join(tmpdir(), 'lsm-fleet-q-spool-')));
    const subjects = () => spool.list().map((e) => e.alert.subject).sort();
    const check = async (now: number) => (await tellSilence(gitdir, spool, fleetStatus(gitdir, HOUR, now), '1h', now)).raised;
    expect(await check(NOW)).toBe(1);
    expect(subjects()).toEqual(['web-2: silent for 10h, last push 2026-11-01T11:59:59.999Z']);
    expect(await check(NOW + 60_000)).toBe(0); // told once per silence
    markSeen(gitdir, 'web-2', NOW + 120_000); // web-2's heartbeat
    expect(await check(NOW + 180_000)).toBe(1);
    expect(subjects()).toEqual(['web-2: pushing again, silent since 2026-11-01T11:59:59.999Z', 'web-2: silent for 10h, last push 2026-11-01T11:59:59.999Z']);
    expect(await check(NOW + 240_000)).toBe(0); // its return, once
    rmSync(spool.dir, { recursive: true, force: true });
  });
});
