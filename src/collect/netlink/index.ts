// Sockets from the kernel's sock_diag over netlink (what `ss` reads): every field separately, so
// no name can imitate a record, and with what /proc/net/* does not print (the bound device,
// IPV6_V6ONLY). The native part (sockdiag.c) only opens the netlink socket inside the namespace
// and moves bytes; requests are built and replies parsed here. A kind the kernel cannot dump
// (raw_diag not built or loaded, say) is named in `fallback` for the caller to read from /proc.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import type { Socket } from '../../types.js';
import { formatIPv6 } from '../addresses.js';
import {
  IFINFOMSG, INET_DIAG_MSG, INET_DIAG_REQ_V2, INET_DIAG_SOCKID, NLMSGHDR, PACKET_DIAG_INFO_PAYLOAD, PACKET_DIAG_MSG,
  PACKET_DIAG_REQ, RTATTR, UNIX_DIAG_MSG, UNIX_DIAG_REQ,
} from './structs.js';

interface Addon {
  /** keep[i]: an inet request's states returned whole; the others' inodes only, in the reply's `dropped` */
  query(nsFile: string | null, inode: number, protocol: number, requests: Buffer[], keep?: (number | null)[]): (Buffer & { dropped?: Uint32Array } | number)[];
  inspect?(pid: number, fds: number[], inodes: number[], known: number[]): (HeldSocket | null)[];
}

/** What a copy of a process's socket fd says about the socket (sockdiag.c: inspect). */
export interface HeldSocket {
  domain: number; // AF_*
  type: number; // SOCK_*
  protocol: number; // IPPROTO_* for inet
  port: number; // the local port (inet), else -1
  tcpState: number; // TCP_* (7: closed), else -1
  netns: number; // inode of the socket's own network namespace, -1 unknown
  nsfd: number; // an open fd of that namespace (the caller closes it); -1: a namespace in `known`, or given already
  vsockCid?: number; // AF_VSOCK: the local CID (0xffffffff: any) and port (0xffffffff: unbound)
  vsockPort?: number;
  vsockState?: number; // 1 listening, 2 connected, 0 neither
}

/**
 * Sockets `pid` holds at `fds` (expected to be `inodes`), looked at through copies of its fds, with
 * an fd of each namespace not `known` (at most 64); null when that cannot be done here (no addon,
 * no pidfd_getfd, not allowed).
 */
export function inspectHeldSockets(pid: number, fds: number[], inodes: number[], known: number[]): (HeldSocket | null)[] | null {
  const a = netlinkAddon();
  if (!a?.inspect) return null;
  try { return a.inspect(pid, fds, inodes, known); } catch { return null; }
}

const NETLINK_ROUTE = 0;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const RTM_GETLINK = 18;
const RTM_NEWLINK = 16;
const IFLA_IFNAME = 3;
const NLM_F_REQUEST = 1;
const NLM_F_DUMP = 0x300;
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;
const IPPROTO = { tcp: 6, udp: 17, raw: 255 } as const;
const INET_DIAG_SKV6ONLY = 11;
const UDIAG_SHOW_NAME = 0x01;
const UDIAG_SHOW_VFS = 0x02;
const UDIAG_SHOW_RQLEN = 0x10;
const UDIAG_SHOW_UID = 0x40;
const UNIX_DIAG_NAME = 0;
const UNIX_DIAG_VFS = 1;
const UNIX_DIAG_RQLEN = 4;
const UNIX_DIAG_UID = 7;
const PACKET_SHOW_INFO = 0x01;
const PACKET_DIAG_INFO = 0;
const PACKET_DIAG_UID = 5;

const LE = endianness() === 'LE';

let addon: Addon | null | undefined;

/** The built addon, or null (not built, or turned off with LSM_NETLINK=off, as tests of the fallback do). */
export function netlinkAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.LSM_NETLINK === 'off') return addon;
  try {
    // dist/collect/netlink/ -> build/Release/, where node-gyp puts it at `npm ci`
    addon = createRequire(import.meta.url)('../../../build/Release/sockdiag.node') as Addon;
  } catch { /* not built: the /proc text is read instead */ }
  return addon;
}

/** /proc/<pid>/net tables, by file name, that netlink did not give. */
export type ProcTable = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'raw' | 'raw6' | 'unix' | 'packet';

export interface NetlinkTables {
  sockets: Socket[];
  fallback: ProcTable[];
  /** tables whose sockets of states not kept were not dumped (readNetlinkTables' `defer`): readUnkeptInodes gives their inodes later */
  deferred?: ProcTable[];
}

const TCPF_LISTEN = 1 << 10;
/**
 * Whether `saw`'s TCP sockets of states not kept may wait (readNetlinkTables' `defer`): only when
 * LISTEN is all that is kept. The kernel walks its established hash, every namespace's sockets in
 * it, for any state asked beyond LISTEN (inet_diag_dump_icsk): at 100k connections ~20 ms a
 * family in each namespace dumped, even one with no socket.
 */
export function deferrable(keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): boolean {
  return keepState !== undefined && (stateMask('tcp', keepState) & ~TCPF_LISTEN) === 0;
}

const TCP_STATES: (string | undefined)[] = [
  undefined, 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
];
const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
// the names /proc/net/{tcp,udp,raw} parsing gives each state (collect/tables.ts)
function stateName(kind: 'tcp' | 'udp' | 'raw', st: number): string {
  if (kind === 'tcp') return TCP_STATES[st] ?? `UNKNOWN(${hex2(st)})`;
  return st === 7 ? 'UNCONN' : st === 1 ? 'ESTAB' : `UNKNOWN(${hex2(st)})`;
}

function header(buf: Buffer, type: number, seq: number): void {
  const w32 = LE ? buf.writeUInt32LE.bind(buf) : buf.writeUInt32BE.bind(buf);
  const w16 = LE ? buf.writeUInt16LE.bind(buf) : buf.writeUInt16BE.bind(buf);
  w32(buf.length, NLMSGHDR.nlmsg_len);
  w16(type, NLMSGHDR.nlmsg_type);
  w16(NLM_F_REQUEST | NLM_F_DUMP, NLMSGHDR.nlmsg_flags);
  w32(seq, NLMSGHDR.nlmsg_seq);
  w32(0, NLMSGHDR.nlmsg_pid);
}

// where a request's or a reply's own struct starts: after its nlmsghdr
const BODY = NLMSGHDR.size;

function u32(buf: Buffer, value: number, at: number): void {
  if (LE) buf.writeUInt32LE(value >>> 0, at); else buf.writeUInt32BE(value >>> 0, at);
}

/** inet_diag_req_v2 of one family and protocol, the states wanted, an all-zero inet_diag_sockid. */
function inetRequest(family: number, protocol: number, states: number, seq: number): Buffer {
  const buf = Buffer.alloc(BODY + INET_DIAG_REQ_V2.size);
  header(buf, SOCK_DIAG_BY_FAMILY, seq);
  buf[BODY + INET_DIAG_REQ_V2.sdiag_family] = family;
  buf[BODY + INET_DIAG_REQ_V2.sdiag_protocol] = protocol;
  u32(buf, states, BODY + INET_DIAG_REQ_V2.idiag_states);
  return buf;
}

/** rqlen: with each socket's queue lengths (UNIX_DIAG_RQLEN), which change by themselves: not for lsm watch's probe */
function unixRequest(seq: number, rqlen = false): Buffer {
  const buf = Buffer.alloc(BODY + UNIX_DIAG_REQ.size);
  header(buf, SOCK_DIAG_BY_FAMILY, seq);
  buf[BODY + UNIX_DIAG_REQ.sdiag_family] = AF_UNIX;
  u32(buf, 0xffffffff, BODY + UNIX_DIAG_REQ.udiag_states); // every state
  u32(buf, UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_UID | (rqlen ? UDIAG_SHOW_RQLEN : 0), BODY + UNIX_DIAG_REQ.udiag_show);
  return buf;
}

function packetRequest(seq: number): Buffer {
  const buf = Buffer.alloc(BODY + PACKET_DIAG_REQ.size);
  header(buf, SOCK_DIAG_BY_FAMILY, seq);
  buf[BODY + PACKET_DIAG_REQ.sdiag_family] = AF_PACKET;
  u32(buf, PACKET_SHOW_INFO, BODY + PACKET_DIAG_REQ.pdiag_show);
  return buf;
}

function linkRequest(seq: number): Buffer {
  const buf = Buffer.alloc(BODY + IFINFOMSG.size);
  header(buf, RTM_GETLINK, seq);
  return buf; // ifinfomsg all zero: every family, every link
}

/** The kernel's state filter for a kind: only the states the caller keeps are dumped at all. */
export function stateMask(kind: 'tcp' | 'udp' | 'raw', keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): number {
  if (!keepState) return 0xffffffff;
  let mask = 0;
  for (let st = 1; st < 16; st++) if (keepState(kind, stateName(kind, st))) mask |= 1 << st;
  return mask;
}

interface Reader { u8(at: number): number; u16(at: number): number; u32(at: number): number; be16(at: number): number }
function reader(buf: Buffer): Reader {
  return LE
    ? { u8: (a) => buf[a], u16: (a) => buf.readUInt16LE(a), u32: (a) => buf.readUInt32LE(a), be16: (a) => buf.readUInt16BE(a) }
    : { u8: (a) => buf[a], u16: (a) => buf.readUInt16BE(a), u32: (a) => buf.readUInt32BE(a), be16: (a) => buf.readUInt16BE(a) };
}

const align4 = (n: number) => (n + 3) & ~3;

/** Each message of a dump: (payload offset, payload end) after its nlmsghdr. */
function eachMessage(buf: Buffer, type: number, visit: (start: number, end: number) => void): void {
  const r = reader(buf);
  for (let at = 0; at + NLMSGHDR.size <= buf.length; ) {
    const len = r.u32(at + NLMSGHDR.nlmsg_len);
    if (len < NLMSGHDR.size || at + len > buf.length) break;
    if (r.u16(at + NLMSGHDR.nlmsg_type) === type) visit(at + BODY, at + len);
    at += align4(len);
  }
}

/** Each rtattr in [start, end): type, payload offset, payload length. */
function eachAttribute(buf: Buffer, start: number, end: number, visit: (type: number, at: number, len: number) => void): void {
  const r = reader(buf);
  for (let at = start; at + RTATTR.size <= end; ) {
    const len = r.u16(at + RTATTR.rta_len);
    if (len < RTATTR.size || at + len > end) break;
    visit(r.u16(at + RTATTR.rta_type) & 0x3fff, at + RTATTR.size, len - RTATTR.size);
    at += align4(len);
  }
}

// few distinct addresses over many sockets: each formatted once, keyed by its raw bytes (an IPv4
// address by its number, an IPv6 one by its bytes as a string), without an object per socket
const formatted4 = new Map<number, string>();
const formatted6 = new Map<string, string>();
function address(buf: Buffer, at: number, v6: boolean): string {
  if (!v6) {
    const key = buf.readUInt32BE(at);
    let text = formatted4.get(key);
    if (text === undefined) {
      text = `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
      if (formatted4.size < 4096) formatted4.set(key, text);
    }
    return text;
  }
  const key = buf.toString('latin1', at, at + 16);
  let text = formatted6.get(key);
  if (text === undefined) {
    text = formatIPv6([...buf.subarray(at, at + 16)]);
    if (formatted6.size < 4096) formatted6.set(key, text);
  }
  return text;
}

// a socket's owners before the fd walk names any: one shared empty list, never written (collect
// replaces it), not an array per socket
const NO_OWNERS: Socket['owners'] = Object.freeze([]) as unknown as Socket['owners'];

/**
 * `states`: the states to make sockets of (a bit each); `saw` is told the inode of every socket in
 * the reply, so a dump of every state only for `saw` costs no object per dropped socket. Plain
 * loops, no callback per message: this runs over every socket of the host.
 */
function parseInet(buf: Buffer, kind: 'tcp' | 'udp' | 'raw', v6: boolean, netns: number, ifNames: Map<number, string>,
  out: Socket[], keep: ((s: Socket) => boolean) | undefined, states: number, saw?: (inode: number) => void): void {
  const r = reader(buf);
  const family = v6 ? 'inet6' : 'inet';
  for (let at = 0; at + NLMSGHDR.size <= buf.length;) {
    const len = r.u32(at + NLMSGHDR.nlmsg_len);
    if (len < NLMSGHDR.size || at + len > buf.length) break;
    const m = at + BODY;
    const end = at + len;
    at += align4(len);
    if (r.u16(m - BODY + NLMSGHDR.nlmsg_type) !== SOCK_DIAG_BY_FAMILY || end - m < INET_DIAG_MSG.size) continue;
    const inode = r.u32(m + INET_DIAG_MSG.idiag_inode);
    if (inode === 0) continue; // a request or TIME_WAIT mini-socket: no socket behind it (as /proc shows 0)
    if (saw !== undefined) saw(inode);
    const st = buf[m + INET_DIAG_MSG.idiag_state];
    if (st > 31 || (states & (1 << st)) === 0) continue;
    const id = m + INET_DIAG_MSG.id;
    const ifindex = r.u32(id + INET_DIAG_SOCKID.idiag_if);
    const s: Socket = {
      kind, family, netns, inode, state: stateName(kind, st),
      localAddress: address(buf, id + INET_DIAG_SOCKID.idiag_src, v6), localPort: r.be16(id + INET_DIAG_SOCKID.idiag_sport),
      remoteAddress: address(buf, id + INET_DIAG_SOCKID.idiag_dst, v6), remotePort: r.be16(id + INET_DIAG_SOCKID.idiag_dport),
      uid: r.u32(m + INET_DIAG_MSG.idiag_uid), user: null, owners: NO_OWNERS,
      device: ifindex === 0 ? null : ifNames.get(ifindex) ?? `if${ifindex}`,
    };
    if (v6) {
      for (let a = m + INET_DIAG_MSG.size; a + RTATTR.size <= end;) {
        const alen = r.u16(a + RTATTR.rta_len);
        if (alen < RTATTR.size || a + alen > end) break;
        if ((r.u16(a + RTATTR.rta_type) & 0x3fff) === INET_DIAG_SKV6ONLY && alen - RTATTR.size >= 1) s.v6only = buf[a + RTATTR.size] !== 0;
        a += align4(alen);
      }
    }
    if (!keep || keep(s)) out.push(s);
  }
}

const UNIX_TYPES: Socket['socketType'][] = [undefined, 'stream', 'dgram', 'raw', 'rdm', 'seqpacket'];
function unixState(st: number): string {
  return st === 10 ? 'LISTEN' : st === 7 ? 'UNCONN' : st === 1 ? 'CONN' : st === 2 ? 'CONNECTING' : `UNKNOWN(${hex2(st)})`;
}

/**
 * `idle` is told each listener whose accept queue is empty (UNIX_DIAG_RQLEN: for a listener, the
 * connections waiting): fds in flight in a listener's queue ride in those connections only
 * (the kernel's unix_count_nr_fds), so such a queue carries none (in-flight.ts).
 */
function parseUnix(buf: Buffer, netns: number, out: Socket[], keep?: (s: Socket) => boolean, saw?: (inode: number) => void, idle?: (inode: number) => void): void {
  const r = reader(buf);
  for (let at = 0; at + NLMSGHDR.size <= buf.length;) {
    const len = r.u32(at + NLMSGHDR.nlmsg_len);
    if (len < NLMSGHDR.size || at + len > buf.length) break;
    const m = at + BODY;
    const end = at + len;
    at += align4(len);
    if (r.u16(m - BODY + NLMSGHDR.nlmsg_type) !== SOCK_DIAG_BY_FAMILY || end - m < UNIX_DIAG_MSG.size) continue;
    const inode = r.u32(m + UNIX_DIAG_MSG.udiag_ino);
    if (saw !== undefined) saw(inode);
    let localAddress = '';
    let uid = -1;
    let fileIno = -1;
    let fileDev = 0;
    let waiting = -1; // a listener's queued connections; -1: not said
    for (let a = m + UNIX_DIAG_MSG.size; a + RTATTR.size <= end;) {
      const alen = r.u16(a + RTATTR.rta_len);
      if (alen < RTATTR.size || a + alen > end) break;
      const type = r.u16(a + RTATTR.rta_type) & 0x3fff;
      const p = a + RTATTR.size;
      const plen = alen - RTATTR.size;
      if (type === UNIX_DIAG_NAME && plen > 0) {
        // abstract: a NUL, then bytes (NULs included) as they are; a path ends at its NUL
        if (buf[p] === 0) localAddress = '@' + buf.toString('latin1', p + 1, p + plen);
        else {
          const nul = buf.indexOf(0, p);
          localAddress = buf.toString('latin1', p, nul >= 0 && nul < p + plen ? nul : p + plen);
        }
      } else if (type === UNIX_DIAG_UID && plen >= 4) uid = r.u32(p);
      else if (type === UNIX_DIAG_VFS && plen >= 8) { fileIno = r.u32(p); fileDev = r.u32(p + 4); }
      else if (type === UNIX_DIAG_RQLEN && plen >= 4) waiting = r.u32(p);
      a += align4(alen);
    }
    const s: Socket = {
      kind: 'unix', family: 'unix', netns, inode, state: unixState(buf[m + UNIX_DIAG_MSG.udiag_state]),
      localAddress, localPort: 0, remoteAddress: '', remotePort: 0,
      socketType: UNIX_TYPES[buf[m + UNIX_DIAG_MSG.udiag_type]], uid, user: null, owners: NO_OWNERS,
    };
    if (fileIno >= 0) s.file = { ino: fileIno, dev: userDev(fileDev) };
    if (!keep || keep(s)) out.push(s);
    if (idle !== undefined && waiting === 0 && buf[m + UNIX_DIAG_MSG.udiag_state] === 10) idle(inode);
  }
}

/** The kernel's dev_t (major << 20 | minor), as stat() gives a device (glibc's makedev). */
function userDev(k: number): number {
  const major = Math.floor(k / 2 ** 20);
  const minor = k % 2 ** 20;
  return (minor % 256) + (major % 4096) * 256 + Math.floor(minor / 256) * 2 ** 20 + Math.floor(major / 4096) * 2 ** 32;
}

function parsePacket(buf: Buffer, netns: number, ifNames: Map<number, string>, out: Socket[], keep?: (s: Socket) => boolean, saw?: (inode: number) => void): void {
  const r = reader(buf);
  eachMessage(buf, SOCK_DIAG_BY_FAMILY, (m, end) => {
    if (end - m < PACKET_DIAG_MSG.size) return;
    const inode = r.u32(m + PACKET_DIAG_MSG.pdiag_ino);
    saw?.(inode);
    const type = buf[m + PACKET_DIAG_MSG.pdiag_type];
    let ifindex = 0;
    let uid = -1;
    eachAttribute(buf, m + PACKET_DIAG_MSG.size, end, (t, at, len) => {
      if (t === PACKET_DIAG_INFO && len >= 4) ifindex = r.u32(at + PACKET_DIAG_INFO_PAYLOAD.pdi_index);
      else if (t === PACKET_DIAG_UID && len >= 4) uid = r.u32(at);
    });
    const s: Socket = {
      kind: 'packet', family: 'packet', netns, inode, state: 'UNCONN',
      localAddress: ifindex === 0 ? '*' : ifNames.get(ifindex) ?? `if${ifindex}`,
      localPort: r.u16(m + PACKET_DIAG_MSG.pdiag_num), remoteAddress: '', remotePort: 0,
      socketType: type === 3 ? 'raw' : type === 2 ? 'dgram' : undefined, uid, user: null, owners: NO_OWNERS,
    };
    if (!keep || keep(s)) out.push(s);
  });
}

function parseLinks(buf: Buffer): Map<number, string> {
  const names = new Map<number, string>();
  const r = reader(buf);
  eachMessage(buf, RTM_NEWLINK, (m, end) => {
    if (end - m < IFINFOMSG.size) return;
    const index = r.u32(m + IFINFOMSG.ifi_index);
    eachAttribute(buf, m + IFINFOMSG.size, end, (type, at, len) => {
      if (type !== IFLA_IFNAME || len < 1) return;
      const nul = buf.indexOf(0, at);
      names.set(index, buf.toString('latin1', at, nul >= 0 && nul < at + len ? nul : at + len));
    });
  });
  return names;
}

const INET: { file: ProcTable; kind: 'tcp' | 'udp' | 'raw'; v6: boolean }[] = [
  { file: 'tcp', kind: 'tcp', v6: false }, { file: 'tcp6', kind: 'tcp', v6: true },
  { file: 'udp', kind: 'udp', v6: false }, { file: 'udp6', kind: 'udp', v6: true },
  { file: 'raw', kind: 'raw', v6: false }, { file: 'raw6', kind: 'raw', v6: true },
];

/** What one dump of a namespace is: the links (interface names), or one /proc table's sockets. */
export type DumpKind = 'links' | ProcTable;

// the requests readNetlinkTables sends, in order: their replies are what a saved dump holds
const DUMPS: { kind: DumpKind; protocol: number; request: (states: number, seq: number) => Buffer; inet?: (typeof INET)[number] }[] = [
  { kind: 'links', protocol: NETLINK_ROUTE, request: (_, seq) => linkRequest(seq) },
  ...INET.map((t) => ({ kind: t.file, protocol: NETLINK_SOCK_DIAG, inet: t, request: (states: number, seq: number) => inetRequest(t.v6 ? AF_INET6 : AF_INET, IPPROTO[t.kind], states, seq) })),
  { kind: 'unix', protocol: NETLINK_SOCK_DIAG, request: (_, seq) => unixRequest(seq, true) },
  { kind: 'packet', protocol: NETLINK_SOCK_DIAG, request: (_, seq) => packetRequest(seq) },
];

/**
 * Every socket of the namespace that `nsFile` (/proc/<pid>/ns/net, an nsfs mount) names, if it
 * still is the namespace `inode`; null when netlink cannot be used there at all (no addon, not a
 * namespace file, gone), so the caller reads /proc for everything. `keepState` lets the kernel
 * drop unwanted states; with `saw`, every state is dumped (saw is told each inode) and only the
 * wanted ones become sockets. One dump at a time, each parsed and let go before the next: at 100k
 * sockets the TCP dump of every state is ~4 MB per family, held twice (the addon's, node's copy).
 */
export function readNetlinkTables(nsFile: string, inode: number, keep?: (s: Socket) => boolean,
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean, saw?: (inode: number) => void,
  { defer = false, idle }: { defer?: boolean; idle?: (inode: number) => void } = {}): NetlinkTables | null {
  const a = netlinkAddon();
  if (a === null) return null;
  // defer (with saw, when deferrable): TCP dumped in the kept states only, the kernel's filter; the
  // caller asks readUnkeptInodes for the rest only if some socket fd is still in no table
  const later = defer && saw !== undefined && deferrable(keepState);
  const deferred: ProcTable[] = [];
  const tables = parseDumps((kind) => {
    const i = DUMPS.findIndex((d) => d.kind === kind);
    const d = DUMPS[i];
    if (!d.inet) return a.query(nsFile, inode, d.protocol, [d.request(0xffffffff, 1 + i)])[0];
    const states = stateMask(d.inet.kind, keepState);
    if (later && d.inet.kind === 'tcp') {
      const reply = a.query(nsFile, inode, d.protocol, [d.request(states, 1 + i)])[0];
      if (reply instanceof Buffer) deferred.push(d.kind as ProcTable);
      return reply;
    }
    // with saw: every state dumped, but the unwanted ones come back as bare inodes (reply.dropped)
    return a.query(nsFile, inode, d.protocol, [d.request(saw ? 0xffffffff : states, 1 + i)], saw ? [states] : undefined)[0];
  }, inode, keep, keepState, saw, idle);
  return tables === null || deferred.length === 0 ? tables : { ...tables, deferred };
}

/**
 * The rest of what readNetlinkTables deferred: the inodes of `tables`' sockets in the states not
 * kept, sorted, never parsed (the addon's array as it is: no call per socket); null when the
 * namespace cannot be dumped now (gone, not it).
 */
export function readUnkeptInodes(nsFile: string, inode: number, tables: ProcTable[],
  keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): Uint32Array | null {
  const a = netlinkAddon();
  if (a === null) return null;
  const parts: Uint32Array[] = [];
  try {
    for (const table of tables) {
      const i = DUMPS.findIndex((d) => d.kind === table);
      const d = DUMPS[i];
      if (!d.inet) continue;
      // every state but the kept ones, each socket only an inode (keep: none)
      const reply = a.query(nsFile, inode, d.protocol, [d.request(~stateMask(d.inet.kind, keepState) >>> 0, 1 + i)], [0])[0];
      if (!(reply instanceof Buffer)) return null;
      if (reply.dropped) parts.push(reply.dropped);
    }
  } catch {
    return null;
  }
  const all = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  for (let k = 0, at = 0; k < parts.length; at += parts[k].length, k++) all.set(parts[k], at);
  return all.sort();
}

/** Whether sorted `list` holds `value` (by halves). */
export function sortedHas(list: ArrayLike<number>, value: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] === value) return true;
    if (list[mid] < value) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

/**
 * The sockets of the dumps `dump(kind)` gives (each a reply's bytes, or the errno the kernel
 * answered), parsed one at a time: the kernel's (readNetlinkTables), or saved ones replayed, as
 * ss replays TCPDIAG_FILE (test/fixtures/netlink/). A dump that throws (the namespace went away,
 * or it is not one) makes it null: the caller reads /proc instead.
 */
export function parseDumps(dump: (kind: DumpKind) => (Buffer & { dropped?: Uint32Array }) | number, inode: number, keep?: (s: Socket) => boolean,
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean, saw?: (inode: number) => void, idle?: (inode: number) => void): NetlinkTables | null {
  let ifNames: Map<number, string>;
  try {
    const links = dump('links');
    ifNames = links instanceof Buffer ? parseLinks(links) : new Map<number, string>();
  } catch {
    return null; // not a namespace file, or not this namespace any more
  }
  const sockets: Socket[] = [];
  const fallback: ProcTable[] = [];
  try {
    for (const t of INET) {
      const reply = dump(t.file);
      if (!(reply instanceof Buffer)) { fallback.push(t.file); continue; }
      const dropped = reply.dropped;
      if (saw && dropped) for (let k = 0; k < dropped.length; k++) saw(dropped[k]);
      parseInet(reply, t.kind, t.v6, inode, ifNames, sockets, keep, stateMask(t.kind, keepState), saw);
    }
    const unix = dump('unix');
    if (unix instanceof Buffer) parseUnix(unix, inode, sockets, keep, saw, idle); else fallback.push('unix');
    const packet = dump('packet');
    if (packet instanceof Buffer) parsePacket(packet, inode, ifNames, sockets, keep, saw); else fallback.push('packet');
  } catch {
    return null; // the namespace went away between two dumps: read from /proc
  }
  return { sockets, fallback };
}

/**
 * Each dump of the namespace `nsFile` names, as readNetlinkTables asks for it (every state), for
 * saving and replaying through parseDumps; null without the addon. Host byte order.
 */
export function saveDumps(nsFile: string | null, inode: number): Map<DumpKind, Buffer | number> | null {
  const a = netlinkAddon();
  if (a === null) return null;
  return new Map(DUMPS.map((d, i) => [d.kind, a.query(nsFile, inode, d.protocol, [d.request(0xffffffff, 1 + i)])[0]]));
}

/**
 * The requests netlinkFingerprint sends (TCP/UDP/raw of both families filtered by state, unix,
 * packet), each with the /proc table it stands for: for collect/netlink/digest.ts.
 */
export function probeRequests(keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): { requests: Buffer[]; tables: ProcTable[] } {
  const requests = INET.map((t, i) => inetRequest(t.v6 ? AF_INET6 : AF_INET, IPPROTO[t.kind], stateMask(t.kind, keepState), 2 + i));
  requests.push(unixRequest(10), packetRequest(11));
  return { requests, tables: [...INET.map((t) => t.file), 'unix', 'packet'] };
}

export interface NetlinkFingerprint {
  /** per kind, the dump with fields that change by themselves zeroed (unix: only the kept messages) */
  bytes: Buffer[];
  inodes: number[];
  fallback: ProcTable[];
}

/**
 * For lsm watch's probe (collect/probe.ts): the sockets a snapshot records in one namespace as
 * bytes, never parsed into sockets. The kernel filters TCP/UDP/raw by state (keepState); unix
 * sockets are kept here as snapshot/select.ts keeps them (named, and listening, bound or
 * datagram). Timers, queue lengths and the reply's netlink header are zeroed: equal bytes, same
 * sockets (in the kernel's order: a new order only costs a scan). `inodes` are those the snapshot
 * records (UDP without a port left out). Null when netlink cannot be used there.
 */
export function netlinkFingerprint(nsFile: string, inode: number,
  keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): NetlinkFingerprint | null {
  const a = netlinkAddon();
  if (a === null) return null;
  let replies: (Buffer | number)[];
  try {
    const requests = INET.map((t, i) => inetRequest(t.v6 ? AF_INET6 : AF_INET, IPPROTO[t.kind], stateMask(t.kind, keepState), 2 + i));
    requests.push(unixRequest(10), packetRequest(11));
    replies = a.query(nsFile, inode, NETLINK_SOCK_DIAG, requests);
  } catch {
    return null;
  }
  const bytes: Buffer[] = [];
  const inodes: number[] = [];
  const fallback: ProcTable[] = [];
  const kinds: ProcTable[] = [...INET.map((t) => t.file), 'unix', 'packet'];
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i];
    const kind = kinds[i];
    if (!(reply instanceof Buffer)) { fallback.push(kind); continue; }
    const r = reader(reply);
    const udp = kind === 'udp' || kind === 'udp6';
    const kept: number[] = []; // unix: start, end of each kept message
    // plain loops: this runs every interval, over every recorded socket
    for (let at = 0; at + NLMSGHDR.size <= reply.length;) {
      const len = r.u32(at + NLMSGHDR.nlmsg_len);
      if (len < NLMSGHDR.size || at + len > reply.length) break;
      const m = at + BODY;
      const end = at + len;
      for (let z = at + NLMSGHDR.nlmsg_seq; z < at + NLMSGHDR.size; z++) reply[z] = 0; // seq, port id: this query's, not the sockets'
      if (r.u16(at + NLMSGHDR.nlmsg_type) === SOCK_DIAG_BY_FAMILY) {
        if (kind === 'unix') {
          if (end - m >= UNIX_DIAG_MSG.size) {
            const type = reply[m + UNIX_DIAG_MSG.udiag_type];
            const state = reply[m + UNIX_DIAG_MSG.udiag_state];
            let named = false;
            for (let p = m + UNIX_DIAG_MSG.size; p + RTATTR.size <= end;) {
              const alen = r.u16(p + RTATTR.rta_len);
              if (alen < RTATTR.size || p + alen > end) break;
              if ((r.u16(p + RTATTR.rta_type) & 0x3fff) === UNIX_DIAG_NAME && alen > RTATTR.size) { named = true; break; }
              p += align4(alen);
            }
            if (named && (state === 10 || state === 7 || type === 2)) { kept.push(at, end); inodes.push(r.u32(m + UNIX_DIAG_MSG.udiag_ino)); }
          }
        } else if (kind === 'packet') {
          if (end - m >= PACKET_DIAG_MSG.size) inodes.push(r.u32(m + PACKET_DIAG_MSG.pdiag_ino));
        } else if (end - m >= INET_DIAG_MSG.size) {
          reply[m + INET_DIAG_MSG.idiag_timer] = 0; reply[m + INET_DIAG_MSG.idiag_retrans] = 0;
          for (let z = m + INET_DIAG_MSG.idiag_expires; z < m + INET_DIAG_MSG.idiag_uid; z++) reply[z] = 0; // expires, rqueue, wqueue
          const ino = r.u32(m + INET_DIAG_MSG.idiag_inode);
          const sport = m + INET_DIAG_MSG.id + INET_DIAG_SOCKID.idiag_sport;
          if (ino !== 0 && !(udp && reply[sport] === 0 && reply[sport + 1] === 0)) inodes.push(ino);
        }
      }
      at += align4(len);
    }
    if (kind !== 'unix') { bytes.push(reply); continue; }
    let size = 0;
    for (let k = 0; k < kept.length; k += 2) size += kept[k + 1] - kept[k];
    const out = Buffer.allocUnsafe(size);
    for (let k = 0, to = 0; k < kept.length; k += 2) to += reply.copy(out, to, kept[k], kept[k + 1]);
    bytes.push(out);
  }
  return { bytes, inodes, fallback };
}
