// The bounds on what a user controls in an alert (src/alert/bounds.ts): one field cut between
// escapes and characters with a marker and a hash of the whole; owners per socket; and each
// channel's whole message (mail body, event-log line, hook stdin) under its bound, root's sockets
// kept whole while users' are condensed or dropped. Pure functions: synthetic alerts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  boundArgv, boundField, boundOwners, boundRaw, EVENT_LINE_MAX, FIELD_MAX, HOOK_INPUT_MAX, isCut, MAIL_BODY_MAX, MAIL_DIFF_MAX, OWNERS_SHOWN, prefixWithin,
} from '../../src/alert/bounds.js';
import { eventRecord } from '../../src/alert/eventlog.js';
import { hookEnv, hookInput } from '../../src/alert/hooks.js';
import { alertAttachments, alertText, buildAlert, type Alert, type AlertLine, type AlertOwner } from '../../src/alert/message.js';
import { escapeField } from '../../src/snapshot/escape.js';
import type { SnapshotLine } from '../../src/snapshot/index.js';
import type { Owner } from '../../src/types.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const MARK = /…\[cut (\d+) bytes, sha256:([0-9a-f]{16})\]$/;
const A = 'a'.repeat(40);
const T = Date.parse('2026-12-07T10:00:00Z');

describe('boundField', () => {
  it('keeps a field that fits, byte for byte', () => {
    for (const s of ['', 'nc -l 4444', 'é'.repeat(FIELD_MAX / 2), 'x'.repeat(FIELD_MAX)]) expect(boundField(s)).toBe(s);
  });

  it('cuts a long field to the bound with the count of bytes cut and a hash of the whole, the same every time', () => {
    const s = 'A'.repeat(1_048_576);
    const cut = boundField(s);
    expect(bytes(cut)).toBeLessThanOrEqual(FIELD_MAX);
    const [, n, h] = MARK.exec(cut)!;
    expect(Number(n)).toBe(bytes(s) - bytes(cut.replace(MARK, '')));
    expect(h).toBe(createHash('sha256').update(s).digest('hex').slice(0, 16));
    expect(boundField(s)).toBe(cut);
    expect(boundField(cut)).toBe(cut); // bounded again (an alert spooled cut): unchanged
    expect(isCut(cut)).toBe(true);
    // a common start, a different end: a different hash
    expect(boundField(s.slice(1) + 'B')).not.toBe(cut);
  });

  it('never cuts inside an escape (\\xHH, \\\\, \\u{H}) nor inside a multi-byte character or a surrogate pair', () => {
    const units = ['\\x00', '\\\\', '\\u{200b}', 'é', '€', '😀', 'a'];
    for (let shift = 0; shift < 12; shift++) {
      for (const u of units) {
        const s = 'a'.repeat(shift) + u.repeat(FIELD_MAX); // every alignment of the cut point
        const cut = boundField(s);
        expect(bytes(cut)).toBeLessThanOrEqual(FIELD_MAX);
        const kept = cut.replace(MARK, '');
        expect(kept.slice(0, shift)).toBe('a'.repeat(shift));
        expect(kept.slice(shift).length % u.length).toBe(0);
        expect(kept.slice(shift)).toBe(u.repeat(kept.slice(shift).length / u.length));
        expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut); // valid UTF-8, no lone surrogate
      }
    }
    // the escapes escapeField writes for hostile bytes
    const hostile = escapeField('\x1b[31m\xff\x00 \\'.repeat(2000));
    const cut = boundField(hostile);
    expect(cut.replace(MARK, '')).toMatch(/^(?:\\x[0-9a-f]{2}|\\\\|[!-~])*$/);
    expect(hostile.startsWith(cut.replace(MARK, ''))).toBe(true);
  });

  it("a raw argv: escaped, joined by spaces, cut with the count of raw bytes not shown and the hash of /proc/PID/cmdline's bytes", () => {
    const args = ['python3', '-c', '\x01\xc3\xa9\xff '.repeat(300_000), 'tail']; // latin1, as read: \x01, é in UTF-8, an invalid byte, a space
    const cut = boundArgv(args);
    expect(bytes(cut)).toBeLessThanOrEqual(FIELD_MAX);
    const file = Buffer.concat(args.map((a) => Buffer.from(`${a}\0`, 'latin1'))); // what /proc/PID/cmdline holds
    const [, n, h] = MARK.exec(cut)!;
    expect(h).toBe(createHash('sha256').update(file).digest('hex').slice(0, 16));
    const shown = cut.replace(MARK, '');
    expect(shown.startsWith("python3 -c $'\\x01é\\xff \\x01é")).toBe(true);
    // the count: the file's bytes less those the shown text stands for (an escape is one byte, é two, the quote none)
    const units = shown.slice("python3 -c $'".length).match(/\\x[0-9a-f]{2}|./gu)!;
    const standsFor = 'python3 -c '.length + units.reduce((k, u) => k + (u === 'é' ? 2 : 1), 0);
    expect(Number(n)).toBe(file.length - standsFor);
    // short ones escaped by escapeField, quoted shell-style when needed, joined by spaces
    expect(boundArgv(['nc', '-l', 'a b', ''])).toBe("nc -l 'a b' ''");
    expect(boundRaw('/usr/bin/nc')).toBe('/usr/bin/nc');
    expect(boundRaw('/tmp/' + 'd/'.repeat(3000))).toMatch(MARK);
  });

  it('prefixWithin counts UTF-8 bytes, not UTF-16 units', () => {
    expect(prefixWithin('ééé', 5)).toBe('éé');
    expect(prefixWithin('😀😀', 7)).toBe('😀');
    expect(prefixWithin('a\\x41b', 4)).toBe('a');
    expect(prefixWithin('a\\x41b', 5)).toBe('a\\x41');
  });
});

const proc = (pid: number, uid: number, cmdline = 'x'): AlertOwner => ({ pid, uid, user: uid === 0 ? 'root' : 'nobody', exe: '/usr/bin/python3', cmdline, container: null, startedAt: null });

describe('boundOwners', () => {
  it("shows root's first, at most OWNERS_SHOWN, and counts the others with their first pids", () => {
    const owners = [...Array.from({ length: 29 }, (_, i) => proc(100 + i, 65534)), proc(7, 0)];
    const { owners: shown, more } = boundOwners(owners);
    expect(shown.map((o) => o.pid)).toEqual([7, 100, 101]);
    expect(more).toEqual({ count: 27, pids: [102, 103, 104, 105, 106, 107, 108, 109, 110, 111] });
    expect(boundOwners(shown, more)).toEqual({ owners: shown, more }); // again: the same
    expect(OWNERS_SHOWN).toBe(3);
  });
});

/** A change: `rootLines` root listeners, `userLines` unix sockets each held by `per` users' processes with `arg` command lines. */
function crowd(rootLines: number, userLines: number, per: number, arg: number, diff = ''): Alert {
  const line = (i: number, root: boolean) => root ? `0.0.0.0:${22 + i}  sshd  root  /usr/sbin/sshd` : `@crowd-${i}  stream  python3  nobody  /usr/bin/python3.11`;
  const owner = (pid: number, uid: number): Owner => ({ pid, comm: 'p', exe: uid ? '/usr/bin/python3.11' : '/usr/sbin/sshd', uid, user: uid ? 'nobody' : 'root',
    cmdline: uid ? ['python3', '-c', 'A'.repeat(arg), `${pid}`] : ['sshd', '-D'], container: null, startedAt: null });
  const files = [{ path: 'host/unix', added: Array.from({ length: userLines }, (_, i) => line(i, false)), removed: [] },
    { path: 'host/tcp', added: Array.from({ length: rootLines }, (_, i) => line(i, true)), removed: [] }];
  const now = new Map<string, SnapshotLine[]>([
    ['host/unix', files[0].added.map((l, i) => ({ line: l, sockets: [{ owners: Array.from({ length: per }, (_, k) => owner(1000 + i * per + k, 65534)) }] }) as unknown as SnapshotLine)],
    ['host/tcp', files[1].added.map((l, i) => ({ line: l, sockets: [{ owners: [owner(10 + i, 0)] }] }) as unknown as SnapshotLine)],
  ]);
  return buildAlert({ commit: A, parent: 'b'.repeat(40), time: T, summary: 's', files }, now, diff, 'web1', '/var/lib/lsm/snapshots');
}

const rootBlock = (i: number) => [`  host/tcp  0.0.0.0:${22 + i}  sshd  root  /usr/sbin/sshd`, `      pid ${10 + i}  user root`, '      exe /usr/sbin/sshd', '      cmdline sshd -D'].join('\n');

describe('each channel under its bound', () => {
  it('30 processes with 1 MB command lines on one socket: the alert holds 3 of them, cut, and counts 27; root listed first and whole', () => {
    const a = crowd(1, 1, 30, 1_000_000);
    const held = a.added.find((l) => l.path === 'host/unix')!;
    expect(held.owners).toHaveLength(3);
    expect(held.moreOwners?.count).toBe(27);
    for (const o of held.owners) { expect(bytes(o.cmdline)).toBeLessThanOrEqual(FIELD_MAX); expect(o.cmdline).toMatch(MARK); }
    const text = alertText(a);
    expect(bytes(text)).toBeLessThan(20_000);
    expect(text.indexOf(rootBlock(0))).toBeGreaterThan(0);
    expect(text.indexOf(rootBlock(0))).toBeLessThan(text.indexOf('  host/unix  @crowd-0')); // root's first
    expect(text).toMatch(/^ {6}and 27 more processes \(pids 1003, 1004, .*, 1012, \.\.\.\)$/m);
    expect(text).toContain('The whole change: lsm show aaaaaaaaaa or git -C /var/lib/lsm/snapshots show ' + A);
  });

  it("the mail body: users' sockets listed without owners, then not at all, never root's; the note says so", () => {
    const a = crowd(5, 400, 3, 20_000); // 400 users' sockets, each ~12 KiB of owners: more than 1 MiB
    const text = alertText(a);
    expect(bytes(text)).toBeLessThanOrEqual(MAIL_BODY_MAX);
    for (let i = 0; i < 5; i++) expect(text).toContain(rootBlock(i));
    expect(text).toMatch(/^Cut to fit 1048576 bytes: long fields end in …\[cut N bytes, sha256:H\] \(N bytes not shown, H a hash of the whole\); \d+ sockets listed without owners; \d+ sockets not listed; root's sockets are listed first\. The whole change: lsm show aaaaaaaaaa or git -C \/var\/lib\/lsm\/snapshots show a{40}\.$/m);
    expect(text).toMatch(/^ {6}held by 3 processes \(pids \d+, \d+, \d+; owners cut to fit\)$/m);
    // a tighter bound: nothing of the users' left, root's still whole
    const small = alertText(a, 8000);
    expect(bytes(small)).toBeLessThanOrEqual(8000);
    for (let i = 0; i < 5; i++) expect(small).toContain(rootBlock(i));
    expect(small).toMatch(/^ {2}\.\.\. and \d+ more new sockets \(lsm show aaaaaaaaaa\)$/m);
  });

  it('a diff larger than MAIL_DIFF_MAX is not attached; the body says where it is', () => {
    const big = Array.from({ length: 20_000 }, (_, i) => `+/x/${'y'.repeat(60)}-${i}  stream  p  nobody  /p`).join('\n') + '\n';
    expect(bytes(big)).toBeGreaterThan(MAIL_DIFF_MAX);
    const a = crowd(1, 1, 1, 10, big);
    expect(alertAttachments(a)).toEqual([]);
    expect(alertText(a)).toMatch(/^ {2}\.\.\. and 18000 more lines of diff \(lsm show aaaaaaaaaa or git -C \/var\/lib\/lsm\/snapshots show a{40}\)$/m);
    expect(alertAttachments(crowd(1, 1, 1, 10, '+x\n'))).toHaveLength(1);
  });

  it("the event line: at most 64 KiB, valid JSON, id first, root's socket whole, and `cut` with how to see the whole", () => {
    const a = crowd(2, 100, 3, 20_000);
    const line = JSON.stringify(eventRecord(a)) + '\n';
    expect(bytes(line)).toBeLessThanOrEqual(EVENT_LINE_MAX);
    const r = JSON.parse(line);
    expect(line.startsWith(`{"id":"${A}"`)).toBe(true);
    expect(r.added.slice(0, 2)).toEqual([0, 1].map((i) => ({ path: 'host/tcp', line: `0.0.0.0:${22 + i}  sshd  root  /usr/sbin/sshd`,
      owners: [{ pid: 10 + i, uid: 0, user: 'root', exe: '/usr/sbin/sshd', cmdline: 'sshd -D', container: null, startedAt: null }] })));
    expect(r.cut).toEqual({ condensed: expect.any(Number), omitted: { added: expect.any(Number), removed: 0 }, see: `lsm show aaaaaaaaaa or git -C /var/lib/lsm/snapshots show ${A}` });
    expect(r.cut.condensed + r.cut.omitted.added).toBeGreaterThan(0);
    expect(r.added.length + r.cut.omitted.added).toBe(102);
    // a change that fits has no `cut`
    expect(eventRecord(crowd(1, 1, 1, 10))).not.toHaveProperty('cut');
  });

  it('hook stdin: at most 1 MiB, the sockets before the diff; a long summary is cut in LSM_SUMMARY (exec fails past 128 KiB)', () => {
    const diff = Array.from({ length: 30_000 }, (_, i) => `+@crowd-${i}  stream  python3  nobody  /usr/bin/python3.11`).join('\n') + '\n';
    const a = crowd(1, 300, 3, 20_000, diff);
    const input = hookInput(a);
    expect(bytes(input)).toBeLessThanOrEqual(HOOK_INPUT_MAX);
    const r = JSON.parse(input);
    expect(r.added[0].line).toBe('0.0.0.0:22  sshd  root  /usr/sbin/sshd');
    expect(r.diffCut).toEqual({ lines: expect.any(Number), see: expect.stringContaining('git -C /var/lib/lsm/snapshots show') });
    expect(diff.startsWith(r.diff)).toBe(true);
    expect(r.diff.split('\n').length - 1 + r.diffCut.lines).toBe(30_000);
    // small: the whole diff, no cut
    const whole = JSON.parse(hookInput(crowd(1, 1, 1, 10, '+x\n')));
    expect([whole.diff, whole.diffCut, whole.cut]).toEqual(['+x\n', undefined, undefined]);
    const env = hookEnv({ ...a, summary: `+1 -0: ${'netns/x/tcp +1, '.repeat(20_000)}` });
    expect(bytes(env.LSM_SUMMARY)).toBeLessThanOrEqual(FIELD_MAX);
  });
});

// a line as the collector would show an alert spooled before the bounds (all owners, no moreOwners)
it('an alert spooled before the bounds is bounded when delivered', () => {
  const old: AlertLine = { path: 'host/unix', line: '@x  stream  p  nobody  /p', owners: Array.from({ length: 30 }, (_, i) => ({ ...proc(100 + i, 65534, 'A'.repeat(1_000_000)), uid: undefined })) };
  const a: Alert = { id: A, commit: A, parent: null, host: 'h', time: T, summary: 's', added: [old], removed: [], diff: '', repo: '/r' };
  expect(bytes(alertText(a))).toBeLessThan(20_000);
  expect(bytes(JSON.stringify(eventRecord(a)))).toBeLessThan(20_000);
  expect(bytes(hookInput(a))).toBeLessThan(20_000);
});
