// Parsers for the socket tables of one network namespace: /proc/<pid>/net/{tcp,tcp6,udp,udp6,
// raw,raw6,unix,packet}. Pure functions of the file text (latin1, so bytes survive), so fixtures
// can feed them exact, hostile and broken input. A line that cannot be parsed is counted, not fatal.
import type { Socket } from '../types.js';
import { parseHexIPv4, parseHexIPv6 } from './addresses.js';
import { resolveUnixRecords, type UnixRecord } from './unix-ambiguity.js';

export interface ParsedTable {
  sockets: Socket[];
  malformed: number;
}

// by the state's number, as the kernel prints it in hex (include/net/tcp_states.h)
const TCP_STATES: (string | undefined)[] = [
  undefined, 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
];

/** The value of a hex digit's char code; -256 for anything else, so a pair with one is negative. */
function hexDigit(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -256;
}

function lines(text: string): string[] {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const all = body.split('\n');
  return all.slice(1); // header
}

/**
 * tcp, tcp6, udp, udp6, raw, raw6: the same columns. Walked field by field without splitting the
 * text into line and field arrays: at 100k sockets that garbage was most of the scan's memory.
 */
export function parseInetTable(text: string, kind: 'tcp' | 'udp' | 'raw', v6: boolean, netns: number, header = true,
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean, saw?: (inode: number) => void): ParsedTable {
  const sockets: Socket[] = [];
  let malformed = 0;
  const parseAddr = v6 ? parseHexIPv6 : parseHexIPv4;
  const n = text.length;
  let pos = header ? text.indexOf('\n') + 1 : 0;
  if (header && pos === 0) return { sockets, malformed };
  const starts = new Int32Array(10);
  const ends = new Int32Array(10);
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    // where the first ten space-separated fields of the line are; strings only for what is used
    let f = 0;
    let i = pos;
    while (f < 10 && i < end) {
      while (i < end && text.charCodeAt(i) === 32) i++;
      if (i >= end) break;
      starts[f] = i;
      while (i < end && text.charCodeAt(i) !== 32) i++;
      ends[f++] = i;
    }
    pos = end + 1;
    if (f === 0) continue; // an empty line
    // the state from its two hex digits, without a string per line (most lines are dropped here)
    const st = f >= 4 && ends[3] - starts[3] === 2 ? (hexDigit(text.charCodeAt(starts[3])) << 4) | hexDigit(text.charCodeAt(starts[3] + 1)) : -1;
    if (f < 10 || st < 0) { malformed++; continue; }
    let state: string;
    if (kind === 'tcp') state = TCP_STATES[st] ?? `UNKNOWN(${text.slice(starts[3], ends[3]).toUpperCase()})`;
    else state = st === 7 ? 'UNCONN' : st === 1 ? 'ESTAB' : `UNKNOWN(${text.slice(starts[3], ends[3]).toUpperCase()})`;
    // a socket the caller drops (an established connection, by default) costs nothing more
    if (keepState && !keepState(kind, state)) {
      if (saw) { const ino = decimalAt(text, starts[9], ends[9]); if (ino >= 0) saw(ino); } // known, only not wanted
      continue;
    }
    // addresses as strings (they key the formatted-address cache), numbers read in place
    const lc = text.indexOf(':', starts[1]);
    const rc = text.indexOf(':', starts[2]);
    const localAddress = lc > starts[1] && lc < ends[1] ? parseAddr(text.slice(starts[1], lc)) : null;
    const remoteAddress = rc > starts[2] && rc < ends[2] ? parseAddr(text.slice(starts[2], rc)) : null;
    const localPort = localAddress === null ? -1 : hex4At(text, lc + 1, ends[1]);
    const remotePort = remoteAddress === null ? -1 : hex4At(text, rc + 1, ends[2]);
    const uid = decimalAt(text, starts[7], ends[7]);
    const inode = decimalAt(text, starts[9], ends[9]);
    if (text.charCodeAt(ends[0] - 1) !== 58 /* 'sl:' */ || localAddress === null || remoteAddress === null || localPort < 0 || remotePort < 0 || uid < 0 || inode < 0) { malformed++; continue; }
    saw?.(inode);
    sockets.push({
      kind, family: v6 ? 'inet6' : 'inet', netns, inode, state,
      localAddress, localPort, remoteAddress, remotePort, uid, user: null, owners: [],
    });
  }
  return { sockets, malformed };
}

/** Exactly four hex digits at [start, end) as a number; -1 otherwise. */
function hex4At(text: string, start: number, end: number): number {
  if (end - start !== 4) return -1;
  let v = 0;
  for (let i = start; i < end; i++) v = (v << 4) | hexDigit(text.charCodeAt(i));
  return v < 0 ? -1 : v;
}

/** Decimal digits at [start, end) as a number (at most 15 of them); -1 otherwise. */
function decimalAt(text: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

const UNIX_TYPES: Record<string, Socket['socketType']> = { '0001': 'stream', '0002': 'dgram', '0005': 'seqpacket', '0004': 'rdm', '0003': 'raw' };
const ACCEPTCON = 0x10000;
// One record: "%pK: %08X %08X %08X %04X %02X %5lu" then " path" when bound.
const UNIX_RECORD = /^[0-9a-f]+: ([0-9A-F]{8}) ([0-9A-F]{8}) ([0-9A-F]{8}) ([0-9A-F]{4}) ([0-9A-F]{2}) +(\d+)/;

/**
 * /proc/net/unix prints bound paths raw, so a path may hold newlines: a line that does not
 * start a record continues the path of the record before it, and a line that does may still be
 * one (collect/unix-ambiguity.ts decides, given the kernel's count of unix sockets). Abstract
 * names start with '@' and show NUL bytes as '@'.
 */
export function parseUnixTable(text: string, netns: number, kernelCount: number | null = null): ParsedTable {
  const records: UnixRecord[] = [];
  let malformed = 0;
  let last: UnixRecord | null = null;
  for (const line of lines(text)) {
    const m = UNIX_RECORD.exec(line);
    // a line that is no record (or junk after the inode) continues the name before it
    if (!m || (line.length > m[0].length && line.charCodeAt(m[0].length) !== 32)) {
      if (last && last.socket.localAddress !== '') { last.socket.localAddress += '\n' + line; last.text += '\n' + line; }
      else if (line.trim()) malformed++;
      continue;
    }
    const mayContinue: boolean = last !== null && last.socket.localAddress !== '';
    const flags = parseInt(m[3], 16);
    const type = UNIX_TYPES[m[4]];
    const st = m[5];
    const path = line.slice(m[0].length + 1);
    const state = flags & ACCEPTCON ? 'LISTEN' : st === '01' ? 'UNCONN' : st === '03' ? 'CONN' : st === '02' ? 'CONNECTING' : `UNKNOWN(${st})`;
    const socket: Socket = {
      kind: 'unix', family: 'unix', netns, inode: Number(m[6]), state,
      localAddress: path, localPort: 0, remoteAddress: '', remotePort: 0,
      socketType: type ?? 'stream', uid: -1, user: null, owners: [],
    };
    if (!type) { malformed++; socket.socketType = undefined; }
    last = { socket, text: line, mayContinue };
    records.push(last);
  }
  return { sockets: resolveUnixRecords(records, netns, kernelCount), malformed };
}

/** /proc/net/packet: sk RefCnt Type Proto Iface R Rmem User Inode. Interface names come from ifNames. */
export function parsePacketTable(text: string, netns: number, ifNames: Map<number, string>): ParsedTable {
  const sockets: Socket[] = [];
  let malformed = 0;
  for (const line of lines(text)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 9 || !/^[0-9a-fA-F]+$/.test(f[0]) || !/^[0-9a-fA-F]+$/.test(f[3])) { if (line.trim()) malformed++; continue; }
    const type = Number(f[2]);
    const proto = parseInt(f[3], 16);
    const ifindex = Number(f[4]);
    const uid = Number(f[7]);
    const inode = Number(f[8]);
    if (![type, ifindex, uid, inode].every(Number.isInteger)) { malformed++; continue; }
    sockets.push({
      kind: 'packet', family: 'packet', netns, inode, state: 'UNCONN',
      localAddress: ifindex === 0 ? '*' : ifNames.get(ifindex) ?? `if${ifindex}`,
      localPort: proto, remoteAddress: '', remotePort: 0,
      socketType: type === 3 ? 'raw' : type === 2 ? 'dgram' : undefined, uid, user: null, owners: [],
    });
  }
  return { sockets, malformed };
}

/**
 * Interface index -> name for one namespace, from the tables that print both (if_inet6, igmp,
 * dev_mcast); /sys/class/net would show the reader's namespace, not the socket's.
 */
export function parseInterfaceNames(ifInet6: string, igmp: string, devMcast: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of ifInet6.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 6 && /^[0-9a-f]+$/.test(f[1])) names.set(parseInt(f[1], 16), f[5]);
  }
  for (const line of igmp.split('\n')) {
    const m = /^(\d+)\s+(\S+)\s*:/.exec(line);
    if (m) names.set(Number(m[1]), m[2]);
  }
  for (const line of devMcast.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 2 && /^\d+$/.test(f[0])) names.set(Number(f[0]), f[1]);
  }
  return names;
}

/** Socket inodes of a table lsm does not record (netlink): the last field of each line. */
export function parseInodesOnly(text: string, saw: (inode: number) => void): void {
  for (const line of lines(text)) {
    const m = /(\d+)\s*$/.exec(line);
    if (m) saw(Number(m[1]));
  }
}

// icmp, icmp6: ICMP datagram ("ping") sockets, the udp columns with the echo id as port; recorded
// as raw sockets of type dgram, the protocol as their port (the id is chosen per run)
export const TABLES: { file: string; kind: 'tcp' | 'udp' | 'raw'; v6: boolean; ping?: boolean }[] = [
  { file: 'tcp', kind: 'tcp', v6: false }, { file: 'tcp6', kind: 'tcp', v6: true },
  { file: 'udp', kind: 'udp', v6: false }, { file: 'udp6', kind: 'udp', v6: true },
  { file: 'raw', kind: 'raw', v6: false }, { file: 'raw6', kind: 'raw', v6: true },
  { file: 'icmp', kind: 'raw', v6: false, ping: true }, { file: 'icmp6', kind: 'raw', v6: true, ping: true },
];

const VMADDR_ANY = 0xffffffff; // VMADDR_CID_ANY, VMADDR_PORT_ANY
const AF_VSOCK = 40;

/**
 * What a vsock socket's line says (index.ts: a socket in no table, looked at through a copy of its
 * holder's fd): 'vsock/stream/*:5555' for a listener, 'vsock/stream/2:5555/bound' for a socket bound
 * and not listening (as `ss --vsock` writes the address: '*' for any CID); null for a connected or
 * unbound one (its port is ephemeral or none: the line stays 'vsock/stream', one a program).
 */
export function vsockEndpoint(s: { domain: number; type: number; vsockCid?: number; vsockPort?: number; vsockState?: number }, type: string): string | null {
  if (s.domain !== AF_VSOCK || s.vsockPort === undefined || s.vsockPort === VMADDR_ANY || s.vsockState === 2) return null;
  const cid = s.vsockCid === VMADDR_ANY ? '*' : String(s.vsockCid);
  return `vsock/${type}/${cid}:${s.vsockPort}${s.vsockState === 1 ? '' : '/bound'}`;
}
