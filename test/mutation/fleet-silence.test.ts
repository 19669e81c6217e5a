// The dead-man switch (silence.ts) into a real spool, from the rows `lsm fleet status` gives: the
// words of a silence and of a return, exactly; told once per silence (a host silent again after a
// return it was not seen making is a new silence); a host that never pushed; a spool that cannot
// take the alert leaves the marker where it was and says so. And the host-id and snapshot rules
// (names.ts) at their edges.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../src/alert/spool.js';
import { baselineOfRef, baselineRef, hostIdProblem, hostOfRef, hostRef, snapshotPathProblem, snapshotTextProblem, HOST_FILES } from '../../src/fleet/names.js';
import type { HostStatus } from '../../src/fleet/questions.js';
import { span, tellSilence } from '../../src/fleet/silence.js';

const NOW = Date.parse('2026-11-02T00:00:00Z');
const HOUR = 3_600_000;
const TIP = 'c'.repeat(40);
const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'lsm-msilence-')); tmps.push(d); return d; };

const row = (host: string, lastSeen: number | null, silent: boolean): HostStatus => ({
  host, tip: TIP, lastSeen: lastSeen === null ? null : new Date(lastSeen).toISOString(), lastPush: null, changes: 0,
  lastChange: null, lastChangeCommitted: null, clockOff: false, sockets: {}, silent, drift: null,
});

describe('fleet silence', () => {
  it('span reads at a glance, each unit up to twice the next', () => {
    const s = 1000;
    expect([-5 * s, 0, 499, 500, 119 * s, 119_499, 119_500, 7199 * s, 7200 * s, 172_799 * s, 172_800 * s, 40 * 86_400 * s].map(span))
      .toEqual(['0s', '0s', '0s', '1s', '119s', '119s', '2m', '119m', '2h', '47h', '2d', '40d']);
  });

  it('a silent host is told once, in its own words; its return once; a new silence after a return unseen is told again', async () => {
    const gitdir = tmp();
    const spool = new Spool(join(tmp(), 'spool'));
    const seen = NOW - 3 * HOUR;
    const r1 = await tellSilence(gitdir, spool, [row('web-1', seen, true), row('web-2', NOW - 60_000, false)], '2h', NOW);
    expect(r1).toEqual({ raised: 1, problems: [] });
    const [e] = spool.list();
    expect(e.alert).toEqual({
      id: `${TIP}-fleet-silent-web-1-${seen}`, commit: TIP, parent: null, host: 'web-1', time: NOW,
      summary: 'web-1: silent for 3h, last push 2026-11-01T21:00:00.000Z', subject: 'web-1: silent for 3h, last push 2026-11-01T21:00:00.000Z',
      added: [], removed: [], diff: '', repo: `${gitdir} (branch hosts/web-1)`,
      notice: 'SILENT HOST web-1: no push to the fleet since 2026-11-01T21:00:00.000Z (3h), more than 2h, not even a heartbeat. ' +
        'lsm stopped there, the host is down, or its root stopped pushing: nothing it does now is recorded here.\n' +
        `The fleet says when it pushes again.\n\nTo look further:\n  lsm fleet status --fleet ${gitdir}\n  git --git-dir ${gitdir} log -1 hosts/web-1`,
    });
    expect(readFileSync(join(gitdir, 'lsm', 'silent-alerted', 'web-1'), 'utf8')).toBe('2026-11-01T21:00:00.000Z');
    expect(existsSync(join(gitdir, 'lsm', 'silent-alerted', 'web-2'))).toBe(false);
    // still silent: nothing more
    expect(await tellSilence(gitdir, spool, [row('web-1', seen, true)], '2h', NOW + HOUR)).toEqual({ raised: 0, problems: [] });
    // it pushed once unseen by any check, and is silent again: a silence of its own
    const later = NOW + HOUR;
    expect(await tellSilence(gitdir, spool, [row('web-1', later, true)], '2h', NOW + 4 * HOUR)).toEqual({ raised: 1, problems: [] });
    expect(spool.list().map((x) => x.alert.subject).sort()).toEqual(['web-1: silent for 3h, last push 2026-11-01T21:00:00.000Z', 'web-1: silent for 3h, last push 2026-11-02T01:00:00.000Z']);
    // back: told once, naming the silence it ends
    for (const x of spool.list()) spool.remove(x);
    expect(await tellSilence(gitdir, spool, [row('web-1', NOW + 5 * HOUR, false)], '2h', NOW + 5 * HOUR)).toEqual({ raised: 1, problems: [] });
    const back = spool.list()[0].alert;
    expect(back.id).toBe(`${TIP}-fleet-back-web-1-${NOW + 5 * HOUR}`);
    expect(back.subject).toBe('web-1: pushing again, silent since 2026-11-02T01:00:00.000Z');
    expect(back.notice).toBe('web-1 is pushing again (last seen 2026-11-02T05:00:00.000Z), after a silence told since 2026-11-02T01:00:00.000Z. ' +
      `What it recorded meanwhile, it pushed now: lsm fleet log --host web-1 shows it.\n\nTo look further:\n  lsm fleet status --fleet ${gitdir}\n  git --git-dir ${gitdir} log -1 hosts/web-1`);
    expect(existsSync(join(gitdir, 'lsm', 'silent-alerted', 'web-1'))).toBe(false);
    expect(await tellSilence(gitdir, spool, [row('web-1', NOW + 6 * HOUR, false)], '2h', NOW + 6 * HOUR)).toEqual({ raised: 0, problems: [] });
  });

  it('a host never seen: silent for ever; its first push ends it', async () => {
    const gitdir = tmp();
    const spool = new Spool(join(tmp(), 'spool'));
    expect(await tellSilence(gitdir, spool, [row('db-1', null, true)], '1h', NOW)).toEqual({ raised: 1, problems: [] });
    const a = spool.list()[0].alert;
    expect([a.id, a.subject]).toEqual([`${TIP}-fleet-silent-db-1-0`, 'db-1: silent for ever, never pushed']);
    expect(a.notice!.split('\n')[0]).toBe('SILENT HOST db-1: no push to the fleet ever, more than 1h, not even a heartbeat. lsm stopped there, the host is down, or its root stopped pushing: nothing it does now is recorded here.');
    expect(readFileSync(join(gitdir, 'lsm', 'silent-alerted', 'db-1'), 'utf8')).toBe('never');
    expect(await tellSilence(gitdir, spool, [row('db-1', null, true)], '1h', NOW + HOUR)).toEqual({ raised: 0, problems: [] });
    expect(await tellSilence(gitdir, spool, [row('db-1', NOW + 2 * HOUR, false)], '1h', NOW + 2 * HOUR)).toEqual({ raised: 1, problems: [] });
    expect(spool.list().map((x) => x.alert.subject).sort()).toEqual(['db-1: pushing again, silent since its first push', 'db-1: silent for ever, never pushed']);
  });

  it('a spool that cannot take the alert: said, the marker unchanged, told at the next check', async () => {
    const gitdir = tmp();
    const file = join(tmp(), 'a-file');
    writeFileSync(file, '');
    const broken = new Spool(join(file, 'spool'));
    const r = await tellSilence(gitdir, broken, [row('web-1', NOW - 3 * HOUR, true)], '2h', NOW);
    expect(r.raised).toBe(0);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(new RegExp(`^silent-host alert for web-1 not spooled in ${join(file, 'spool')} \\(retried next check\\): `));
    expect(existsSync(join(gitdir, 'lsm', 'silent-alerted', 'web-1'))).toBe(false);
    const spool = new Spool(join(tmp(), 'spool'));
    expect((await tellSilence(gitdir, spool, [row('web-1', NOW - 3 * HOUR, true)], '2h', NOW)).raised).toBe(1);
    // its return into the broken spool: said, still marked, told when the spool works
    const back = await tellSilence(gitdir, broken, [row('web-1', NOW, false)], '2h', NOW);
    expect(back.raised).toBe(0);
    expect(back.problems[0]).toMatch(new RegExp(`^return alert for web-1 not spooled in ${join(file, 'spool')} \\(retried next check\\): `));
    expect(existsSync(join(gitdir, 'lsm', 'silent-alerted', 'web-1'))).toBe(true);
    expect((await tellSilence(gitdir, spool, [row('web-1', NOW, false)], '2h', NOW)).raised).toBe(1);
  });
});

describe('fleet names at their edges', () => {
  it('host ids: 63 characters at most, no dot or dash first, no .lock, no trailing dot; refs of either kind', () => {
    expect(hostIdProblem('a'.repeat(63))).toBeNull();
    expect(hostIdProblem('_a')).toBeNull();
    expect(hostIdProblem('9')).toBeNull();
    for (const bad of ['a'.repeat(64), 'a.', 'web.lock', 'a..b', '.a', '-a', 'a/b', 'é', 'a:b']) {
      expect(hostIdProblem(bad), bad).toBe(`'${bad}' is not a usable host id (letters, digits, '.', '_', '-'; up to 63; not starting with '.' or '-')`);
    }
    expect([hostRef('web-1'), baselineRef('web-1')]).toEqual(['refs/heads/hosts/web-1', 'refs/heads/baselines/web-1']);
    expect([baselineOfRef('refs/heads/baselines/web-1'), baselineOfRef('refs/heads/baselines/a..b'), baselineOfRef('refs/heads/hosts/web-1'), baselineOfRef('xrefs/heads/baselines/web-1')]).toEqual(['web-1', null, null, null]);
    expect([hostOfRef('refs/heads/hosts/web.lock'), hostOfRef('xrefs/heads/hosts/web-1'), hostOfRef('refs/heads/hosts/')]).toEqual([null, null, null]);
    // as long as the prefix, ending in a valid id: only the prefix itself makes a host branch
    expect([hostOfRef('refs/heads/other/web-1'), baselineOfRef('refs/heads/elsewhere/web-1')]).toEqual([null, null]);
  });

  it('snapshot paths: host/<kind> or netns/<label>/<kind>, nothing deeper or shallower; the message names the path, cut at 80', () => {
    expect(HOST_FILES).toEqual(['host/tcp', 'host/udp', 'host/raw', 'host/packet', 'host/unix']);
    expect(snapshotPathProblem('host/unattributed')).toBeNull();
    expect(snapshotPathProblem(`netns/${'a'.repeat(96)}/tcp`)).toBeNull();
    for (const bad of [`netns/${'a'.repeat(97)}/tcp`, 'netns/x/tcp/y', 'netns/x', 'netns//tcp', 'netns/x/icmp', 'other/x/tcp', 'host/tcp/', 'tcp', 'Host/tcp']) {
      expect(snapshotPathProblem(bad), bad).toBe(`'${bad.slice(0, 80)}' is not a snapshot file (host/<kind> or netns/<label>/<kind>, kind one of tcp, udp, raw, packet, unix, unattributed)`);
    }
  });

  it('snapshot text: where the problem is, by line', () => {
    expect(snapshotTextProblem('host/udp', 'a\nb\n\n')).toBe('host/udp:3: empty line');
    expect(snapshotTextProblem('host/udp', '\n')).toBe('host/udp:1: empty line');
    expect(snapshotTextProblem('host/udp', 'a\nb\x7f\n')).toBe('host/udp:2: control character (snapshot text is escaped)');
    expect(snapshotTextProblem('host/udp', 'a\tb\n')).toBe('host/udp:1: control character (snapshot text is escaped)');
    expect(snapshotTextProblem('host/udp', 'b\na\nb\n')).toBe('host/udp:3: duplicate line');
    expect(snapshotTextProblem('host/udp', 'a\nb')).toBe('host/udp: does not end with a newline');
    expect(snapshotTextProblem('host/udp', 'a b ~\n')).toBeNull();
  });
});
