// collect: what the kernel says now, read-only from a /proc root given as a parameter.
//
// The correlation (as ss -p, lsof and osquery's process_open_sockets do it), in three steps:
//  1. every pid: its network namespace (/proc/<pid>/ns/net) and its socket fds
//     (/proc/<pid>/fd/* -> 'socket:[inode]'), giving namespace -> pids and inode -> pids;
//  2. every namespace: its socket tables, read once through the first pid seen in it
//     (/proc/<pid>/net/* shows that pid's namespace);
//  3. every socket: its owners, by inode; owner details are read once per pid, only for pids
//     that hold a socket.
import * as fs from 'node:fs';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Collection, Owner, Socket } from '../types.js';
import {
  listPids, readBootClock, readNetns, readOwner, readUsers,
} from './processes.js';
import { containerNames, type ContainerDirs } from './containers.js';
import { socketInodesOf, startFdScan } from './fds.js';
import { labelNamespaces } from './namespaces.js';
import { TABLES, parseInetTable, parseInterfaceNames, parsePacketTable, parseUnixTable } from './tables.js';
import { readNetlinkTables, type NetlinkTables, type ProcTable } from './netlink/index.js';
import { unixSocketCount } from './unix-ambiguity.js';

export interface CollectOptions {
  procRoot?: string; // default /proc
  passwdPath?: string; // default /etc/passwd
  netnsDir?: string; // where `ip netns` binds named namespaces; default /run/netns
  /** keep only these sockets (the snapshot's selection); default: every socket */
  keep?: (s: Socket) => boolean;
  /** the same selection by TCP/UDP/raw state alone, checked before a socket is even parsed */
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean;
  /** where container runtimes keep their state, for stable container names (containers.ts) */
  containerDirs?: ContainerDirs;
  /** read fd links in a worker while the tables are read: default when the host has many open files */
  parallel?: boolean;
}

export function collect(options: CollectOptions = {}): Collection {
  const procRoot = options.procRoot ?? '/proc';
  const stats = { processes: 0, namespaces: 0, sockets: 0, unreadable: 0, vanished: 0 };

  // step 1: the network namespace of every process
  const nsPids = new Map<number, number[]>();
  for (const pid of listPids(procRoot)) {
    const ns = readNetns(procRoot, pid);
    if (!ns.ok) { ns.gone ? stats.vanished++ : stats.unreadable++; continue; }
    const list = nsPids.get(ns.value);
    if (list) list.push(pid); else nsPids.set(ns.value, [pid]);
  }
  // the host's namespace is pid 1's; when pid 1 is not readable (a sandbox), kthreadd's (pid 2, a
  // kernel thread: always in the initial namespace); our own only as a last resort, since lsm may
  // itself run inside another namespace (ip netns exec)
  const init = readNetns(procRoot, 1);
  const kthreadd = init.ok ? init : readNetns(procRoot, 2);
  const selfNs = readNetns(procRoot, 'self');
  const hostInode = kthreadd.ok ? kthreadd.value : selfNs.ok ? selfNs.value : -1;
  if (!nsPids.has(hostInode)) nsPids.set(hostInode, []); // read through /proc/self below
  const fdScan = startFdScan(procRoot, [...nsPids.values()].flat(), options.parallel);

  // step 2: each namespace's tables, once; sockets the caller does not want are dropped here, so
  // they cost neither memory nor owner lookups (at 100k sockets: 58 -> 23 MiB of heap)
  const sockets: Socket[] = [];
  const readable: number[] = [];
  for (const [inode, pids] of nsPids) {
    const via = inode === hostInode ? [...pids, 'self' as const] : pids;
    const found = readNamespaceTables(procRoot, inode, via, options.keep, options.keepState);
    if (found === null) continue; // every process in it exited while we read
    readable.push(inode);
    for (let i = 0; i < found.length; i++) sockets.push(found[i]);
  }
  const byInode = new Map<number, Socket>();
  for (let i = 0; i < sockets.length; i++) byInode.set(sockets[i].inode, sockets[i]);

  // owner details: read once per pid, only for pids that hold one of the sockets above
  const users = readUsers(options.passwdPath ?? '/etc/passwd');
  const clock = readBootClock(procRoot);
  const details = new Map<number, Owner | null>();
  const ownerOf = (pid: number): Owner | null => {
    let o = details.get(pid);
    if (o === undefined) {
      o = readOwner(procRoot, pid, users, clock);
      if (o === null) stats.vanished++;
      details.set(pid, o);
    }
    return o;
  };

  // step 3: socket fds of every process (read by the worker meanwhile, or now) give each socket
  // above its owners
  const scanned = fdScan?.finish(byInode) ?? null;
  for (const pids of nsPids.values()) {
    for (const pid of pids) {
      const fds = scanned?.get(pid) ?? socketInodesOf(fs, `${procRoot}/${pid}/fd`, byInode);
      if (fds === 'gone') { stats.vanished++; continue; }
      stats.processes++;
      if (fds === 'unreadable') { stats.unreadable++; continue; } // its sockets stay in the tables, owner unknown
      // indexed loops over the big arrays here: collect runs once, mostly unoptimized, where for-of
      // allocates an iterator result per element (100k sockets: 7 MiB)
      for (let i = 0; i < fds.length; i++) {
        const s = byInode.get(fds[i]);
        if (s === undefined) continue;
        const o = ownerOf(pid);
        if (o === null || s.owners.includes(o)) continue;
        // the first as a one-element literal: a pushed-to empty array reserves 17 slots (100k sockets: -3 MiB)
        if (s.owners.length === 0) s.owners = [o];
        else s.owners.push(o);
      }
    }
  }
  for (let i = 0; i < sockets.length; i++) {
    const s = sockets[i];
    if (s.uid >= 0) s.user = users.get(s.uid) ?? String(s.uid);
  }

  const namespaces = labelNamespaces(procRoot, readable, hostInode, nsPids, options.netnsDir ?? '/run/netns', [], ownerOf, containerNames(options.containerDirs));
  stats.namespaces = namespaces.length;
  stats.sockets = sockets.length;
  return { namespaces, sockets, stats };
}

function readTable(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw err;
  }
}

/**
 * Read a table in 64 KiB pieces cut at line ends, decoding each piece once: /proc/net/tcp is 15 MB
 * at 100k sockets, and read whole (or in 1 MiB strings, joined to the carried-over part line) it
 * left tens of MiB of large strings for the old generation to collect (100k sockets: peak RSS
 * -40 MiB, then -15 MiB). Pieces this small die young. Returns false when the file does not exist.
 */
function readTableChunks(path: string, parse: (text: string, header: boolean) => void): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return false;
    throw err;
  }
  try {
    let buf = Buffer.allocUnsafe(1 << 16);
    let filled = 0; // bytes of an unfinished line carried over from the last read
    let header = true;
    for (let guard = 0; guard < 1 << 20; guard++) {
      if (filled === buf.length) { const bigger = Buffer.allocUnsafe(buf.length * 2); buf.copy(bigger); buf = bigger; } // a line longer than the buffer
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) break;
      const end = filled + n;
      const cut = buf.lastIndexOf(10, end - 1) + 1;
      if (cut > 0) { parse(buf.toString('latin1', 0, cut), header); header = false; }
      filled = end - cut;
      buf.copy(buf, 0, cut, end);
    }
    if (filled > 0) parse(buf.toString('latin1', 0, filled), header);
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * All tables of one namespace through the first pid that is still there; null if none is. From
 * netlink (collect/netlink/) where it can, and from the /proc text for what it cannot.
 */
function readNamespaceTables(procRoot: string, inode: number, via: (number | 'self')[], keep?: (s: Socket) => boolean,
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): Socket[] | null {
  // any pid's namespace file will do (a run without root may open only its own)
  let nl: NetlinkTables | null = null;
  for (let i = 0; i < via.length && nl === null; i++) nl = readNetlinkTables(`${procRoot}/${via[i]}/ns/net`, inode, keep, keepState);
  if (nl !== null && nl.fallback.length === 0) return nl.sockets;
  for (const pid of via) {
    const sockets = readProcTables(`${procRoot}/${pid}/net`, inode, nl === null ? null : new Set(nl.fallback), keep, keepState);
    if (sockets !== null) return nl === null ? sockets : nl.sockets.concat(sockets);
  }
  return nl === null ? null : nl.sockets;
}

/** The /proc/<pid>/net text tables named in `only` (null: all of them); null if not readable there. */
function readProcTables(dir: string, inode: number, only: Set<ProcTable> | null, keep?: (s: Socket) => boolean,
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): Socket[] | null {
  let unix: string | null;
  let before: string | null;
  let after: string | null;
  try {
    // the kernel's count of unix sockets on both sides of the table: the table holds no more
    before = readTable(`${dir}/protocols`);
    unix = readTable(`${dir}/unix`);
    after = readTable(`${dir}/protocols`);
  } catch {
    return null; // not readable through this pid: try the next
  }
  if (unix === null) return null; // the process exited
  const sockets: Socket[] = [];
  try {
    for (const t of TABLES) {
      if (only && !only.has(t.file as ProcTable)) continue;
      // tcp6 etc. are absent when IPv6 is off
      readTableChunks(`${dir}/${t.file}`, (text, header) => {
        for (const s of parseInetTable(text, t.kind, t.v6, inode, header, keepState).sockets) if (!keep || keep(s)) sockets.push(s);
      });
    }
    if (!only || only.has('unix')) {
      const counts = [before, after].map((p) => (p === null ? null : unixSocketCount(p)));
      const count = counts[0] === null || counts[1] === null ? null : Math.max(counts[0], counts[1]);
      for (const s of parseUnixTable(unix, inode, count).sockets) if (s.ambiguous || !keep || keep(s)) sockets.push(s);
    }
    const packet = !only || only.has('packet') ? readTable(`${dir}/packet`) : null;
    if (packet !== null) {
      const names = parseInterfaceNames(readTable(`${dir}/if_inet6`) ?? '', readTable(`${dir}/igmp`) ?? '', readTable(`${dir}/dev_mcast`) ?? '');
      for (const s of parsePacketTable(packet, inode, names).sockets) if (!keep || keep(s)) sockets.push(s);
    }
  } catch {
    return null;
  }
  return sockets;
}
