// The mail body stays readable for a huge change: the first 200 sockets each way and 2000 lines of
// diff, then how many more and where to see them.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { alertSubject, alertText, buildAlert, shellWord, unescapeField, type Alert } from '../../src/alert/message.js';
import { boundArgv } from '../../src/alert/bounds.js';
import { escapeField } from '../../src/snapshot/escape.js';
import type { SnapshotLine } from '../../src/snapshot/index.js';
import type { Change } from '../../src/types.js';

const line = (port: number) => `0.0.0.0:${port}  svc  root  /usr/bin/svc`;

function alertFor(added: number, removed: number, diffLines: number) {
  const change: Change = {
    commit: 'a'.repeat(40), parent: 'b'.repeat(40), time: Date.parse('2026-11-25T10:00:00Z'), summary: `+${added} -${removed}: host/tcp`,
    files: [{ path: 'host/tcp', added: Array.from({ length: added }, (_, i) => line(10_000 + i)), removed: Array.from({ length: removed }, (_, i) => line(20_000 + i)) }],
  };
  const owner = { pid: 4242, comm: 'svc', exe: '/usr/bin/svc', uid: 0, user: 'root', cmdline: ['svc', '--serve'], container: null, startedAt: null };
  const now = new Map<string, SnapshotLine[]>([['host/tcp', change.files[0].added.map((l) => ({ line: l, sockets: [{ owners: [owner] }] as unknown as SnapshotLine['sockets'] }))]]);
  const diff = Array.from({ length: diffLines }, (_, i) => `+${line(i)}`).join('\n') + '\n';
  return alertText(buildAlert(change, now, diff, 'web1', '/var/lib/lsm/snapshots'));
}

describe('the alert mail body', () => {
  it('lists every socket and the whole diff of a small change', () => {
    const text = alertFor(3, 2, 10);
    expect(text.match(/^ {6}pid 4242 {2}user root$/gm)).toHaveLength(3);
    expect(text).toContain('  host/tcp  0.0.0.0:20001  svc  root  /usr/bin/svc\n');
    expect(text).not.toContain('... and');
    expect(text).toContain(`+${line(9)}\n`);
  });

  it('says how many more sockets and diff lines a huge change has, and where they are', () => {
    const text = alertFor(300, 250, 3000);
    expect(text.match(/^ {6}pid 4242 /gm)).toHaveLength(200);
    expect(text).toContain('  ... and 100 more new sockets (lsm show aaaaaaaaaa)\n');
    expect(text).toContain('  ... and 50 more gone sockets (lsm show aaaaaaaaaa)\n');
    expect(text).toContain(`+${line(1999)}\n  ... and 1000 more lines of diff (attached whole as lsm-aaaaaaaaaa.diff)\n`);
    expect(text).not.toContain(line(2000));
    expect(text.split('\n').length).toBeLessThan(200 * 4 + 200 + 2000 + 40); // 4 lines a new socket, 1 a gone one
  });

  it('escapes a cgroup-derived container name (ESC, BEL) like every other system field', () => {
    const change: Change = { commit: 'a'.repeat(40), parent: null, time: 0, summary: '+1: host/tcp', files: [{ path: 'host/tcp', added: [line(1)], removed: [] }] };
    const owner = { pid: 7, comm: 'svc', exe: '/usr/bin/svc', uid: 0, user: 'root', cmdline: ['svc'], container: 'lxc-e\x1b[31mx\x07', startedAt: null };
    const now = new Map<string, SnapshotLine[]>([['host/tcp', [{ line: line(1), sockets: [{ owners: [owner] }] as unknown as SnapshotLine['sockets'] }]]]);
    const text = alertText(buildAlert(change, now, '', 'web1', '/r'));
    expect(text).toContain('container lxc-e\\x1b[31mx\\x07');
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});

describe('the alert mail in a busy inbox', () => {
  const base = (added: string[], removed: string[] = []): Alert => buildAlert(
    { commit: 'c'.repeat(40), parent: 'b'.repeat(40), time: Date.parse('2026-11-25T10:00:00Z'), summary: 's', files: [{ path: 'host/tcp', added, removed }] },
    null, '', 'web1', '/var/lib/lsm/snapshots');

  it('puts what changed in the subject, bounded', () => {
    expect(alertSubject(base(['0.0.0.0:4444  nc  root  /usr/bin/nc']), 'LSM Port Monitor Alert on web1')).toBe('LSM Port Monitor Alert on web1: +1 tcp 0.0.0.0:4444 (nc)');
    expect(alertSubject(base([], ['[::]:22  sshd  root  /usr/sbin/sshd']), 'S')).toBe('S: -1 tcp [::]:22 (sshd)');
    expect(alertSubject(base(['0.0.0.0:1  a  root  /a', '0.0.0.0:2  ?  root  ?'], ['0.0.0.0:3  c  root  /c']), 'S')).toBe('S: +2 -1: +tcp 0.0.0.0:1 (a), +tcp 0.0.0.0:2, -tcp 0.0.0.0:3 (c)');
    const many = alertSubject(base(Array.from({ length: 500 }, (_, i) => `0.0.0.0:${i}  svc  root  /svc`)), 'S');
    expect(many.length).toBe(200);
    expect(many).toMatch(/^S: \+500 -0: \+tcp 0\.0\.0\.0:0 \(svc\), .*…$/);
    const netns = buildAlert({ commit: 'c'.repeat(40), parent: null, time: 0, summary: 's', files: [{ path: 'netns/web/udp', added: ['[::]:53  dnsmasq  root  /d'], removed: [] }] }, null, '', 'h', '/r');
    expect(alertSubject(netns, 'S')).toBe('S: +1 web udp [::]:53 (dnsmasq)');
  });

  it('a reminder has its own subject and credits each difference to the commit that made it', () => {
    const a = base(['0.0.0.0:4444  nc  root  /usr/bin/nc']);
    a.reminder = true;
    a.added[0].since = { commit: 'd'.repeat(40), time: Date.parse('2026-11-20T08:00:00Z') };
    expect(alertSubject(a, 'S')).toBe('S: reminder, unapproved since 2026-11-20 08:00:00 UTC: +1 tcp 0.0.0.0:4444 (nc)');
    const text = alertText(a);
    expect(text).toMatch(/^REMINDER: lsm on web1 still sees 1 difference from the approved baseline \(bbbbbbbbbb\)/);
    expect(text).toContain('  host/tcp  0.0.0.0:4444  nc  root  /usr/bin/nc\n      since commit dddddddddd, 2026-11-20 08:00:00 UTC\n');
    expect(text).not.toContain('recorded a change');
  });

  it('quotes every word of the follow-up commands for the shell', () => {
    for (const raw of ['/run/plain.sock', "/tmp/it's $(x)", '/tmp/a\nb', '/tmp/\x01\\\u00e9 x', '']) {
      const word = shellWord(raw);
      expect(word).not.toMatch(/[\n\x00-\x1f]/);
      const out = execFileSync('bash', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' });
      expect(out).toBe(raw);
    }
    // a repository given relative (lsm -c --repo snapshots) is named absolute: the mail is read elsewhere
    const rel = alertText(buildAlert({ commit: 'c'.repeat(40), parent: null, time: 0, summary: 's', files: [{ path: 'host/tcp', added: [line(1)], removed: [] }] }, null, '', 'h', 'snapshots', true));
    expect(rel).toContain(`    lsm show cccccccccc --repo=${process.cwd()}/snapshots\n`);
    expect(rel).toContain(`    lsm blame 1/tcp --repo=${process.cwd()}/snapshots\n`);
    expect(rel).toContain(`    lsm accept cccccccccc --repo=${process.cwd()}/snapshots\n`);
    expect(alertText(buildAlert({ commit: 'c'.repeat(40), parent: null, time: 0, summary: 's', files: [] }, null, '', 'h', '/var/lib/lsm/snapshots'))).toContain('    lsm show cccccccccc\n');
    const esc = escapeField(Buffer.from('/tmp/a b\n\\é', 'utf8').toString('latin1'));
    expect(unescapeField(esc).toString('utf8')).toBe('/tmp/a b\n\\é');
  });

  it('says when a binary was replaced on disk and a restart is pending', () => {
    const change: Change = { commit: 'a'.repeat(40), parent: null, time: 0, summary: 's', files: [{ path: 'host/tcp', added: [line(1)], removed: [] }] };
    const owner = { pid: 7, comm: 'svc', exe: '/usr/bin/svc', exeReplaced: true, uid: 0, user: 'root', cmdline: ['svc'], container: null, startedAt: null };
    const now = new Map<string, SnapshotLine[]>([['host/tcp', [{ line: line(1), sockets: [{ owners: [owner] }] as unknown as SnapshotLine['sockets'] }]]]);
    expect(alertText(buildAlert(change, now, '', 'h', '/r'))).toContain('      exe /usr/bin/svc  (binary replaced, restart pending)\n');
  });
});

describe('a command line as a person reads it', () => {
  const argv = (...a: string[]) => a.map((x) => Buffer.from(x, 'utf8').toString('latin1')); // as the collector reads /proc
  const backInBash = (shown: string) => execFileSync('bash', ['-c', `printf '%s\\0' ${shown}`]).toString('latin1').split('\0').slice(0, -1);

  it('each argument escaped, quoted shell-style only when needed, and read back by a shell as the same argv', () => {
    expect(boundArgv(argv('/usr/bin/python3', '-m', 'http.server', '8000'))).toBe('/usr/bin/python3 -m http.server 8000');
    expect(boundArgv(argv('sh', '-c', 'nc -l 4444'))).toBe("sh -c 'nc -l 4444'");
    expect(boundArgv(argv('nc', '-l', 'a b', ''))).toBe("nc -l 'a b' ''");
    expect(boundArgv(argv('echo', "it's", 'say "hi"', '$HOME', '*', '~', 'a;b', 'été', '--port=80'))).toBe(`echo 'it'\\''s' 'say "hi"' '$HOME' '*' '~' 'a;b' été --port=80`);
    expect(boundArgv(argv('A=b', 'c=d', '=ls'))).toBe("'A=b' c=d '=ls'"); // a first word with '=' is no assignment; =ls no zsh expansion
    // printable text: pasted in a shell, the same argv, byte for byte
    for (const a of [argv('/usr/bin/python3', '-m', 'http.server', '8000'), argv('sh', '-c', 'nc -l 4444'), argv('x', "it's", 'say "hi" `id`', '$(id)', '!x', 'a\\b', ' lead', 'été ü', '', 'tab')]) {
      expect(backInBash(boundArgv(a))).toEqual(a);
    }
  });

  it('control characters, a backslash and invalid UTF-8 stay escaped (escape.ts) in $\'...\', which bash reads back as the bytes', () => {
    const hostile = ['nc\x1b[2J', '-l\n4444', 'a\\b', "\xff o'k", 'a\tb', '\xc3\xa9\x00'];
    const shown = boundArgv(hostile);
    expect(shown).toBe("$'nc\\x1b[2J' $'-l\\x0a4444' $'a\\\\b' $'\\xff o\\'k' $'a\\x09b' $'é\\x00'");
    expect(shown).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(Buffer.from(shown, 'utf8').toString('utf8')).toBe(shown); // valid UTF-8
    // bash reads the escapes back as the bytes (but the NUL, which no argument can hold)
    expect(backInBash(shown.replace(" $'é\\x00'", ''))).toEqual(hostile.slice(0, -1));
  });

  it('a long argv keeps its bound, marker and hash; the count is of raw bytes, quotes not counted', () => {
    const args = ['sh', '-c', `nc -l ${'x '.repeat(10_000)}`];
    const cut = boundArgv(args);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(4096);
    expect(cut.startsWith("sh -c 'nc -l x x ")).toBe(true);
    const [, n] = /…\[cut (\d+) bytes, sha256:[0-9a-f]{16}\]$/.exec(cut)!;
    const shown = cut.replace(/…\[cut.*$/, '');
    const standsFor = shown.length - 1; // one opening quote; the spaces between words stand for the NULs
    expect(Number(n)).toBe(args.reduce((k, a) => k + a.length + 1, 0) - standsFor);
  });
});
