// What a person reads, word for word: the mail body of a change and of a drift reminder, the
// subject, and the event log's record. Written out whole on purpose: every word of it is a promise
// (docs/alerts.md shows these texts), and a test that only looks for fragments lets a changed word, a lost
// plural or a wrong age through. Pure functions: no files needed.
import { describe, expect, it } from 'vitest';
import { alertSubject, alertText, buildAlert, shellWord, unescapeField } from '../../src/alert/message.js';
import { eventRecord } from '../../src/alert/eventlog.js';
import { messageId, mailConfigured, qualified } from '../../src/alert/mail.js';
import type { SnapshotLine } from '../../src/snapshot/index.js';
import type { Change, Owner } from '../../src/types.js';

const T = Date.parse('2026-11-25T10:00:00Z');
const S = 1000;
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const owner = (o: Partial<Owner> & { pid: number }): Owner =>
  ({ comm: 'nc', exe: '/usr/bin/nc', uid: 0, user: 'root', cmdline: ['nc', '-l'], container: null, startedAt: null, ...o });
const now = (lines: Record<string, Record<string, Owner[][]>>): Map<string, SnapshotLine[]> =>
  new Map(Object.entries(lines).map(([path, byLine]) => [path, Object.entries(byLine).map(([line, sockets]) =>
    ({ line, sockets: sockets.map((owners) => ({ owners })) as unknown as SnapshotLine['sockets'] }))]));

const NC = '0.0.0.0:4444  nc  root  /usr/bin/nc';
const SSHD = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
const SOCK = '/run/a\\x20b.sock  stream  d  root  /usr/bin/d';
const DNS = '[::]:53  dnsmasq  root  /usr/sbin/dnsmasq';

function change(files: Change['files'], summary = 's'): Change {
  return { commit: A, parent: B, time: T, summary, files };
}

describe('the alert mail body, word for word', () => {
  it("a change: summary, each new socket's owners now (age, container, replaced binary, unknowns), gone sockets, the diff, the commands to look further", () => {
    const c = change([
      { path: 'host/tcp', added: [NC], removed: [SSHD] },
      { path: 'host/unix', added: [SOCK], removed: [] },
      { path: 'netns/web/udp', added: [DNS], removed: [] },
    ], '+3 -1: host/tcp +1 -1, host/unix +1, netns/web/udp +1');
    const owners = now({
      'host/tcp': { [NC]: [[
        owner({ pid: 10, startedAt: T - 90_400, container: 'c0ffee', exeReplaced: true }), // 90 s
        owner({ pid: 11, startedAt: T - 120 * S }), // 2 min: minutes from 120 s
        owner({ pid: 12, startedAt: T - 7199 * S }), // 119 min
        owner({ pid: 13, startedAt: T - 7200 * S }), // 2 h 0 min: hours from 7200 s
        owner({ pid: 14, startedAt: T - (47 * 3600 + 59 * 60 + 59) * S }), // 47 h 59 min
        owner({ pid: 15, startedAt: T - 172_800 * S }), // 2 days from 48 h
        owner({ pid: 16, startedAt: T + 5 * S }), // a clock step: never a negative age
      ], [
        owner({ pid: 17, user: null, exe: null, cmdline: [], startedAt: T - 119_400 }), // another socket on the same line; 119.4 s rounds to 119
      ]] },
      'netns/web/udp': { [DNS]: [[owner({ pid: 20, comm: 'dnsmasq', exe: '/usr/sbin/dnsmasq', cmdline: ['dnsmasq', '-k'], startedAt: T - 119_600 }) /* rounds to 120 s: minutes */]] },
    });
    const diff = 'diff --git a/host/tcp b/host/tcp\n-0.0.0.0:22  sshd  root  /usr/sbin/sshd\n+0.0.0.0:4444  nc  root  /usr/bin/nc\n';
    const a = buildAlert(c, owners, diff, 'web1', '/var/lib/lsm/snapshots');
    expect(alertText(a)).toBe([
      'lsm on web1 recorded a change at 2026-11-25 10:00:00 UTC (commit aaaaaaaaaa): 3 sockets appeared, 1 vanished. +3 -1: host/tcp +1 -1, host/unix +1, netns/web/udp +1',
      '',
      'What to do:',
      '  Approve this state (or lsm -g: scan again and approve what listens then):',
      '    lsm accept aaaaaaaaaa',
      '  Investigate:',
      '    lsm show aaaaaaaaaa',
      '    lsm blame 4444/tcp',
      "    lsm blame '/run/a b.sock'",
      '    lsm blame 53/udp',
      '    git -C /var/lib/lsm/snapshots log -p',
      '',
      'New sockets, and who holds them now:',
      `  host/tcp  ${NC}`,
      '      pid 10  user root  running 90s  container c0ffee',
      '      exe /usr/bin/nc  (binary replaced, restart pending)',
      '      cmdline nc -l',
      '      pid 11  user root  running 2m',
      '      exe /usr/bin/nc',
      '      cmdline nc -l',
      '      pid 12  user root  running 119m',
      '      exe /usr/bin/nc',
      '      cmdline nc -l',
      '      and 5 more processes (pids 13, 14, 15, 16, 17)', // OWNERS_SHOWN: a user's 30 processes cannot fill a mail
      `  host/unix  ${SOCK}`,
      '      owner: unknown now (the process exited, or lsm could not read it)',
      `  netns/web/udp  ${DNS}`,
      '      pid 20  user root  running 2m',
      '      exe /usr/sbin/dnsmasq',
      '      cmdline dnsmasq -k',
      '',
      'Gone:',
      `  host/tcp  ${SSHD}`,
      '',
      'The change (git show aaaaaaaaaa):',
      '',
      'diff --git a/host/tcp b/host/tcp',
      '-0.0.0.0:22  sshd  root  /usr/sbin/sshd',
      '+0.0.0.0:4444  nc  root  /usr/bin/nc',
      '',
    ].join('\n'));
  });

  it('ages in seconds to 2 min, minutes to 2 h, hours and minutes to 2 days, then days; never negative; an unreadable owner as ?', () => {
    const lines = ['0.0.0.0:1  a  root  /a', '0.0.0.0:2  a  root  /a', '0.0.0.0:3  a  root  /a'];
    const a = buildAlert(change([{ path: 'host/tcp', added: lines, removed: [] }]), now({ 'host/tcp': {
      [lines[0]]: [[owner({ pid: 13, startedAt: T - 7200 * S }), owner({ pid: 14, startedAt: T - (47 * 3600 + 59 * 60 + 59) * S })]],
      [lines[1]]: [[owner({ pid: 15, startedAt: T - 172_800 * S }), owner({ pid: 16, startedAt: T + 5 * S })]],
      [lines[2]]: [[owner({ pid: 17, uid: null, user: null, exe: null, cmdline: [], startedAt: T - 119_400 })]],
    } }), '', 'h', '/r');
    expect(alertText(a).split('\n').filter((l) => l.startsWith('      ')).join('\n')).toBe([
      '      pid 13  user root  running 2h 0m', '      exe /usr/bin/nc', '      cmdline nc -l',
      '      pid 14  user root  running 47h 59m', '      exe /usr/bin/nc', '      cmdline nc -l',
      '      pid 15  user root  running 2d', '      exe /usr/bin/nc', '      cmdline nc -l',
      '      pid 16  user root  running 0s', '      exe /usr/bin/nc', '      cmdline nc -l',
      '      pid 17  user ?  running 119s', '      exe ?', '      cmdline (none)',
    ].join('\n'));
  });

  it('one socket is singular; no gone section without gone sockets; no diff lines for an empty diff', () => {
    const text = alertText(buildAlert(change([{ path: 'host/tcp', added: [NC], removed: [] }], '+1 -0: host/tcp +1'), null, '', 'web1', '/r'));
    expect(text).toBe([
      'lsm on web1 recorded a change at 2026-11-25 10:00:00 UTC (commit aaaaaaaaaa): 1 socket appeared, 0 vanished. +1 -0: host/tcp +1',
      '',
      'What to do:',
      '  Approve this state (or lsm -g: scan again and approve what listens then):',
      '    lsm accept aaaaaaaaaa',
      '  Investigate:',
      '    lsm show aaaaaaaaaa',
      '    lsm blame 4444/tcp',
      '    git -C /r log -p',
      '',
      'New sockets, and who holds them now:',
      `  host/tcp  ${NC}`,
      '      owner: unknown now (the process exited, or lsm could not read it)',
      '',
      'The change (git show aaaaaaaaaa):',
      '',
      '',
      '',
    ].join('\n'));
    // exactly 200 gone sockets are all listed, with no '... and 0 more'
    const all = alertText(buildAlert(change([{ path: 'host/tcp', added: [], removed: Array.from({ length: 200 }, (_, i) => `0.0.0.0:${i + 1}  x  root  /x`) }]), null, '', 'web1', '/r'));
    expect(all).not.toContain('more gone sockets');
    expect(all.match(/^  host\/tcp  /gm)).toHaveLength(200);
    const gone = alertText(buildAlert(change([{ path: 'host/tcp', added: [], removed: [SSHD, NC] }]), null, '', 'web1', '/r'));
    expect(gone).toContain('0 sockets appeared, 2 vanished. s\n\nWhat to do:\n');
    expect(gone).toContain('\n    git -C /r log -p\n\nGone:\n');
    expect(gone).not.toContain('New sockets');
    expect(gone).not.toContain('lsm blame'); // nothing new to blame
  });

  it('asks blame about at most five distinct endpoints, a tcp/udp port as PORT/KIND and anything else as one shell word', () => {
    const lines = ['0.0.0.0:1  a  root  /a', '[::]:1  a  root  /a', '0.0.0.0:2  b  root  /b', '0.0.0.0:3  c  root  /c', '0.0.0.0:4  d  root  /d', '0.0.0.0:5  e  root  /e', '0.0.0.0:6  f  root  /f'];
    const text = alertText(buildAlert(change([{ path: 'host/tcp', added: lines, removed: [] }, { path: 'host/raw', added: ['0.0.0.0:17  x  root  /x'], removed: [] }]), null, '', 'h', '/r'));
    expect(text.match(/^ {4}lsm blame .*$/gm)).toEqual(['    lsm blame 1/tcp', '    lsm blame 2/tcp', '    lsm blame 3/tcp', '    lsm blame 4/tcp', '    lsm blame 5/tcp']);
    expect(text).toContain('\n  Investigate (lsm blame PORT/KIND or PATH for the 2 other new sockets):\n'); // 6/tcp and 0.0.0.0:17
    const raw = alertText(buildAlert(change([{ path: 'host/raw', added: ['0.0.0.0:17  x  root  /x'], removed: [] }, { path: 'host/packet', added: ['eth0:0003  raw  tcpdump  root  /usr/bin/tcpdump'], removed: [] }]), null, '', 'h', '/r'));
    expect(raw.match(/^ {4}lsm blame .*$/gm)).toEqual(['    lsm blame 0.0.0.0:17', '    lsm blame eth0:0003']);
  });

  it('a reminder: how many differences from which baseline, each dated by the commit that made it, and the commands with --repo', () => {
    const a = buildAlert(change([{ path: 'host/tcp', added: [NC], removed: [SSHD] }]), now({ 'host/tcp': { [NC]: [[owner({ pid: 10 })]] } }), '-x\n+y\n', 'web1', '/r', true);
    a.reminder = true;
    a.added[0].since = { commit: 'd'.repeat(40), time: Date.parse('2026-11-20T08:00:00Z') };
    a.removed[0].since = { commit: null, time: Date.parse('2026-11-19T07:30:00Z') };
    a.baseline = { commit: B, approvedAt: Date.parse('2026-11-18T12:00:00Z'), approvedBy: 'alice', notIn: 1, goneFrom: 1, matches: false };
    expect(alertText(a)).toBe([
      'REMINDER: lsm on web1 still sees 2 differences from the approved baseline (bbbbbbbbbb) at 2026-11-25 10:00:00 UTC: 1 socket more, 1 fewer.',
      '',
      'What to do:',
      '  Drift: yes, unapproved since 2026-11-19 07:30:00 UTC, from the approved baseline (bbbbbbbbbb, approved 2026-11-18 12:00:00 UTC by alice): 1 new socket not in it, 1 socket of it gone.',
      '  Approve this state (or lsm -g --repo=/r: scan again and approve what listens then):',
      '    lsm accept aaaaaaaaaa --repo=/r',
      '  Investigate:',
      '    lsm drift --repo=/r',
      '    lsm blame 4444/tcp --repo=/r',
      '    git -C /r log -p',
      '',
      'Not in the baseline, and who holds them now:',
      `  host/tcp  ${NC}`,
      '      since commit dddddddddd, 2026-11-20 08:00:00 UTC',
      '      pid 10  user root',
      '      exe /usr/bin/nc',
      '      cmdline nc -l',
      '',
      'In the baseline, and gone:',
      `  host/tcp  ${SSHD}`,
      '      since 2026-11-19 07:30:00 UTC',
      '',
      'The difference (lsm diff baseline aaaaaaaaaa --repo=/r):',
      '',
      '-x',
      '+y',
      '',
    ].join('\n'));
    // the subject dates it by its oldest difference
    expect(alertSubject(a, 'S')).toBe('S: reminder, unapproved since 2026-11-19 07:30:00 UTC: +1 -1: +tcp 0.0.0.0:4444 (nc), -tcp 0.0.0.0:22 (sshd)');
    const one = buildAlert(change([{ path: 'host/tcp', added: [], removed: [SSHD, NC] }]), null, '', 'web1', '/r');
    one.reminder = true;
    expect(alertText(one)).toMatch(/^REMINDER: lsm on web1 still sees 2 differences from the approved baseline \(bbbbbbbbbb\) at .*: 0 sockets more, 2 fewer\.\n\nWhat to do:\n {2}Approve this state \(or lsm -g: scan again and approve what listens then\):\n {4}lsm accept aaaaaaaaaa\n/);
    one.removed.pop();
    expect(alertText(one)).toMatch(/^REMINDER: lsm on web1 still sees 1 difference from .*: 0 sockets more, 1 fewer\./);
  });

  it('what to do: whether the change is drift from the approved baseline and since when, the approve command (or none), the fleet host that approves', () => {
    const block = (a: ReturnType<typeof buildAlert>) => alertText(a).split('\n\n')[1];
    const a = buildAlert(change([{ path: 'host/tcp', added: [NC, DNS], removed: [SSHD] }]), null, '', 'web1', '/r');
    a.baseline = { commit: B, approvedAt: Date.parse('2026-11-18T12:00:00Z'), approvedBy: 'alice', notIn: 2, goneFrom: 1, matches: false };
    expect(block(a)).toBe([
      'What to do:',
      '  Drift: yes, since this change (2026-11-25 10:00:00 UTC), from the approved baseline (bbbbbbbbbb, approved 2026-11-18 12:00:00 UTC by alice): 2 new sockets not in it, 1 socket of it gone.',
      '  Approve this state (or lsm -g: scan again and approve what listens then):',
      '    lsm accept aaaaaaaaaa',
      '  Investigate:',
      '    lsm show aaaaaaaaaa',
      '    lsm blame 4444/tcp',
      '    lsm blame 53/tcp',
      '    git -C /r log -p',
    ].join('\n'));
    a.baseline = { ...a.baseline, earlier: true };
    expect(block(a)).toContain(': 2 new sockets not in it, 1 socket of it gone. Earlier differences remain too (lsm drift).\n');
    a.baseline = { commit: B, notIn: 0, goneFrom: 1, matches: false }; // no reflog entry: no date, no name
    expect(block(a)).toContain('\n  Drift: yes, since this change (2026-11-25 10:00:00 UTC), from the approved baseline (bbbbbbbbbb): 1 socket of it gone.\n');
    a.baseline = { commit: B, notIn: 0, goneFrom: 0, matches: false };
    expect(block(a)).toContain('\n  Drift: none new, this change goes back toward the approved baseline (bbbbbbbbbb); other differences remain (lsm drift).\n  Approve this state');
    a.baseline = { commit: B, approvedAt: T - 1000, approvedBy: 'bob', notIn: 0, goneFrom: 0, matches: true };
    expect(block(a)).toContain('\n  Drift: none, this change brings the host back to the approved baseline (bbbbbbbbbb, approved 2026-11-25 09:59:59 UTC by bob).\n  Approve: nothing to approve, the host is as approved.\n  Investigate:\n');
    a.baseline = { commit: null, notIn: 0, goneFrom: 0, matches: false };
    expect(block(a)).toContain('\n  Drift: no baseline is approved yet, so nothing here is approved.\n  Approve this state');
    a.subject = 'web1: +2 -1'; // a fleet's central alert: approved on the host
    expect(block(a)).toContain('\n  Approve this state on web1 (or there lsm -g: scan again and approve what listens then):\n    lsm accept aaaaaaaaaa\n');
    a.repo = '/srv/lsm/fleet.git (branch hosts/web1)'; // the server's repository and the host's branch: a command that runs
    expect(block(a).split('\n').at(-1)).toBe('    git -C /srv/lsm/fleet.git log -p hosts/web1');
  });

  it('a subject names each socket once per command, and its namespace when it is not the host', () => {
    const two = 'netns/a\\x20b/tcp';
    const a = buildAlert(change([{ path: two, added: ['0.0.0.0:80  nginx  root  /n  +  nginx  www-data  /n  +  ?  root  ?'], removed: [] }]), null, '', 'h', '/r');
    expect(alertSubject(a, 'SUB')).toBe('SUB: +1 a\\x20b tcp 0.0.0.0:80 (nginx)');
    const both = buildAlert(change([{ path: 'host/tcp', added: ['0.0.0.0:80  nginx  root  /n  +  php  www-data  /p'], removed: [] }]), null, '', 'h', '/r');
    expect(alertSubject(both, 'SUB')).toBe('SUB: +1 tcp 0.0.0.0:80 (nginx,php)'); // every command, comma-separated
    // exactly 200 characters is not cut; 201 is, to 199 and an ellipsis
    const pad = (n: number) => buildAlert(change([{ path: 'host/unix', added: [`/${'x'.repeat(n)}  stream  d  root  /d`], removed: [] }]), null, '', 'h', '/r');
    const base = alertSubject(pad(0), 'S').length; // 'S: +1 unix /x... (d)'
    expect(alertSubject(pad(200 - base), 'S')).toHaveLength(200);
    expect(alertSubject(pad(200 - base), 'S').endsWith('(d)')).toBe(true);
    expect(alertSubject(pad(201 - base), 'S')).toBe(`S: +1 unix /${'x'.repeat(201 - base)} (…`);
  });
});

describe('the event log record, field by field', () => {
  it('times as RFC 3339 UTC with milliseconds, owners escaped as in the mail, reminders and their since dates marked', () => {
    const a = buildAlert(change([{ path: 'host/tcp', added: [NC], removed: [SSHD] }], 'sum'),
      now({ 'host/tcp': { [NC]: [[owner({ pid: 10, startedAt: T - 1500, container: 'k8s', exe: '/tmp/a b' })]] } }), 'D', 'web1', '/r');
    expect(eventRecord(a)).toEqual({
      id: A, schema: 1, time: '2026-11-25T10:00:00.000Z', host: 'web1', commit: A, parent: B, summary: 'sum',
      added: [{ path: 'host/tcp', line: NC, owners: [{ pid: 10, uid: 0, user: 'root', exe: '/tmp/a\\x20b', cmdline: 'nc -l', container: 'k8s', startedAt: '2026-11-25T09:59:58.500Z' }] }],
      removed: [{ path: 'host/tcp', line: SSHD }], repo: '/r',
    });
    a.reminder = true;
    a.added[0].since = { commit: 'd'.repeat(40), time: T - 1 };
    a.removed[0].since = { commit: null, time: T - 2 };
    a.added[0].owners[0].startedAt = null;
    const r = eventRecord(a) as Record<string, unknown>;
    expect(r).toMatchObject({ reminder: true, added: [{ since: { commit: 'd'.repeat(40), time: '2026-11-25T09:59:59.999Z' }, owners: [{ startedAt: null }] }], removed: [{ since: { commit: null, time: '2026-11-25T09:59:59.998Z' } }] });
    expect(Object.keys(r)).toEqual(['id', 'schema', 'time', 'host', 'commit', 'parent', 'summary', 'reminder', 'added', 'removed', 'repo']); // ids first: lastEventId reads only a line's start
  });
});

describe('the mail envelope', () => {
  it("a Message-ID derived from the alert and a host name made safe for it; bare names are this host's mailboxes; mail is configured by SMTP_URL or SENDMAIL", () => {
    expect(messageId({ id: A, host: 'web1.example.org' })).toBe(`<lsm-${A}@web1.example.org>`);
    expect(messageId({ id: A, host: 'we b/1<x>' })).toBe(`<lsm-${A}@we_b_1_x_>`);
    expect(messageId({ id: A, host: '' })).toBe(`<lsm-${A}@localhost>`);
    const m = { to: [], from: '', subject: '', smtpUrl: '', sendmail: '' };
    expect([mailConfigured(m), mailConfigured({ ...m, sendmail: '/usr/sbin/sendmail' }), mailConfigured({ ...m, smtpUrl: 'smtp://x' })]).toEqual([false, true, true]);
    expect(qualified('a@b')).toBe('a@b');
  });

  it('an escaped field goes back to its exact bytes, and a shell word stands for exactly them', () => {
    expect(unescapeField('""')).toEqual(Buffer.alloc(0));
    expect(unescapeField('a\\\\b\\x0a\\u{e9}\\')).toEqual(Buffer.from('a\\b\n\u00e9\\', 'utf8'));
    expect(shellWord('plain/path-1.sock')).toBe('plain/path-1.sock');
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('')).toBe("''");
    expect(shellWord(Buffer.from([0x41, 0x27, 0x5c, 0x0a, 0x7f, 0xff]))).toBe("$'A\\x27\\x5c\\x0a\\x7f\\xff'");
  });
});
