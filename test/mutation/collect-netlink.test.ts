// The sock_diag / rtnetlink reply parser (src/collect/netlink/index.ts parseDumps), fed replies
// built here field by field with the kernel's struct layout (netlink/structs.ts, checked against
// the kernel's headers elsewhere): every state, type and attribute the parser reads, at the edges
// of their lengths, and messages of other types or too short to be what they claim.
import { describe, expect, it } from 'vitest';
import { parseDumps, type DumpKind } from '../../src/collect/netlink/index.js';
import { IFINFOMSG, INET_DIAG_MSG, INET_DIAG_SOCKID, NLMSGHDR, PACKET_DIAG_INFO_PAYLOAD, PACKET_DIAG_MSG, RTATTR, UNIX_DIAG_MSG } from '../../src/collect/netlink/structs.js';
import type { Socket } from '../../src/types.js';

const SOCK_DIAG_BY_FAMILY = 20;
const RTM_NEWLINK = 16;
const NLMSG_DONE = 3;
const align4 = (n: number) => (n + 3) & ~3;

/** One rtattr: its header, payload, padding to 4. */
function attr(type: number, payload: Buffer, len = RTATTR.size + payload.length): Buffer {
  const b = Buffer.alloc(align4(RTATTR.size + payload.length));
  b.writeUInt16LE(len, RTATTR.rta_len);
  b.writeUInt16LE(type, RTATTR.rta_type);
  payload.copy(b, RTATTR.size);
  return b;
}
/** One netlink message: header, body, attributes (host order: little-endian here). */
function msg(type: number, body: Buffer, ...attrs: Buffer[]): Buffer {
  const payload = Buffer.concat([body, ...attrs]);
  const b = Buffer.alloc(align4(NLMSGHDR.size + payload.length));
  b.writeUInt32LE(NLMSGHDR.size + payload.length, NLMSGHDR.nlmsg_len);
  b.writeUInt16LE(type, NLMSGHDR.nlmsg_type);
  payload.copy(b, NLMSGHDR.size);
  return b;
}
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };

function link(index: number, ...attrs: Buffer[]): Buffer {
  const body = Buffer.alloc(IFINFOMSG.size);
  body.writeUInt32LE(index, IFINFOMSG.ifi_index);
  return msg(RTM_NEWLINK, body, ...attrs);
}
const ifname = (name: string) => attr(3, Buffer.from(name + '\0', 'latin1'));

function inet(o: { state: number; inode: number; sport?: number; dport?: number; src?: number[]; dst?: number[]; uid?: number; ifindex?: number }, ...attrs: Buffer[]): Buffer {
  const body = Buffer.alloc(INET_DIAG_MSG.size);
  body[INET_DIAG_MSG.idiag_family] = 2;
  body[INET_DIAG_MSG.idiag_state] = o.state;
  const id = INET_DIAG_MSG.id;
  body.writeUInt16BE(o.sport ?? 0, id + INET_DIAG_SOCKID.idiag_sport);
  body.writeUInt16BE(o.dport ?? 0, id + INET_DIAG_SOCKID.idiag_dport);
  Buffer.from(o.src ?? []).copy(body, id + INET_DIAG_SOCKID.idiag_src);
  Buffer.from(o.dst ?? []).copy(body, id + INET_DIAG_SOCKID.idiag_dst);
  body.writeUInt32LE(o.ifindex ?? 0, id + INET_DIAG_SOCKID.idiag_if);
  body.writeUInt32LE(o.uid ?? 0, INET_DIAG_MSG.idiag_uid);
  body.writeUInt32LE(o.inode, INET_DIAG_MSG.idiag_inode);
  return msg(SOCK_DIAG_BY_FAMILY, body, ...attrs);
}
function unix(o: { type: number; state: number; inode: number }, ...attrs: Buffer[]): Buffer {
  const body = Buffer.alloc(UNIX_DIAG_MSG.size);
  body[UNIX_DIAG_MSG.udiag_family] = 1;
  body[UNIX_DIAG_MSG.udiag_type] = o.type;
  body[UNIX_DIAG_MSG.udiag_state] = o.state;
  body.writeUInt32LE(o.inode, UNIX_DIAG_MSG.udiag_ino);
  return msg(SOCK_DIAG_BY_FAMILY, body, ...attrs);
}
function packet(o: { type: number; num: number; inode: number }, ...attrs: Buffer[]): Buffer {
  const body = Buffer.alloc(PACKET_DIAG_MSG.size);
  body[PACKET_DIAG_MSG.pdiag_family] = 17;
  body[PACKET_DIAG_MSG.pdiag_type] = o.type;
  body.writeUInt16LE(o.num, PACKET_DIAG_MSG.pdiag_num);
  body.writeUInt32LE(o.inode, PACKET_DIAG_MSG.pdiag_ino);
  return msg(SOCK_DIAG_BY_FAMILY, body, ...attrs);
}
const packetInfo = (ifindex: number) => { const p = Buffer.alloc(PACKET_DIAG_INFO_PAYLOAD.size); p.writeUInt32LE(ifindex, PACKET_DIAG_INFO_PAYLOAD.pdi_index); return attr(0, p); };
const done = () => msg(NLMSG_DONE, u32(0));

const EMPTY = Buffer.alloc(0);
/** parseDumps over these replies (anything not given: an empty dump). */
function parse(replies: Partial<Record<DumpKind, Buffer | number | (Buffer & { dropped?: Uint32Array })>>, ...rest: unknown[]) {
  return (parseDumps as (...a: unknown[]) => ReturnType<typeof parseDumps>)((kind: DumpKind) => replies[kind] ?? EMPTY, 5, ...rest)!;
}
const inetView = (s: Socket) => [s.kind, s.family, s.inode, s.state, s.localAddress, s.localPort, s.remoteAddress, s.remotePort, s.uid, s.device];

describe('links: interface names by index', () => {
  it('names from IFLA_IFNAME, to its NUL or its end; other attributes, messages and short ones ignored', () => {
    const links = Buffer.concat([
      link(1, attr(1, Buffer.from('aabbccddeeff', 'hex')), ifname('lo')),
      link(7, attr(3, Buffer.from('noNUL', 'latin1'))),
      link(8, attr(3, EMPTY)), // an empty name: none
      link(9, attr(3, Buffer.from('ab\0cd\0', 'latin1'))),
      msg(NLMSG_DONE, Buffer.concat([Buffer.alloc(IFINFOMSG.size), ifname('fake')])),
      msg(RTM_NEWLINK, Buffer.alloc(IFINFOMSG.size - 1)),
      link(10, attr(3 | 0x4000, Buffer.from('flag\0'))), // the nla_type's flag bits are no part of the type
    ]);
    const sockets = Buffer.concat([inet({ state: 10, inode: 1, ifindex: 1 }), inet({ state: 10, inode: 2, ifindex: 7 }), inet({ state: 10, inode: 3, ifindex: 8 }),
      inet({ state: 10, inode: 4, ifindex: 9 }), inet({ state: 10, inode: 5, ifindex: 10 }), inet({ state: 10, inode: 6, ifindex: 0 }), inet({ state: 10, inode: 7, ifindex: 0xffffffff })]);
    expect(parse({ links, tcp: sockets }).sockets.map((s) => [s.inode, s.device])).toEqual([[1, 'lo'], [2, 'noNUL'], [3, 'if8'], [4, 'ab'], [5, 'flag'], [6, null], [7, 'if4294967295']]);
    // the links dump refused (an errno): no names, the sockets still read
    expect(parse({ links: 13, tcp: sockets }).sockets.map((s) => s.device)).toEqual(['if1', 'if7', 'if8', 'if9', 'if10', null, 'if4294967295']);
  });
});

describe('inet sockets', () => {
  it('every field: state, addresses, ports in network order, uid, inode, family per dump', () => {
    const tcp = inet({ state: 1, inode: 4000000000, sport: 0xfffe, dport: 1, src: [10, 0, 0, 1], dst: [192, 168, 255, 254], uid: 4294967294 });
    const v6 = inet({ state: 10, inode: 9, sport: 443, src: [0x20, 1, 0x0d, 0xb8, ...Array(11).fill(0), 1], dst: Array(16).fill(0) });
    const r = parse({ tcp, tcp6: v6, udp: inet({ state: 7, inode: 10, sport: 53 }), udp6: inet({ state: 1, inode: 11 }), raw: inet({ state: 7, inode: 12, sport: 255 }), raw6: inet({ state: 2, inode: 13 }) });
    expect(r.sockets.map(inetView)).toEqual([
      ['tcp', 'inet', 4000000000, 'ESTABLISHED', '10.0.0.1', 0xfffe, '192.168.255.254', 1, 4294967294, null],
      ['tcp', 'inet6', 9, 'LISTEN', '2001:db8::1', 443, '::', 0, 0, null],
      ['udp', 'inet', 10, 'UNCONN', '0.0.0.0', 53, '0.0.0.0', 0, 0, null],
      ['udp', 'inet6', 11, 'ESTAB', '::', 0, '::', 0, 0, null],
      ['raw', 'inet', 12, 'UNCONN', '0.0.0.0', 255, '0.0.0.0', 0, 0, null],
      ['raw', 'inet6', 13, 'UNKNOWN(02)', '::', 0, '::', 0, 0, null],
    ]);
    expect(r.sockets[0]).toEqual({ kind: 'tcp', family: 'inet', netns: 5, inode: 4000000000, state: 'ESTABLISHED', localAddress: '10.0.0.1', localPort: 0xfffe,
      remoteAddress: '192.168.255.254', remotePort: 1, uid: 4294967294, user: null, owners: [], device: null });
    expect(r.fallback).toEqual([]);
  });

  it('TCP states by name, udp/raw states 7 and 1, UNKNOWN(<hex>) otherwise', () => {
    const names = [undefined, 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV', 'UNKNOWN(0D)', 'UNKNOWN(0E)', 'UNKNOWN(0F)'];
    const all = Buffer.concat(names.map((_, st) => inet({ state: st, inode: 100 + st })));
    expect(parse({ tcp: all }).sockets.map((s) => s.state)).toEqual(['UNKNOWN(00)', ...names.slice(1)]);
    expect(parse({ udp: all }).sockets.map((s) => s.state)).toEqual(names.map((_, st) => (st === 7 ? 'UNCONN' : st === 1 ? 'ESTAB' : `UNKNOWN(${st.toString(16).toUpperCase().padStart(2, '0')})`)));
    // states past 31 cannot be asked for: dropped
    expect(parse({ tcp: Buffer.concat([inet({ state: 31, inode: 1 }), inet({ state: 32, inode: 2 }), inet({ state: 255, inode: 3 })]) }).sockets.map((s) => s.state)).toEqual(['UNKNOWN(1F)']);
  });

  it('inode 0 (a request or TIME_WAIT mini-socket) is no socket; a message too short for its struct is skipped', () => {
    const short = msg(SOCK_DIAG_BY_FAMILY, Buffer.alloc(INET_DIAG_MSG.size - 1, 1));
    const other = msg(NLMSG_DONE, inet({ state: 10, inode: 77 }).subarray(NLMSGHDR.size));
    const saw: number[] = [];
    const r = parse({ tcp: Buffer.concat([inet({ state: 10, inode: 0 }), short, other, inet({ state: 10, inode: 5 }), done()]) }, undefined, undefined, (i: number) => saw.push(i));
    expect(r.sockets.map((s) => s.inode)).toEqual([5]);
    expect(saw).toEqual([5]);
    // a message of a bare header (nlmsg_len 16, NLMSG_NOOP) is skipped, not the end of the dump
    const bare = msg(1, EMPTY);
    expect(parse({ tcp: Buffer.concat([bare, inet({ state: 10, inode: 6 })]), unix: Buffer.concat([bare, unix({ type: 1, state: 10, inode: 7 })]) }).sockets.map((s) => s.inode)).toEqual([6, 7]);
  });

  it("v6only from INET_DIAG_SKV6ONLY in tcp6/udp6 only; an empty attribute says nothing", () => {
    const on = attr(11, Buffer.from([1])), off = attr(11, Buffer.from([0])), empty = attr(11, EMPTY), other = attr(12, Buffer.from([1]));
    const six = Buffer.concat([inet({ state: 10, inode: 1 }, on), inet({ state: 10, inode: 2 }, off), inet({ state: 10, inode: 3 }, empty), inet({ state: 10, inode: 4 }, other), inet({ state: 10, inode: 5 }, attr(11 | 0x8000, Buffer.from([2])))]);
    expect(parse({ tcp6: six }).sockets.map((s) => [s.inode, s.v6only])).toEqual([[1, true], [2, false], [3, undefined], [4, undefined], [5, true]]);
    expect(parse({ tcp: six }).sockets.map((s) => s.v6only)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    // an empty attribute (rta_len 4) is one: the walk goes on to the next
    expect(parse({ tcp6: inet({ state: 10, inode: 6 }, empty, on) }).sockets.map((s) => s.v6only)).toEqual([true]);
  });

  it('keepState: only kept states become sockets; saw hears every inode, the dump\'s dropped ones too', () => {
    const tcp = Object.assign(Buffer.concat([inet({ state: 10, inode: 1 }), inet({ state: 1, inode: 2 }), inet({ state: 6, inode: 3 })]), { dropped: Uint32Array.from([50, 51]) });
    const saw: number[] = [];
    const asked: string[] = [];
    const r = parse({ tcp, udp: inet({ state: 7, inode: 4 }) }, undefined, (kind: string, state: string) => { asked.push(`${kind}:${state}`); return state === 'LISTEN' || state === 'UNCONN'; }, (i: number) => saw.push(i));
    expect(r.sockets.map((s) => s.inode)).toEqual([1, 4]);
    expect(saw).toEqual([50, 51, 1, 2, 3, 4]);
    // the mask asks each state 1..15 of each kind once per dump
    expect(asked.filter((a) => a.startsWith('tcp:'))).toHaveLength(30);
    expect(asked.slice(0, 15)).toEqual(['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV', 'UNKNOWN(0D)', 'UNKNOWN(0E)', 'UNKNOWN(0F)'].map((s) => `tcp:${s}`));
    // dropped inodes without saw are not looked at; keep drops after parsing
    const k = parse({ tcp }, (s: Socket) => s.inode !== 1);
    expect(k.sockets.map((s) => s.inode)).toEqual([2, 3]);
    // without keepState every state is kept, state 0 among them
    expect(parse({ tcp: inet({ state: 0, inode: 8 }) }).sockets.map((s) => s.state)).toEqual(['UNKNOWN(00)']);
    expect(parse({ tcp: inet({ state: 0, inode: 8 }) }, undefined, () => true).sockets).toEqual([]);
  });
});

describe('unix sockets', () => {
  it('states, types, names (path to its NUL, abstract with its bytes), uid', () => {
    const name = (s: string) => attr(0, Buffer.from(s, 'latin1'));
    const r = parse({ unix: Buffer.concat([
      unix({ type: 1, state: 10, inode: 1 }, name('/run/a.sock\0'), attr(7, u32(1000))),
      unix({ type: 2, state: 7, inode: 2 }, name('\0ab\0c')),
      unix({ type: 5, state: 1, inode: 3 }),
      unix({ type: 3, state: 2, inode: 4 }, name('/no-nul')),
      unix({ type: 4, state: 3, inode: 5 }, name('/x\0junk')),
      unix({ type: 6, state: 9, inode: 6 }, attr(7, Buffer.from([1, 2, 3]))),
      unix({ type: 0, state: 0xab, inode: 7 }, attr(0, EMPTY)),
      msg(SOCK_DIAG_BY_FAMILY, Buffer.alloc(UNIX_DIAG_MSG.size - 1)),
    ]) });
    expect(r.sockets.map((s) => [s.inode, s.state, s.socketType, s.localAddress, s.uid])).toEqual([
      [1, 'LISTEN', 'stream', '/run/a.sock', 1000],
      [2, 'UNCONN', 'dgram', '@ab\0c', -1],
      [3, 'CONN', 'seqpacket', '', -1],
      [4, 'CONNECTING', 'raw', '/no-nul', -1],
      [5, 'UNKNOWN(03)', 'rdm', '/x', -1],
      [6, 'UNKNOWN(09)', undefined, '', -1],
      [7, 'UNKNOWN(AB)', undefined, '', -1],
    ]);
    expect(r.sockets[0]).toEqual({ kind: 'unix', family: 'unix', netns: 5, inode: 1, state: 'LISTEN', localAddress: '/run/a.sock', localPort: 0, remoteAddress: '', remotePort: 0, socketType: 'stream', uid: 1000, user: null, owners: [] });
  });

  it('a name is read only within its own attribute, never from the bytes after it', () => {
    // '/ab' then the next attribute: the path has no NUL inside its attribute
    const r = parse({ unix: unix({ type: 1, state: 10, inode: 1 }, attr(0, Buffer.from('/ab', 'latin1')), attr(7, u32(0))) });
    expect(r.sockets.map((s) => [s.localAddress, s.uid])).toEqual([['/ab', 0]]);
  });

  it('saw hears every unix socket, keep decides which are kept', () => {
    const saw: number[] = [];
    const r = parse({ unix: Buffer.concat([unix({ type: 1, state: 10, inode: 1 }), unix({ type: 1, state: 1, inode: 2 })]) }, (s: Socket) => s.state === 'LISTEN', undefined, (i: number) => saw.push(i));
    expect(r.sockets.map((s) => s.inode)).toEqual([1]);
    expect(saw).toEqual([1, 2]);
  });
});

describe('packet sockets', () => {
  it('type, protocol, interface (by name, if<n>, or * for any), uid', () => {
    const links = link(2, ifname('eth0'));
    const r = parse({ links, packet: Buffer.concat([
      packet({ type: 3, num: 0x0300, inode: 1 }, packetInfo(2), attr(5, u32(0))),
      packet({ type: 2, num: 0x0008, inode: 2 }, packetInfo(9)),
      packet({ type: 10, num: 0, inode: 3 }),
      packet({ type: 3, num: 1, inode: 4 }, attr(0, Buffer.from([1, 0, 0])), attr(5, Buffer.from([1, 0, 0]))),
      msg(SOCK_DIAG_BY_FAMILY, Buffer.alloc(PACKET_DIAG_MSG.size - 1)),
    ]) });
    expect(r.sockets.map((s) => [s.inode, s.socketType, s.localPort, s.localAddress, s.uid, s.state])).toEqual([
      [1, 'raw', 0x0300, 'eth0', 0, 'UNCONN'], [2, 'dgram', 8, 'if9', -1, 'UNCONN'], [3, undefined, 0, '*', -1, 'UNCONN'], [4, 'raw', 1, '*', -1, 'UNCONN'],
    ]);
    expect(r.sockets[0]).toEqual({ kind: 'packet', family: 'packet', netns: 5, inode: 1, state: 'UNCONN', localAddress: 'eth0', localPort: 0x0300, remoteAddress: '', remotePort: 0, socketType: 'raw', uid: 0, user: null, owners: [] });
    const saw: number[] = [];
    expect(parse({ packet: packet({ type: 3, num: 1, inode: 9 }) }, () => false, undefined, (i: number) => saw.push(i)).sockets).toEqual([]);
    expect(saw).toEqual([9]);
  });
});

describe('the order of the dumps, and what falls back to /proc', () => {
  it('asks links, the six inet dumps, unix, packet, in that order; errnos fall back per table', () => {
    const asked: DumpKind[] = [];
    const r = parseDumps((k) => { asked.push(k); return k === 'udp6' || k === 'packet' || k === 'raw' ? 95 : EMPTY; }, 5)!;
    expect(asked).toEqual(['links', 'tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix', 'packet']);
    expect(r).toEqual({ sockets: [], fallback: ['udp6', 'raw', 'packet'] });
    expect(parseDumps((k) => (k === 'links' ? EMPTY : 2), 5)).toEqual({ sockets: [], fallback: ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix', 'packet'] });
    expect(parseDumps((k) => { if (k === 'packet') throw new Error('gone'); return EMPTY; }, 5)).toBeNull();
    expect(parseDumps((k) => { if (k === 'links') throw new Error('not a namespace'); return EMPTY; }, 5)).toBeNull();
  });
});
