import { describe, expect, it } from 'vitest';
import { escapeField } from '../../src/snapshot/escape.js';
import { isIgnored, parseIgnoreRules } from '../../src/snapshot/ignore.js';
import { buildSnapshot, fileText, labelDir } from '../../src/snapshot/index.js';
import type { Collection, Socket } from '../../src/types.js';
import { collectFixture } from './fixtures.js';

const latin1 = (b: number[] | string) => Buffer.from(b as any).toString('latin1');

describe('escapeField', () => {
  it('keeps printable text and valid UTF-8', () => {
    expect(escapeField('nginx')).toBe('nginx');
    expect(escapeField(latin1(Buffer.from('café-日本', 'utf8') as any))).toBe('café-日本');
  });
  it('escapes what could forge a line, a column or a terminal sequence', () => {
    expect(escapeField('a\nb')).toBe('a\\x0ab');
    expect(escapeField('a  b\tc')).toBe('a\\x20\\x20b\\x09c');
    expect(escapeField('\x1b[31m')).toBe('\\x1b[31m');
    expect(escapeField('back\\slash')).toBe('back\\\\slash');
    expect(escapeField(latin1([0xff, 0x41, 0xc3]))).toBe('\\xffA\\xc3');
    expect(escapeField(latin1([0xc0, 0xaf]))).toBe('\\xc0\\xaf'); // overlong '/'
    expect(escapeField(latin1([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80'); // a surrogate
    expect(escapeField(latin1(Buffer.from('x\u202ey\u2028z\u0085', 'utf8') as any))).toBe('x\\u{202e}y\\u{2028}z\\u{85}');
    expect(escapeField('')).toBe('""');
  });
  const u8 = (s: string) => latin1(Buffer.from(s, 'utf8') as any);
  it.each([
    ['U+3164 hangul filler', '\u3164', '\\u{3164}'], ['U+180E mongolian vowel separator', '\u180e', '\\u{180e}'],
    ['U+034F combining grapheme joiner', '\u034f', '\\u{34f}'], ['U+FE0F variation selector', '\ufe0f', '\\u{fe0f}'],
    ['U+E0001 language tag', '\u{e0001}', '\\u{e0001}'], ['U+E0041 tag A', '\u{e0041}', '\\u{e0041}'],
    ['U+E0100 variation selector 17', '\u{e0100}', '\\u{e0100}'], ['NBSP', '\u00a0', '\\u{a0}'], ['EN SPACE', '\u2002', '\\u{2002}'],
    ['IDEOGRAPHIC SPACE', '\u3000', '\\u{3000}'], ['U+FFFE noncharacter', '\ufffe', '\\u{fffe}'], ['private use', '\ue000', '\\u{e000}'],
    ['unassigned U+0378', '\u0378', '\\u{378}'], ['soft hyphen', '\u00ad', '\\u{ad}'], ['braille blank', '\u2800', '\\u{2800}'],
  ])('escapes %s', (_name, ch, escaped) => {
    expect(escapeField(u8(`a${ch}b`))).toBe(`a${escaped}b`);
  });
  it('a name built with EN SPACEs cannot look like columns', () => {
    expect(escapeField(u8('@x\u2002\u2002sshd\u2002\u2002root'))).toBe('@x\\u{2002}\\u{2002}sshd\\u{2002}\\u{2002}root');
  });
  it('keeps NUL and @ apart', () => {
    expect(escapeField('@a\0b')).toBe('@a\\x00b');
    expect(escapeField('@a\0b')).not.toBe(escapeField('@a@b'));
  });
  it('by rule over every code point: an escape exactly when not visible graphic, and reversible', () => {
    const hidden = /^[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}]$/u;
    const unescape = (s: string) => Buffer.concat(s.split(/(\\x[0-9a-f]{2}|\\u\{[0-9a-f]+\}|\\\\)/).map((p) =>
      p.startsWith('\\x') ? Buffer.from([parseInt(p.slice(2), 16)]) : p.startsWith('\\u{') ? Buffer.from(String.fromCodePoint(parseInt(p.slice(3, -1), 16)), 'utf8')
        : p === '\\\\' ? Buffer.from('\\') : Buffer.from(p, 'utf8'))).toString('latin1');
    // the same three checks per code point as one expect each per loop, on the list of those that
    // fail (an expect per code point cost most of this test's time); a kept character needs no
    // unescape: unescape(`a${ch}`) is its own UTF-8 by construction
    let checked = 0;
    const wrong: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x3000 ? 1 : cp < 0x30000 ? 7 : 61) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // not encodable: the surrogate bytes are covered above
      const ch = String.fromCodePoint(cp);
      const raw = u8(`a${ch}`);
      const out = escapeField(raw);
      const plain = cp > 0x20 && cp < 0x7f && cp !== 0x5c;
      const visible = cp >= 0x80 && !hidden.test(ch) && cp !== 0x2800;
      const kept = out === `a${ch}`;
      if (kept !== (plain || visible)) wrong.push(`U+${cp.toString(16)} ${kept ? 'kept' : 'escaped'}: ${out}`);
      if (!(/^[\x21-\x7e]/.test(out.slice(1)) || visible)) wrong.push(`U+${cp.toString(16)} not visible: ${out}`);
      if (!kept && unescape(out) !== raw) wrong.push(`U+${cp.toString(16)} not reversible: ${out}`);
      checked++;
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(30_000);
    // every invalid byte sequence: each of 256 lead bytes followed by each continuation class
    for (let b = 0x80; b <= 0xff; b++) for (const c of [0x00, 0x41, 0x80, 0xbf, 0xc0, 0xff]) {
      const raw = latin1([b, c]);
      const out = escapeField(raw);
      if (unescape(out) !== raw) wrong.push(`${b.toString(16)} ${c.toString(16)} not reversible: ${out}`);
      if ((b < 0xc2 || b > 0xdf || c < 0x80 || c > 0xbf) && !out.startsWith(`\\x${b.toString(16)}`)) wrong.push(`${b.toString(16)} ${c.toString(16)} lead not a byte: ${out}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('snapshot of the basic fixture', () => {
  const snap = buildSnapshot(collectFixture('basic'));
  it('writes one file per kind and namespace, sorted by port then address, owners merged', () => {
    expect([...snap.keys()]).toEqual([
      'host/tcp', 'host/udp', 'host/raw', 'host/packet', 'host/unix',
      'netns/3f4e5d6c7b8a/tcp', 'netns/3f4e5d6c7b8a/udp', 'netns/3f4e5d6c7b8a/raw', 'netns/3f4e5d6c7b8a/packet', 'netns/3f4e5d6c7b8a/unix',
      'netns/myapp-4026532600/tcp', 'netns/myapp-4026532600/udp', 'netns/myapp-4026532600/raw', 'netns/myapp-4026532600/packet', 'netns/myapp-4026532600/unix',
    ]);
    expect(fileText(snap.get('host/tcp')!)).toBe(
      '0.0.0.0:22  sshd  root,sshd  /usr/sbin/sshd\n' +
      '[::]:22  sshd  root  /usr/sbin/sshd\n' +
      '127.0.0.1:8080  python3  www-data  /usr/bin/python3.11\n');
    expect(snap.get('host/udp')).toEqual(['0.0.0.0:68  dhclient  root  /usr/sbin/dhclient', '[::1]:546  dhcp6c  root  /usr/sbin/dhcp6c']);
    expect(snap.get('host/raw')).toEqual(['0.0.0.0:icmp  ping  root  /usr/bin/ping', '[::]:ipv6-icmp  ping  root  /usr/bin/ping']);
    expect(snap.get('host/packet')).toEqual(['*:all  raw  tcpdump  root  /usr/bin/tcpdump', 'lo:ip  dgram  ?  root  ?']);
    expect(snap.get('host/unix')).toEqual([
      '/run/dbus/system_bus_socket  stream  dbus-daemon  messagebus  /usr/bin/dbus-daemon',
      '/run/seqpacket.sock  seqpacket  Xorg  root  /usr/lib/xorg/Xorg',
      '/run/systemd/journal/socket  dgram  systemd-journal  root  /usr/lib/systemd/systemd-journald',
      '@/tmp/.X11-unix/X0  stream  Xorg  root  /usr/lib/xorg/Xorg',
    ]);
    expect(snap.get('netns/3f4e5d6c7b8a/tcp')).toEqual(['0.0.0.0:80  nginx  root,www-data  /usr/sbin/nginx']);
    expect(snap.get('netns/myapp-4026532600/tcp')).toEqual(['127.0.0.1:8080  myapp  root  /opt/myapp/bin/myapp']);
  });

  it('never records pids, inodes, or ephemeral ports', () => {
    const all = [...snap.values()].flat().join('\n');
    expect(all).not.toMatch(/\b(9091|9111|35158|54321)\b/);
    expect(all).not.toMatch(/\[100\]|pid/);
  });

  it('records established connections only when asked, without ephemeral ports', () => {
    const est = buildSnapshot(collectFixture('basic'), { established: true });
    expect(est.get('host/tcp')).toEqual([
      '0.0.0.0:22  sshd  root,sshd  /usr/sbin/sshd',
      '* -> 127.0.0.1:22  ssh  www-data  /usr/bin/ssh', // outbound: the peer only
      '127.0.0.1:22 <- 127.0.0.1  sshd  root  /usr/sbin/sshd', // inbound: the listener's port, the peer's address
      '[::]:22  sshd  root  /usr/sbin/sshd',
      '127.0.0.1:8080  python3  www-data  /usr/bin/python3.11',
    ]);
    expect(est.get('host/udp')).toContain('* -> 8.8.8.8:53  dhclient  root  /usr/sbin/dhclient');
  });

  it('is the same whatever order the kernel lists sockets in', () => {
    const c = collectFixture('basic');
    const reversed: Collection = { ...c, sockets: [...c.sockets].reverse().map((s: Socket) => ({ ...s, owners: [...s.owners].reverse() })) };
    expect(buildSnapshot(reversed)).toEqual(snap);
  });
});

describe('hostile names', () => {
  const snap = buildSnapshot(collectFixture('hostile'));
  const lines = [...snap.values()].flat();
  it('give exactly one line per socket, with no control character and no forged column', () => {
    expect(snap.get('host/tcp')).toHaveLength(3);
    expect(snap.get('host/unix')).toHaveLength(3);
    for (const l of lines) {
      expect(l).not.toMatch(/[\x00-\x1f\x7f\u0080-\u009f\u202e]/);
      const fields = l.split('  ');
      expect(fields.length === 5 || fields.length === 4).toBe(true); // unix: path type comm user exe; tcp: endpoint comm user exe
    }
    expect(snap.get('host/tcp')).toEqual([
      '0.0.0.0:4444  evil\\x0a0.0.0.0:1\\x20\\x20x  root  /tmp/evil',
      '0.0.0.0:4445  fake\\u{202e}exe.txt  root  /tmp/\\xff\\xfe\\x20bad',
      '0.0.0.0:4446  \\x1b[2Jclear  root  /usr/bin/clear',
    ]);
    expect(snap.get('host/unix')).toContain('/tmp/a\\x0a0.0.0.0:22\\x20\\x20sshd\\x20\\x20root\\x20\\x20/usr/sbin/sshd  stream  holder  root  /usr/bin/holder');
  });
});

describe('ignore rules', () => {
  const rules = parseIgnoreRules([
    '# DHCP client',
    'udp    *:68',
    'unix   @/tmp/.X11-unix/*   # desktop',
    'host/tcp  *  python3  *',
  ].join('\n'), 'ignore');
  it('drop matching lines before they are written', () => {
    const snap = buildSnapshot(collectFixture('basic'), { ignore: rules });
    expect(snap.get('host/udp')).toEqual(['[::1]:546  dhcp6c  root  /usr/sbin/dhcp6c']);
    expect(snap.get('host/unix')).not.toContain('@/tmp/.X11-unix/X0  stream  Xorg  root  /usr/lib/xorg/Xorg');
    expect(snap.get('host/tcp')).toHaveLength(2);
    expect(snap.get('netns/myapp-4026532600/tcp')).toHaveLength(1); // host/tcp rule: not other namespaces
  });
  it('match the endpoint alone or the whole line', () => {
    expect(isIgnored(rules, 'netns/x/udp', '0.0.0.0:68  dhclient  root  /sbin/dhclient')).toBe(true);
    expect(isIgnored(rules, 'host/udp', '0.0.0.0:680  x  root  /x')).toBe(false);
  });
  it('reject a rule they cannot read, naming file and line', () => {
    expect(() => parseIgnoreRules('udp *:68\nbogus *:1\n', '/etc/lsm/ignore')).toThrow("/etc/lsm/ignore:2: unknown kind 'bogus'");
    expect(() => parseIgnoreRules('justoneword', 'f')).toThrow('f:1: a rule needs WHERE and PATTERN');
  });
});

describe('labelDir', () => {
  it('is one git-safe directory per label, and distinct labels never share one', () => {
    const long = 'x'.repeat(300);
    const labels = ['a b', 'a_b', 'a%x20b', 'a\\x20b', 'a%20b', '.', '..', '.git', 'git~1', 'x..', 'a/b', 'a%x2fb', `${long}1`, `${long}2`,
      '\u00e9', 'e\u0301', 'a\nb', '%', '%%', '\\', '\\\\', '', '""'].map((l) => Buffer.from(l, 'utf8').toString('latin1'));
    const dirs = labels.map(labelDir);
    expect(new Set(dirs).size).toBe(labels.length);
    for (const d of dirs) {
      expect(d).not.toMatch(/[\\/\x00-\x20]|^\.|\.$|^git~/i);
      expect(Buffer.byteLength(d)).toBeLessThan(255);
    }
    expect(labelDir('a b')).toBe('a%x20b');
  });

  it('cuts a long label between characters, never inside one beyond U+FFFF: the name git stores is the name of the snapshot', () => {
    const dirs = new Set<string>();
    for (let k = 190; k <= 200; k++) {
      const label = Buffer.from(`${'x'.repeat(k)}\u{1f600}\u{1f600}\u{1f600}${k}`, 'utf8').toString('latin1');
      const dir = labelDir(label);
      expect(Buffer.from(dir, 'utf8').toString('utf8'), `${k} x`).toBe(dir); // a lone surrogate would come back as U+FFFD
      expect(Buffer.byteLength(dir.slice(0, dir.indexOf('%h')))).toBeLessThanOrEqual(200);
      dirs.add(dir);
    }
    expect(dirs.size).toBe(11);
  });
});
