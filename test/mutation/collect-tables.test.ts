// The /proc/net table parsers (src/collect/tables.ts) and the address forms (addresses.ts), field
// by field: the kernel's exact text (the basic fixture, captured from a real kernel), each column
// at the edges of what it may hold, and lines that are broken or built to mislead. Every line of
// a table either becomes exactly the socket it says, or is counted as malformed: never a guess.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { endpoint, ethertypeName, formatIPv6, ipProtocolName, parseHexIPv4, parseHexIPv6 } from '../../src/collect/addresses.js';
import { unixSocketCount } from '../../src/collect/unix-ambiguity.js';
import { parseInetTable, parseInodesOnly, parseInterfaceNames, parsePacketTable, parseUnixTable, TABLES } from '../../src/collect/tables.js';
import type { Socket } from '../../src/types.js';
import { FIXTURES } from '../unit/fixtures.js';

const net = (file: string) => readFileSync(join(FIXTURES, 'basic', 'proc', '1', 'net', file), 'latin1');
const HDR = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
/** One tcp/udp line with these columns (the rest as the kernel prints them). */
const line = (o: { sl?: string; local?: string; remote?: string; st?: string; uid?: string; inode?: string } = {}) =>
  `   ${o.sl ?? '0:'} ${o.local ?? '0100007F:0016'} ${o.remote ?? '00000000:0000'} ${o.st ?? '0A'} 00000000:00000000 00:00000000 00000000 ${o.uid ?? '0'} 0 ${o.inode ?? '5000'} 1 0000000000000000 100 0 0 10 0`;
const tcp = (...lines: string[]) => parseInetTable(HDR + lines.join('\n') + '\n', 'tcp', false, 7);
const fields = (s: Socket) => [s.kind, s.family, s.netns, s.inode, s.state, s.localAddress, s.localPort, s.remoteAddress, s.remotePort, s.uid];

describe('parseInetTable: the kernel text', () => {
  it('reads every column of the captured tables, v4 and v6, tcp, udp and raw', () => {
    const t = parseInetTable(net('tcp'), 'tcp', false, 11);
    expect(t.malformed).toBe(0);
    expect(t.sockets.map(fields)).toEqual([
      ['tcp', 'inet', 11, 9091, 'LISTEN', '0.0.0.0', 22, '0.0.0.0', 0, 0],
      ['tcp', 'inet', 11, 9110, 'ESTABLISHED', '127.0.0.1', 22, '127.0.0.1', 35158, 0],
      ['tcp', 'inet', 11, 9111, 'ESTABLISHED', '127.0.0.1', 35158, '127.0.0.1', 22, 0],
      ['tcp', 'inet', 11, 9120, 'LISTEN', '127.0.0.1', 8080, '0.0.0.0', 0, 33],
    ]);
    expect(t.sockets[0]).toEqual({
      kind: 'tcp', family: 'inet', netns: 11, inode: 9091, state: 'LISTEN', localAddress: '0.0.0.0', localPort: 22,
      remoteAddress: '0.0.0.0', remotePort: 0, uid: 0, user: null, owners: [],
    });
    expect(parseInetTable(net('tcp6'), 'tcp', true, 11).sockets.map(fields)).toEqual([['tcp', 'inet6', 11, 9092, 'LISTEN', '::', 22, '::', 0, 0]]);
    expect(parseInetTable(net('udp'), 'udp', false, 11).sockets.map(fields)).toEqual([
      ['udp', 'inet', 11, 9093, 'UNCONN', '0.0.0.0', 68, '0.0.0.0', 0, 0],
      ['udp', 'inet', 11, 9130, 'ESTAB', '127.0.0.1', 54321, '8.8.8.8', 53, 0],
    ]);
    expect(parseInetTable(net('udp6'), 'udp', true, 11).sockets.map(fields)).toEqual([['udp', 'inet6', 11, 9094, 'UNCONN', '::1', 546, '::', 0, 0]]);
    expect(parseInetTable(net('raw'), 'raw', false, 11).sockets.map(fields)).toEqual([['raw', 'inet', 11, 9095, 'UNCONN', '0.0.0.0', 1, '0.0.0.0', 0, 0]]);
    expect(parseInetTable(net('raw6'), 'raw', true, 11).sockets.map(fields)).toEqual([['raw', 'inet6', 11, 9096, 'UNCONN', '::', 58, '::', 0, 0]]);
  });

  it('every TCP state by its number; others are UNKNOWN(<hex>), upper case', () => {
    const names = ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV'];
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
    const t = tcp(...names.map((_, i) => line({ st: hex(i + 1), inode: String(100 + i) })));
    expect(t.sockets.map((s) => s.state)).toEqual(names);
    expect(tcp(line({ st: '00' }), line({ st: '0D' }), line({ st: 'ff' }), line({ st: '0a' })).sockets.map((s) => s.state))
      .toEqual(['UNKNOWN(00)', 'UNKNOWN(0D)', 'UNKNOWN(FF)', 'LISTEN']);
  });

  it('udp and raw states: 07 UNCONN, 01 ESTAB, anything else UNKNOWN', () => {
    const text = HDR + [line({ st: '07' }), line({ st: '01' }), line({ st: '0A' }), line({ st: '9f' })].join('\n');
    expect(parseInetTable(text, 'udp', false, 1).sockets.map((s) => s.state)).toEqual(['UNCONN', 'ESTAB', 'UNKNOWN(0A)', 'UNKNOWN(9F)']);
    expect(parseInetTable(text, 'raw', false, 1).sockets.map((s) => s.state)).toEqual(['UNCONN', 'ESTAB', 'UNKNOWN(0A)', 'UNKNOWN(9F)']);
  });

  it('hex digits at the edges of their ranges: 0-9, A-F, a-f and nothing next to them', () => {
    // states 09 LAST_ACK, 0A/0a LISTEN, 0B CLOSING, 0C NEW_SYN_RECV; F and f the top of their ranges
    expect(tcp(line({ st: '09' }), line({ st: '0B' }), line({ st: '0c' }), line({ st: '0F' }), line({ st: '0f' }), line({ st: 'A0' })).sockets.map((s) => s.state))
      .toEqual(['LAST_ACK', 'CLOSING', 'NEW_SYN_RECV', 'UNKNOWN(0F)', 'UNKNOWN(0F)', 'UNKNOWN(A0)']);
    // one character past each range: '/' ':' '@' 'G' '`' 'g'
    for (const bad of ['0/', '0:', '0@', '0G', '0`', '0g', '/0', 'G0', 'g0']) expect(tcp(line({ st: bad })), bad).toEqual({ sockets: [], malformed: 1 });
    // ports and addresses read with the same digits
    expect(tcp(line({ local: 'FfAa09bc:Ff0a', remote: '0A0B0C0D:af09' })).sockets.map((s) => [s.localAddress, s.localPort, s.remoteAddress, s.remotePort]))
      .toEqual([['188.9.170.255', 0xff0a, '13.12.11.10', 0xaf09]]);
  });

  it('the state column must be exactly two hex digits', () => {
    for (const st of ['A', '00A', '']) expect(tcp(line({ st })).sockets).toEqual([]);
  });

  it('ports: exactly four hex digits; uid and inode: 1 to 15 decimal digits', () => {
    for (const bad of [{ local: '0100007F:016' }, { local: '0100007F:00016' }, { remote: '00000000:00G0' }, { remote: '00000000:' },
      { uid: '1a' }, { uid: '-1' }, { uid: '1/' }, { uid: '9:' }, { inode: '12:' }, { inode: '1234567890123456' }, { inode: '/1' }]) {
      expect(tcp(line(bad)), JSON.stringify(bad)).toEqual({ sockets: [], malformed: 1 });
    }
    const t = tcp(line({ uid: '4294967295', inode: '999999999999999' }), line({ uid: '0', inode: '0' }));
    expect(t.sockets.map((s) => [s.uid, s.inode])).toEqual([[4294967295, 999999999999999], [0, 0]]);
    expect(tcp(line({ local: '0100007F:FFFF', remote: '00000000:0001' })).sockets.map((s) => [s.localPort, s.remotePort])).toEqual([[65535, 1]]);
    expect(tcp(line({ local: '00000000:0000' })).sockets.map((s) => [s.localPort, s.remotePort])).toEqual([[0, 0]]); // port 0 is a port
  });

  it('an address must be the part before a colon inside its own column', () => {
    // no colon in the column: the next column's colon must not be taken for it
    for (const bad of [{ local: '0100007F0016' }, { remote: '000000000000' }, { local: ':0016' }, { remote: ':0000' },
      { local: '0100007:0016' }, { local: '0100007FF:016' }, { local: 'XYZW007F:0016' }]) {
      expect(tcp(line(bad)), JSON.stringify(bad)).toEqual({ sockets: [], malformed: 1 });
    }
    // a v4 address in a v6 table and the other way round
    expect(parseInetTable(HDR + line() + '\n', 'tcp', true, 1)).toEqual({ sockets: [], malformed: 1 });
    expect(parseInetTable(net('tcp6'), 'tcp', false, 1)).toEqual({ sockets: [], malformed: 1 });
  });

  it("the first column ends with ':' (sl), and a line needs ten columns", () => {
    expect(tcp(line({ sl: '0' }))).toEqual({ sockets: [], malformed: 1 });
    expect(tcp(line({ sl: ':' })).sockets.map((s) => s.inode)).toEqual([5000]);
    const nine = '   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0';
    expect(tcp(nine)).toEqual({ sockets: [], malformed: 1 });
    expect(tcp(nine + ' 77').sockets.map((s) => s.inode)).toEqual([77]); // exactly ten is enough
    expect(tcp('   0: 0100007F:0016')).toEqual({ sockets: [], malformed: 1 }); // no state column at all
  });

  it('spaces: runs of them separate, leading and trailing ones are no column, blank lines are no line', () => {
    const spaced = '0:    0100007F:0016   00000000:0000  0A 00000000:00000000 00:00000000 00000000   1000    0   5001   ';
    const t = parseInetTable(HDR + '\n' + spaced + '\n   \n' + line() + '\n\n', 'tcp', false, 1);
    expect(t).toEqual({ sockets: [expect.objectContaining({ inode: 5001, uid: 1000 }), expect.objectContaining({ inode: 5000 })], malformed: 0 });
    // a tab is not a separator: the column holding it is broken
    expect(tcp(line().replace(' 0A ', '\t0A ')).malformed).toBe(1);
  });

  it('the header is the first line only, and a text with no newline is all header', () => {
    expect(parseInetTable(line(), 'tcp', false, 1)).toEqual({ sockets: [], malformed: 0 });
    expect(parseInetTable(line(), 'tcp', false, 1, false).sockets.map((s) => s.inode)).toEqual([5000]);
    // a piece of a table read in chunks: no header in it, the last line without its newline
    expect(parseInetTable(line({ inode: '1' }) + '\n' + line({ inode: '2' }), 'tcp', false, 1, false).sockets.map((s) => s.inode)).toEqual([1, 2]);
    expect(parseInetTable(HDR + line({ inode: '3' }), 'tcp', false, 1).sockets.map((s) => s.inode)).toEqual([3]);
    expect(parseInetTable('', 'tcp', false, 1, false)).toEqual({ sockets: [], malformed: 0 });
    // a piece that starts with a line's end (the line before it was the last piece's)
    expect(parseInetTable('\n' + line({ inode: '4' }), 'tcp', false, 1, false)).toEqual({ sockets: [expect.objectContaining({ inode: 4 })], malformed: 0 });
    expect(parseInetTable('\n', 'tcp', false, 1)).toEqual({ sockets: [], malformed: 0 });
  });

  it('keepState drops a socket before it is parsed, and saw is told every inode, dropped or kept', () => {
    const asked: string[] = [];
    const saw: number[] = [];
    const t = parseInetTable(net('tcp'), 'tcp', false, 1, true, (kind, state) => { asked.push(`${kind} ${state}`); return state === 'LISTEN'; }, (i) => saw.push(i));
    expect(t.sockets.map((s) => s.inode)).toEqual([9091, 9120]);
    expect(asked).toEqual(['tcp LISTEN', 'tcp ESTABLISHED', 'tcp ESTABLISHED', 'tcp LISTEN']);
    expect(saw).toEqual([9091, 9110, 9111, 9120]);
    // a dropped line whose inode is no number tells saw nothing, and is not counted (it is not wanted)
    const saw2: number[] = [];
    const u = tcp(line({ st: '01', inode: 'x1' }), line({ st: '01', inode: '42' }), line({ inode: 'x' }));
    expect(u).toEqual({ sockets: [expect.objectContaining({ inode: 42 })], malformed: 2 });
    const v = parseInetTable(HDR + [line({ st: '01', inode: 'x1' }), line({ st: '01', inode: '42' }), line({ inode: 'x' })].join('\n'), 'tcp', false, 1, true, (_, s) => s !== 'ESTABLISHED', (i) => saw2.push(i));
    expect(v).toEqual({ sockets: [], malformed: 1 });
    expect(saw2).toEqual([42]);
    // saw without keepState: told each parsed socket; a malformed one tells nothing
    const saw3: number[] = [];
    parseInetTable(HDR + [line({ inode: '8' }), line({ inode: '9', uid: 'u' })].join('\n'), 'udp', false, 1, true, undefined, (i) => saw3.push(i));
    expect(saw3).toEqual([8]);
    // TIME_WAIT lines carry inode 0: dropped, but told like any other
    const saw4: number[] = [];
    parseInetTable(HDR + line({ st: '06', inode: '0' }), 'tcp', false, 1, true, (_, st) => st === 'LISTEN', (i) => saw4.push(i));
    expect(saw4).toEqual([0]);
  });

  it('counts each broken line and goes on', () => {
    const t = parseInetTable(readFileSync(join(FIXTURES, 'broken', 'proc', '1', 'net', 'tcp'), 'latin1'), 'tcp', false, 1);
    expect(t.sockets.map((s) => [s.inode, s.state])).toEqual([[8001, 'LISTEN'], [8004, 'UNKNOWN(0F)'], [8005, 'LISTEN']]);
    expect(t.malformed).toBe(3);
  });
});

const UHDR = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
const urec = (o: { addr?: string; flags?: string; type?: string; st?: string; inode?: string; path?: string } = {}) =>
  `${o.addr ?? '00000000584eae78'}: 00000002 00000000 ${o.flags ?? '00000000'} ${o.type ?? '0001'} ${o.st ?? '01'}  ${o.inode ?? '7000'}${o.path === undefined ? '' : ' ' + o.path}`;
const unix = (...lines: string[]) => parseUnixTable(UHDR + lines.join('\n') + '\n', 3);
const uview = (s: Socket) => [s.inode, s.state, s.socketType, s.localAddress];

describe('parseUnixTable', () => {
  it('reads the captured table: every type, state and name form', () => {
    const t = parseUnixTable(net('unix'), 9);
    expect(t.malformed).toBe(0);
    expect(t.sockets.map(uview)).toEqual([
      [9099, 'UNCONN', 'dgram', '/run/systemd/journal/socket'],
      [0, 'CONNECTING', 'stream', '/run/dbus/system_bus_socket'],
      [9100, 'LISTEN', 'stream', '/run/dbus/system_bus_socket'],
      [9112, 'CONN', 'stream', '/run/dbus/system_bus_socket'],
      [9113, 'CONN', 'stream', ''],
      [9101, 'LISTEN', 'stream', '@/tmp/.X11-unix/X0'],
      [9102, 'LISTEN', 'seqpacket', '/run/seqpacket.sock'],
    ]);
    expect(t.sockets[0]).toEqual({
      kind: 'unix', family: 'unix', netns: 9, inode: 9099, state: 'UNCONN', localAddress: '/run/systemd/journal/socket', localPort: 0,
      remoteAddress: '', remotePort: 0, socketType: 'dgram', uid: -1, user: null, owners: [],
    });
  });

  it('types 1-5 by name; an unknown type is counted and has none', () => {
    const t = unix(urec({ type: '0001', inode: '1' }), urec({ type: '0002', inode: '2' }), urec({ type: '0003', inode: '3' }), urec({ type: '0004', inode: '4' }),
      urec({ type: '0005', inode: '5' }), urec({ type: '0006', inode: '6' }), urec({ type: '0000', inode: '7' }));
    expect(t.sockets.map((s) => [s.inode, s.socketType])).toEqual([[1, 'stream'], [2, 'dgram'], [3, 'raw'], [4, 'rdm'], [5, 'seqpacket'], [6, undefined], [7, undefined]]);
    expect(t.malformed).toBe(2);
  });

  it('states: the ACCEPTCON flag is LISTEN whatever St says; 01, 02, 03 by name; others UNKNOWN', () => {
    const t = unix(urec({ flags: '00010000', st: '03', inode: '1' }), urec({ flags: '00030000', st: '01', inode: '2' }), urec({ flags: '00020000', st: '01', inode: '3' }),
      urec({ flags: '0000FFFF', st: '02', inode: '4' }), urec({ st: '04', inode: '5' }), urec({ st: '00', inode: '6' }), urec({ st: '1F', inode: '7' }));
    expect(t.sockets.map((s) => s.state)).toEqual(['LISTEN', 'LISTEN', 'UNCONN', 'CONNECTING', 'UNKNOWN(04)', 'UNKNOWN(00)', 'UNKNOWN(1F)']);
  });

  it('the record form is exact: lower-case address, upper-case hex columns of their widths, a decimal inode', () => {
    const good = urec({ path: '/a' });
    expect(unix(good).sockets.map(uview)).toEqual([[7000, 'UNCONN', 'stream', '/a']]);
    const bad = [
      good.replace('00000000584eae78', '00000000584EAE78'), // an address in capitals
      good.replace('00000000584eae78:', ':'), // no address
      good.replace('00000000584eae78:', '00000000584eae78'), // no colon
      ' ' + good, // not at the start
      good.replace(' 00000002 ', ' 0000002 '), good.replace(' 00000002 ', ' 000000002 '),
      good.replace(' 00000002 ', ' 0000000a '), // lower case where the kernel prints %08X
      urec({ flags: '0001000' }), urec({ flags: '000100000' }), urec({ type: '001' }), urec({ type: '00001' }),
      urec({ st: '1' }), urec({ st: '001' }), urec({ st: 'zz' }),
      urec({ inode: 'x' }), urec({ inode: '' }),
    ];
    for (const b of bad) expect(unix(b), b).toEqual({ sockets: [], malformed: 1 });
    // the space between each column is one; before the inode any number (the kernel pads it)
    expect(unix(good.replace('  7000', ' 7000')).sockets.map((s) => s.inode)).toEqual([7000]);
    expect(unix(good.replace('  7000', '      7000')).sockets.map((s) => s.inode)).toEqual([7000]);
    expect(unix(good.replace('  7000', '7000'))).toEqual({ sockets: [], malformed: 1 });
    expect(unix(good.replace(': 00000002', ':  00000002'))).toEqual({ sockets: [], malformed: 1 });
  });

  it('a name is what follows the one space after the inode, bytes as they are', () => {
    expect(unix(urec({ path: ' /x y ' })).sockets.map((s) => s.localAddress)).toEqual([' /x y ']);
    expect(unix(urec({ path: '@a\tb\x1b[31m\xff' })).sockets.map((s) => s.localAddress)).toEqual(['@a\tb\x1b[31m\xff']);
    expect(unix(urec({ path: '' })).sockets.map((s) => s.localAddress)).toEqual(['']);
  });

  it('junk glued to the inode makes the line no record; it continues the name before it, or is counted', () => {
    const glued = urec({ inode: '7001x' });
    expect(unix(urec({ path: '/a' }), glued).sockets.map(uview)).toEqual([[7000, 'UNCONN', 'stream', `/a\n${glued}`]]);
    expect(unix(urec({ path: '/a' }), glued).malformed).toBe(0);
    expect(unix(urec(), glued)).toEqual({ sockets: [expect.objectContaining({ inode: 7000, localAddress: '' })], malformed: 1 });
    expect(unix(glued)).toEqual({ sockets: [], malformed: 1 });
  });

  it('lines that are no record continue a name; after an unnamed record (or none) they are counted, blank ones are not', () => {
    expect(unix('junk', urec({ path: '/a' }), 'b', '', 'c').sockets.map((s) => s.localAddress)).toEqual(['/a\nb\n\nc']);
    expect(unix('junk', urec({ path: '/a' }), 'b').malformed).toBe(1);
    expect(unix(urec(), 'junk', '   ', '')).toEqual({ sockets: [expect.objectContaining({ localAddress: '' })], malformed: 1 });
    // the header is never a record nor a name: a text without one loses its first line
    expect(parseUnixTable(urec({ inode: '1', path: '/a' }) + '\n' + urec({ inode: '2', path: '/b' }) + '\n', 1).sockets.map((s) => s.inode)).toEqual([2]);
    expect(parseUnixTable(UHDR + urec({ path: '/a' }), 1).sockets.map((s) => s.localAddress)).toEqual(['/a']); // no final newline
    expect(parseUnixTable('', 1)).toEqual({ sockets: [], malformed: 0 });
  });

  it('a record after a named one may be the rest of that name (unix-ambiguity.ts decides); after an unnamed one it cannot', () => {
    const copy = urec({ addr: '0000000000000000', inode: '7000', path: '/run/admin.sock' });
    // after a named record: the same inode twice, the copy may continue the name, the first cannot: folded
    expect(unix(urec({ path: '/run/admin.sock' }), urec({ inode: '7001', path: '@X' }), copy).sockets.map(uview))
      .toEqual([[7000, 'UNCONN', 'stream', '/run/admin.sock'], [7001, 'UNCONN', 'stream', `@X\n${copy}`]]);
    // the folded record keeps its own continuation lines, each after a newline
    expect(unix(urec({ path: '/run/admin.sock' }), urec({ inode: '7001', path: '@X' }), copy, 'tail').sockets.map(uview))
      .toEqual([[7000, 'UNCONN', 'stream', '/run/admin.sock'], [7001, 'UNCONN', 'stream', `@X\n${copy}\ntail`]]);
    // after an unnamed record neither may continue a name: which is real is undecidable
    const t = unix(urec({ inode: '7001' }), copy, urec({ inode: '7002' }), urec({ path: '/run/admin.sock' }));
    expect(t.sockets.map((s) => s.ambiguous ?? s.inode)).toEqual([7001, 7002, '/proc/net/unix: inode 7000 in 2 records']);
    // the kernel's count is passed on: more records than sockets is said
    expect(parseUnixTable(UHDR + urec({ inode: '1' }) + '\n' + urec({ inode: '2' }) + '\n', 1, 1).sockets.map((s) => s.ambiguous ?? s.inode))
      .toEqual([1, 2, '/proc/net/unix: 2 sockets, the kernel counts 1']);
    // the doubt's line whole: no address, port or owner of its own, state AMBIGUOUS, uid -1 (nobody)
    expect(t.sockets[2]).toEqual({
      kind: 'unix', family: 'unix', netns: 3, inode: 7000, state: 'AMBIGUOUS', localAddress: '', localPort: 0,
      remoteAddress: '', remotePort: 0, uid: -1, user: null, owners: [], ambiguous: '/proc/net/unix: inode 7000 in 2 records',
    });
  });

  it("the kernel's count: only lines that begin UNIX or UNIX-STREAM (unixSocketCount)", () => {
    const protocols = 'protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\n'
      + 'UNIX-STREAM 1088     5      -1   NI       0   yes  kernel      y  n  y  y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n'
      + 'UNIX      1088     3      -1   NI       0   yes  kernel      y  n  y  y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n'
      + 'XUNIX      1088    40      -1   NI       0   yes  kernel      y  n  y  y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n';
    expect(unixSocketCount(protocols)).toBe(8);
  });
});

const PHDR = 'sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n';
const prec = (o: { sk?: string; type?: string; proto?: string; iface?: string; user?: string; inode?: string } = {}) =>
  `${o.sk ?? '00000000f02f2a53'} 3      ${o.type ?? '3'}    ${o.proto ?? '0003'}   ${o.iface ?? '0'}     1 3332   ${o.user ?? '0'}      ${o.inode ?? '9097'}  `;
const packet = (names: Map<number, string>, ...lines: string[]) => parsePacketTable(PHDR + lines.join('\n') + '\n', 4, names);

describe('parsePacketTable and interface names', () => {
  const names = parseInterfaceNames(net('if_inet6'), net('igmp'), net('dev_mcast'));

  it('reads the captured table, naming interfaces from the namespace', () => {
    expect([...names]).toEqual([[1, 'lo']]);
    const t = parsePacketTable(net('packet'), 4, names);
    expect(t).toEqual({
      malformed: 0,
      sockets: [
        { kind: 'packet', family: 'packet', netns: 4, inode: 9097, state: 'UNCONN', localAddress: '*', localPort: 3, remoteAddress: '', remotePort: 0, socketType: 'raw', uid: 0, user: null, owners: [] },
        { kind: 'packet', family: 'packet', netns: 4, inode: 9098, state: 'UNCONN', localAddress: 'lo', localPort: 0x800, remoteAddress: '', remotePort: 0, socketType: 'dgram', uid: 0, user: null, owners: [] },
      ],
    });
  });

  it('type 3 raw, 2 dgram, others none; an interface with no name is if<index>; the user column is the uid', () => {
    const t = packet(names, prec({ type: '2', iface: '1', user: '1000', inode: '1' }), prec({ type: '10', iface: '12', inode: '2' }), prec({ type: '1', proto: '88CC', inode: '3' }));
    expect(t.sockets.map((s) => [s.inode, s.socketType, s.localAddress, s.localPort, s.uid])).toEqual([
      [1, 'dgram', 'lo', 3, 1000], [2, undefined, 'if12', 3, 0], [3, undefined, '*', 0x88cc, 0],
    ]);
    expect(t.malformed).toBe(0);
  });

  it('broken lines are counted: too few columns, a non-hex sk or protocol, numbers that are not integers; blank lines are not', () => {
    for (const bad of [prec().trim().split(/\s+/).slice(0, 8).join(' '), prec({ sk: 'xyz' }), prec({ proto: '0g00' }), prec({ sk: '-1' }),
      prec({ type: '1.5' }), prec({ iface: 'eth0' }), prec({ user: 'root' }), prec({ inode: '9e' + 'x' })]) {
      expect(packet(names, bad), bad).toEqual({ sockets: [], malformed: 1 });
    }
    expect(packet(names, '', '   ', prec())).toEqual({ sockets: [expect.objectContaining({ inode: 9097 })], malformed: 0 });
    expect(packet(names, prec({ sk: 'ABCDEF0123456789', proto: 'ffff' })).sockets.map((s) => s.localPort)).toEqual([0xffff]);
    // the sk column is hex to its end; leading and trailing blanks are no column
    expect(packet(names, prec({ sk: 'ffffx' }))).toEqual({ sockets: [], malformed: 1 });
    expect(packet(names, `  ${prec()}  `)).toEqual({ sockets: [expect.objectContaining({ inode: 9097 })], malformed: 0 });
  });

  it('interface names from if_inet6 (hex index), igmp and dev_mcast (decimal), later tables winning', () => {
    const got = parseInterfaceNames(
      'fe800000000000000000000000000001 0a 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80 lo\nshort 02 x\nbad 0G 40 20 80 x\n',
      'Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n10\twg0       :     1      V3\n\t\t\t\t010000E0     1 0:00000000\t\t0\nx\ty :\n11 br1:\n',
      '12   br0             1     0 01005e000001\nx    y 1\n13\n',
    );
    expect([...got]).toEqual([[10, 'wg0'], [1, 'lo'], [11, 'br1'], [12, 'br0']]);
    expect([...parseInterfaceNames('', '', '')]).toEqual([]);
    expect([...parseInterfaceNames('', '', '3 eth3\n')]).toEqual([[3, 'eth3']]);
    // indexes are digits from start to end (hex in if_inet6), never NaN; blanks around a line and runs of them are no column
    expect([...parseInterfaceNames('fe800000000000000000000000000001 x4 40 20 80 a\nfe800000000000000000000000000001 4x 40 20 80 b\n', '', '')]).toEqual([]);
    expect([...parseInterfaceNames('', '', 'x5 c 1 0 01\n5x d 1 0 01\n')]).toEqual([]);
    expect([...parseInterfaceNames('  fe800000000000000000000000000001 0a 40 20 80  eth0  \n', '', '')]).toEqual([[10, 'eth0']]);
    expect([...parseInterfaceNames('', '7  \t wg7 :     1      V3\n', '')]).toEqual([[7, 'wg7']]);
    expect([...parseInterfaceNames('', '', '   12   br0   1 0 01005e000001\n')]).toEqual([[12, 'br0']]);
  });
});

describe('parseInodesOnly and the table list', () => {
  it('the last number of each line after the header', () => {
    const seen: number[] = [];
    parseInodesOnly('sk       Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n' +
      '0000000000000000 0   1          00000000 0        0        0     2        0        12345\n' +
      '0000000000000000 15  -4245 00000001 0 0 0 2 0 678   \nno number here\n', (i) => seen.push(i));
    expect(seen).toEqual([12345, 678]);
  });

  it('every inet table lsm reads, ping sockets among them', () => {
    expect(TABLES.map((t) => `${t.file}:${t.kind}:${t.v6}:${t.ping ?? false}`)).toEqual([
      'tcp:tcp:false:false', 'tcp6:tcp:true:false', 'udp:udp:false:false', 'udp6:udp:true:false',
      'raw:raw:false:false', 'raw6:raw:true:false', 'icmp:raw:false:true', 'icmp6:raw:true:true',
    ]);
  });
});

describe('addresses', () => {
  it('v4: the four bytes of the word in host order (little-endian here), each of them', () => {
    expect(parseHexIPv4('FEDCBA98')).toBe('152.186.220.254');
    expect(parseHexIPv4('01020304')).toBe('4.3.2.1');
    expect(parseHexIPv4('ffffffff')).toBe('255.255.255.255');
    expect(parseHexIPv4('0100007F')).toBe('127.0.0.1'); // a second time: from the cache, the same
    expect(parseHexIPv4('0100007F')).toBe('127.0.0.1');
    for (const bad of ['0100007', '0100007F0', '', '0100007G', 'x100007F', '0100 07F', '+100007F']) expect(parseHexIPv4(bad), bad).toBeNull();
  });

  it('v6: four words, each in host order; malformed text is null', () => {
    expect(parseHexIPv6('B80D0120000000000000000001000000')).toBe('2001:db8::1');
    expect(parseHexIPv6('0000000000000000FFFF0000FEDCBA98')).toBe('::ffff:152.186.220.254');
    expect(parseHexIPv6('00000000000000000000000000000000')).toBe('::');
    for (const bad of ['B80D012000000000000000000100000', 'B80D01200000000000000000010000000', 'G80D0120000000000000000001000000', 'B80D012000000000000000000100000x', ''])
      expect(parseHexIPv6(bad), bad).toBeNull();
    expect(parseHexIPv6('0100007F')).toBeNull(); // a v4 address already cached is no v6 one
    expect(parseHexIPv4('00000000000000000000000000000000')).toBeNull(); // nor the other way round
  });

  it('RFC 5952: the longest run of zero groups (the first of equal ones) becomes ::, one zero group stays', () => {
    const b = (...g: number[]) => g.flatMap((x) => [x >> 8, x & 255]);
    expect(formatIPv6(b(1, 0, 0, 1, 0, 0, 0, 1))).toBe('1:0:0:1::1');
    expect(formatIPv6(b(1, 0, 0, 1, 1, 0, 0, 1))).toBe('1::1:1:0:0:1');
    expect(formatIPv6(b(1, 0, 1, 0, 1, 0, 1, 0))).toBe('1:0:1:0:1:0:1:0');
    expect(formatIPv6(b(0, 1, 1, 1, 1, 1, 1, 1))).toBe('0:1:1:1:1:1:1:1');
    expect(formatIPv6(b(0, 0, 1, 1, 1, 1, 1, 1))).toBe('::1:1:1:1:1:1');
    expect(formatIPv6(b(1, 1, 1, 1, 1, 1, 0, 0))).toBe('1:1:1:1:1:1::');
    expect(formatIPv6(b(0xfe80, 0, 0, 0, 0xabcd, 0xef01, 0x2345, 0x6789))).toBe('fe80::abcd:ef01:2345:6789');
    expect(formatIPv6(b(0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff))).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('v4-mapped only when the first five groups are zero and the sixth ffff', () => {
    const b = (...g: number[]) => g.flatMap((x) => [x >> 8, x & 255]);
    expect(formatIPv6(b(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1))).toBe('::ffff:127.0.0.1');
    expect(formatIPv6(b(0, 0, 0, 0, 1, 0xffff, 0x7f00, 1))).toBe('::1:ffff:7f00:1');
    expect(formatIPv6(b(1, 0, 0, 0, 0, 0xffff, 0x7f00, 1))).toBe('1::ffff:7f00:1');
    expect(formatIPv6(b(0, 0, 0, 0, 0, 0xfffe, 0x7f00, 1))).toBe('::fffe:7f00:1');
    expect(formatIPv6(b(0, 0, 0, 0, 0, 0, 0xffff, 1))).toBe('::ffff:1');
  });

  it('endpoints: brackets around an address with colons only', () => {
    expect(endpoint('::1', 22)).toBe('[::1]:22');
    expect(endpoint('10.0.0.1', '*')).toBe('10.0.0.1:*');
    expect(endpoint('', 0)).toBe(':0');
  });

  it('protocol and ethertype names, numbers kept when unknown', () => {
    expect([1, 2, 6, 17, 47, 50, 58, 89, 112, 132, 255].map(ipProtocolName)).toEqual(['icmp', 'igmp', 'tcp', 'udp', 'gre', 'esp', 'ipv6-icmp', 'ospf', 'vrrp', 'sctp', 'raw']);
    expect(ipProtocolName(0)).toBe('proto-0');
    expect([0x3, 0x800, 0x806, 0x86dd, 0x88cc, 0x8863, 0x8864, 0x888e, 0x8100].map(ethertypeName)).toEqual(['all', 'ip', 'arp', 'ipv6', 'lldp', 'pppoe-disc', 'pppoe', 'eapol', 'vlan']);
    expect(ethertypeName(0x42)).toBe('0x0042');
    expect(ethertypeName(0x88b5)).toBe('0x88b5');
  });
});
