// Sockets from the kernel's sock_diag over netlink (what `ss` reads): every field separately, so
// no name can imitate a record, and with what /proc/net/* does not print (the bound device,
// IPV6_V6ONLY). The native part (sockdiag.c) only opens the netlink socket inside the namespace
// and moves bytes; requests are built and replies parsed here. A kind the kernel cannot dump
// (raw_diag not built or loaded, say) is named in `fallback` for the caller to read from /proc.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import type { Socket } from '../../types.js';
import { formatIPv6 } from '../addresses.js';

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
const UDIAG_SHOW_UID = 0x40;
const UNIX_DIAG_NAME = 0;
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
  w32(buf.length, 0);
  w16(type, 4);
  w16(NLM_F_REQUEST | NLM_F_DUMP, 6);
  w32(seq, 8);
  w32(0, 12);
}

function u32(buf: Buffer, value: number, at: number): void {
  if (LE) buf.writeUInt32LE(value >>> 0, at); else buf.writeUInt32BE(value >>> 0, at);
}

/** inet_diag_req_v2: family, protocol, ext, pad, states, then an all-zero inet_diag_sockid. */
function inetRequest(family: number, protocol: number, states: number, seq: number): Buffer {
  const buf = Buffer.alloc(16 + 56);
  header(buf, SOCK_DIAG_BY_FAMILY, seq);
  buf[16] = family;
  buf[17] = protocol;
  u32(buf, states, 20);
  return buf;
}

function unixRequest(seq: number): Buffer {
  const buf = Buffer.alloc(16 + 24);
  header(buf, SOCK_DIAG_BY_FAMILY, seq);
  buf[16] = AF_UNIX;
  u32(buf, 0xffffffff, 20); // every state
  u32(buf, UDIAG_SHOW_NAME | UDIAG_SHOW_UID, 28);
  return buf;
}

function packetRequest(seq: number): Buffer {
  const buf = Buffer.alloc(16 + 20); // packet_diag_req: family, protocol, pad, ino, show, cookie[2]
  header(buf, SOCK_DIAG_BY_FAMILY, seq);
  buf[16] = AF_PACKET;
  u32(buf, PACKET_SHOW_INFO, 24);
  return buf;
}

function linkRequest(seq: number): Buffer {
  const buf = Buffer.alloc(16 + 16);
  header(buf, RTM_GETLINK, seq);
  return buf; // ifinfomsg all zero: every family, every link
}

/** The kernel's state filter for a kind: only the states the caller keeps are dumped at all. */
function stateMask(kind: 'tcp' | 'udp' | 'raw', keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): number {
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
  for (let at = 0; at + 16 <= buf.length; ) {
    const len = r.u32(at);
    if (len < 16 || at + len > buf.length) break;
    if (r.u16(at + 4) === type) visit(at + 16, at + len);
    at += align4(len);
  }
}

/** Each rtattr in [start, end): type, payload offset, payload length. */
function eachAttribute(buf: Buffer, start: number, end: number, visit: (type: number, at: number, len: number) => void): void {
  const r = reader(buf);
  for (let at = start; at + 4 <= end; ) {
    const len = r.u16(at);
    if (len < 4 || at + len > end) break;
    visit(r.u16(at + 2) & 0x3fff, at + 4, len - 4);
    at += align4(len);
  }
}

// few distinct addresses over many sockets: each formatted once (keyed by its raw bytes)
const formatted = new Map<string, string>();
function address(buf: Buffer, at: number, v6: boolean): string {
  const key = buf.toString('latin1', at, at + (v6 ? 16 : 4));
  let text = formatted.get(key);
  if (text === undefined) {
    const bytes = [...buf.subarray(at, at + (v6 ? 16 : 4))];
    text = v6 ? formatIPv6(bytes) : bytes.join('.');
    if (formatted.size < 4096) formatted.set(key, text);
  }
  return text;
}

/**
 * `states`: the states to make sockets of (a bit each); `saw` is told the inode of every socket in
 * the reply, so a dump of every state only for `saw` costs no object per dropped socket.
 */
function parseInet(buf: Buffer, kind: 'tcp' | 'udp' | 'raw', v6: boolean, netns: number, ifNames: Map<number, string>,
  out: Socket[], keep: ((s: Socket) => boolean) | undefined, states: number, saw?: (inode: number) => void): void {
  const r = reader(buf);
  eachMessage(buf, SOCK_DIAG_BY_FAMILY, (m, end) => {
    if (end - m < 72) return;
    const inode = r.u32(m + 68);
    if (inode === 0) return; // a request or TIME_WAIT mini-socket: no socket behind it (as /proc shows 0)
    saw?.(inode);
    if (buf[m + 1] > 31 || (states & (1 << buf[m + 1])) === 0) return;
    const ifindex = r.u32(m + 40);
    const s: Socket = {
      kind, family: v6 ? 'inet6' : 'inet', netns, inode, state: stateName(kind, buf[m + 1]),
      localAddress: address(buf, m + 8, v6), localPort: r.be16(m + 4),
      remoteAddress: address(buf, m + 24, v6), remotePort: r.be16(m + 6),
      uid: r.u32(m + 64), user: null, owners: [],
      device: ifindex === 0 ? null : ifNames.get(ifindex) ?? `if${ifindex}`,
    };
    if (v6) {
      eachAttribute(buf, m + 72, end, (type, at, len) => {
        if (type === INET_DIAG_SKV6ONLY && len >= 1) s.v6only = buf[at] !== 0;
      });
    }
    if (!keep || keep(s)) out.push(s);
  });
}

const UNIX_TYPES: Socket['socketType'][] = [undefined, 'stream', 'dgram', 'raw', 'rdm', 'seqpacket'];
function unixState(st: number): string {
  return st === 10 ? 'LISTEN' : st === 7 ? 'UNCONN' : st === 1 ? 'CONN' : st === 2 ? 'CONNECTING' : `UNKNOWN(${hex2(st)})`;
}

function parseUnix(buf: Buffer, netns: number, out: Socket[], keep?: (s: Socket) => boolean, saw?: (inode: number) => void): void {
  const r = reader(buf);
  eachMessage(buf, SOCK_DIAG_BY_FAMILY, (m, end) => {
    if (end - m < 16) return;
    saw?.(r.u32(m + 4));
    const s: Socket = {
      kind: 'unix', family: 'unix', netns, inode: r.u32(m + 4), state: unixState(buf[m + 2]),
      localAddress: '', localPort: 0, remoteAddress: '', remotePort: 0,
      socketType: UNIX_TYPES[buf[m + 1]], uid: -1, user: null, owners: [],
    };
    eachAttribute(buf, m + 16, end, (type, at, len) => {
      if (type === UNIX_DIAG_NAME && len > 0) {
        // abstract: a NUL, then bytes (NULs included) as they are; a path ends at its NUL
        if (buf[at] === 0) s.localAddress = '@' + buf.toString('latin1', at + 1, at + len);
        else {
          const nul = buf.indexOf(0, at);
          s.localAddress = buf.toString('latin1', at, nul >= 0 && nul < at + len ? nul : at + len);
        }
      } else if (type === UNIX_DIAG_UID && len >= 4) s.uid = r.u32(at);
    });
    if (!keep || keep(s)) out.push(s);
  });
}

function parsePacket(buf: Buffer, netns: number, ifNames: Map<number, string>, out: Socket[], keep?: (s: Socket) => boolean, saw?: (inode: number) => void): void {
  const r = reader(buf);
  eachMessage(buf, SOCK_DIAG_BY_FAMILY, (m, end) => {
    if (end - m < 16) return;
    saw?.(r.u32(m + 4));
    const type = buf[m + 1];
    let ifindex = 0;
    let uid = -1;
    eachAttribute(buf, m + 16, end, (t, at, len) => {
      if (t === PACKET_DIAG_INFO && len >= 4) ifindex = r.u32(at);
      else if (t === PACKET_DIAG_UID && len >= 4) uid = r.u32(at);
    });
    const s: Socket = {
      kind: 'packet', family: 'packet', netns, inode: r.u32(m + 4), state: 'UNCONN',
      localAddress: ifindex === 0 ? '*' : ifNames.get(ifindex) ?? `if${ifindex}`,
      localPort: r.u16(m + 2), remoteAddress: '', remotePort: 0,
      socketType: type === 3 ? 'raw' : type === 2 ? 'dgram' : undefined, uid, user: null, owners: [],
    };
    if (!keep || keep(s)) out.push(s);
  });
}

function parseLinks(buf: Buffer): Map<number, string> {
  const names = new Map<number, string>();
  const r = reader(buf);
  eachMessage(buf, RTM_NEWLINK, (m, end) => {
    if (end - m < 16) return;
    const index = r.u32(m + 4);
    eachAttribute(buf, m + 16, end, (type, at, len) => {
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

/**
 * Every socket of the namespace that `nsFile` (/proc/<pid>/ns/net, an nsfs mount) names, if it
 * still is the namespace `inode`; null when netlink cannot be used there at all (no addon, not a
 * namespace file, gone), so the caller reads /proc for everything. `keepState` lets the kernel
 * drop unwanted states; with `saw`, every state is dumped (saw is told each inode) and only the
 * wanted ones become sockets. One dump at a time, each parsed and let go before the next: at 100k
 * sockets the TCP dump of every state is ~4 MB per family, held twice (the addon's, node's copy).
 */
export function readNetlinkTables(nsFile: string, inode: number, keep?: (s: Socket) => boolean,
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean, saw?: (inode: number) => void): NetlinkTables | null {
  const a = netlinkAddon();
  if (a === null) return null;
  let ifNames: Map<number, string>;
  const dump = (protocol: number, request: Buffer, keepStates?: number): Buffer & { dropped?: Uint32Array } | number =>
    a.query(nsFile, inode, protocol, [request], keepStates === undefined ? undefined : [keepStates])[0];
  try {
    const links = dump(NETLINK_ROUTE, linkRequest(1));
    ifNames = links instanceof Buffer ? parseLinks(links) : new Map<number, string>();
  } catch {
    return null; // not a namespace file, or not this namespace any more
  }
  const sockets: Socket[] = [];
  const fallback: ProcTable[] = [];
  try {
    for (let i = 0; i < INET.length; i++) {
      const t = INET[i];
      const states = stateMask(t.kind, keepState);
      // with saw: every state dumped, but the unwanted ones come back as bare inodes (reply.dropped)
      const reply = dump(NETLINK_SOCK_DIAG, inetRequest(t.v6 ? AF_INET6 : AF_INET, IPPROTO[t.kind], saw ? 0xffffffff : states, 2 + i), saw ? states : undefined);
      if (!(reply instanceof Buffer)) { fallback.push(t.file); continue; }
      const dropped = reply.dropped;
      if (saw && dropped) for (let k = 0; k < dropped.length; k++) saw(dropped[k]);
      parseInet(reply, t.kind, t.v6, inode, ifNames, sockets, keep, states, saw);
    }
    const unix = dump(NETLINK_SOCK_DIAG, unixRequest(10));
    if (unix instanceof Buffer) parseUnix(unix, inode, sockets, keep, saw); else fallback.push('unix');
    const packet = dump(NETLINK_SOCK_DIAG, packetRequest(11));
    if (packet instanceof Buffer) parsePacket(packet, inode, ifNames, sockets, keep, saw); else fallback.push('packet');
  } catch {
    return null; // the namespace went away between two dumps: read from /proc
  }
  return { sockets, fallback };
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
    for (let at = 0; at + 16 <= reply.length;) {
      const len = r.u32(at);
      if (len < 16 || at + len > reply.length) break;
      const m = at + 16;
      const end = at + len;
      for (let z = at + 8; z < at + 16; z++) reply[z] = 0; // seq, port id: this query's, not the sockets'
      if (r.u16(at + 4) === SOCK_DIAG_BY_FAMILY) {
        if (kind === 'unix') {
          if (end - m >= 16) {
            const type = reply[m + 1];
            const state = reply[m + 2];
            let named = false;
            for (let p = m + 16; p + 4 <= end;) {
              const alen = r.u16(p);
              if (alen < 4 || p + alen > end) break;
              if ((r.u16(p + 2) & 0x3fff) === UNIX_DIAG_NAME && alen > 4) { named = true; break; }
              p += align4(alen);
            }
            if (named && (state === 10 || state === 7 || type === 2)) { kept.push(at, end); inodes.push(r.u32(m + 4)); }
          }
        } else if (kind === 'packet') {
          if (end - m >= 16) inodes.push(r.u32(m + 4));
        } else if (end - m >= 72) {
          reply[m + 2] = 0; reply[m + 3] = 0; // timer, retransmits
          for (let z = m + 52; z < m + 64; z++) reply[z] = 0; // expires, rqueue, wqueue
          const ino = r.u32(m + 68);
          if (ino !== 0 && !(udp && reply[m + 4] === 0 && reply[m + 5] === 0)) inodes.push(ino);
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
