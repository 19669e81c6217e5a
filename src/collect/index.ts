// collect: what the kernel says now, read-only from a /proc root given as a parameter.
//
// The correlation (as ss -p, lsof and osquery's process_open_sockets do it), in three steps:
//  1. every pid: its network namespace (/proc/<pid>/ns/net) and its socket fds
//     (/proc/<pid>/fd/* -> 'socket:[inode]'), giving namespace -> pids and inode -> pids;
//  2. every namespace: its socket tables, read once through the first pid seen in it
//     (/proc/<pid>/net/* shows that pid's namespace), or, for a namespace no process is in but an
//     nsfs mount holds (ip netns add, runtimes' netns files: namespaces.ts), through a short-lived
//     process started inside it;
//  3. every socket: its owners, by inode; owner details are read once per pid, only for pids
//     that hold a socket;
//  4. a socket fd whose inode is in no table read: a copy of the fd (pidfd_getfd) names the
//     socket's own namespace (SIOCGSKNS). One that nothing else leads to (no process, no mount:
//     only sockets hold it) is read through that, like any other. A TCP/UDP socket with no table
//     entry in a namespace read has no endpoint (never bound, or closed) and is not recorded, as
//     `ss -a` shows none. Whatever is left (no way to look: the /proc fallback, a kernel before 5.6;
//     a family with no table) is kept as an 'unattributed' socket, with its owner.
//  A socket held in an io_uring's fixed-file table has no fd link: the fd walk reads it from the
//  ring's fdinfo (io-uring.ts), and a namespace only such a socket holds is read through the ring
//  holder's own threads (an SQPOLL ring's thread stays where the ring was made), else it is an
//  'io_uring' unattributed line.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Collection, Owner, Socket } from '../types.js';
import {
  cgroupContainers, listPids, NOT_AT_PATH, pathLeadsTo, readBootClock, readNetns, readOwner, readUsers,
} from './processes.js';
import { containerNames, type ContainerDirs } from './containers.js';
import { socketFds, socketInodesOf, startFdScan, walkFds, walkResults, type FdResult } from './fds.js';
import { nameRingHeld, ringHeldStrays, ringThreadDoors } from './io-uring.js';
import { queuesCarryingFds, stillCarrying, unixFdsOf } from './in-flight.js';
import { heldNamespaceDoors, hiddenProcesses, labelNamespaces, nsfsMounts, openNsfs, type NsfsMount } from './namespaces.js';
import { TABLES, parseInetTable, parseInodesOnly, parseInterfaceNames, parsePacketTable, parseUnixTable, vsockEndpoint } from './tables.js';
import { inspectHeldSockets, readNetlinkTables, readUnkeptInodes, sortedHas, type HeldSocket, type NetlinkTables, type ProcTable } from './netlink/index.js';
import { ipProtocolName } from './addresses.js';
import { unixSocketCount } from './unix-ambiguity.js';
import { threadCount, threadsApart, type ApartThread } from './threads.js';

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
  /** read fd links through the kernel's BPF iterator (fds.ts): default when the host has many open files */
  bpf?: boolean;
  /**
   * where the cgroup hierarchies are mounted, to tell a container's cgroup from one a user made
   * (processes.ts cgroupContainers); default /sys/fs/cgroup, or sys/fs/cgroup beside a /proc root
   * that is not /proc (a fixture tree brings its own)
   */
  cgroupRoot?: string;
  /** the effective uid lsm runs as (default: its own): says why a namespace found could not be read */
  euid?: number;
}

// why the kernel refused a look, as the stderr line and the snapshot say it
const refusal = (code: string | undefined) => (code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code ?? 'not a namespace link');

export function collect(options: CollectOptions = {}): Collection {
  const procRoot = options.procRoot ?? '/proc';
  const stats: Collection['stats'] = { processes: 0, namespaces: 0, sockets: 0, unreadable: 0, vanished: 0 };
  // what could not be seen at all, and why: said on stderr, in lsm status and in the snapshot
  const unseen = { processes: 0, namespaces: 0, reasons: new Set<string>() };

  // step 1: the network namespace of every process, and one process per mount namespace (whose
  // mount table may hold nsfs mounts no other sees)
  const nsPids = new Map<number, number[]>();
  const pidNs = new Map<number, number>();
  const mntPids = new Map<number, number>();
  // threads with an fd table or a namespace their leader does not show (threads.ts)
  const apart: ApartThread[] = [];
  const threadOf = new Map<number, number>(); // such a thread -> its process
  const leaderGone = new Map<number, number>(); // a process whose leader exited -> a thread of it
  for (const pid of listPids(procRoot)) {
    const ns = readNetns(procRoot, pid);
    const threads = threadCount(procRoot, pid) > 1 || (!ns.ok && ns.gone) ? threadsApart(procRoot, pid, ns.ok ? ns.value : null) : [];
    for (const t of threads) {
      apart.push(t);
      threadOf.set(t.tid, pid);
      if (t.netns !== null || ns.ok) pidNs.set(t.tid, t.netns ?? (ns as { value: number }).value);
      if (!ns.ok) leaderGone.set(pid, t.tid);
    }
    if (!ns.ok) {
      if (threads.length > 0) continue; // a zombie leader: its threads hold it all (below)
      if (ns.gone) stats.vanished++;
      else { stats.unreadable++; unseen.processes++; unseen.reasons.add(refusal(ns.code)); }
      continue;
    }
    const list = nsPids.get(ns.value);
    if (list) list.push(pid); else nsPids.set(ns.value, [pid]);
    pidNs.set(pid, ns.value);
    const mnt = readNetns(procRoot, pid, 'mnt');
    if (mnt.ok && !mntPids.has(mnt.value)) mntPids.set(mnt.value, pid);
  }
  // the host's namespace is pid 1's; when pid 1 is not readable (a sandbox), kthreadd's (pid 2, a
  // kernel thread: always in the initial namespace); our own only as a last resort, since lsm may
  // itself run inside another namespace (ip netns exec)
  const init = readNetns(procRoot, 1);
  const kthreadd = init.ok ? init : readNetns(procRoot, 2);
  const selfNs = readNetns(procRoot, 'self');
  const hostInode = kthreadd.ok ? kthreadd.value : selfNs.ok ? selfNs.value : -1;
  if (!nsPids.has(hostInode)) nsPids.set(hostInode, []); // read through /proc/self below
  const fdScan = startFdScan(procRoot, [...nsPids.values()].flat(), options.parallel, options.bpf);

  // the ways into each namespace: its processes, else its nsfs mounts
  const mounts = nsfsMounts(procRoot, mntPids.values());
  const doors = new Map<number, Door[]>();
  for (const [inode, pids] of nsPids) doors.set(inode, inode === hostInode ? [...pids, 'self'] : [...pids]);
  for (const m of mounts) if (!nsPids.has(m.netns)) doors.set(m.netns, [...(doors.get(m.netns) ?? []), m]);
  // a namespace only threads are in: those threads are the way in (/proc/<tid>/net), before any mount
  const threadNs = new Map<number, number[]>(); // such a namespace -> the processes of its threads
  for (const t of apart) {
    if (t.netns === null) continue;
    if (nsPids.has(t.netns)) continue;
    const pids = threadNs.get(t.netns) ?? [];
    if (!pids.includes(t.pid)) { pids.push(t.pid); threadNs.set(t.netns, pids); }
    const via = doors.get(t.netns) ?? [];
    doors.set(t.netns, [t.tid, ...via]);
  }

  // step 2: each namespace's tables, once; sockets the caller does not want are dropped here, so
  // they cost neither memory nor owner lookups (at 100k sockets: 58 -> 23 MiB of heap); their
  // inodes are kept (a typed array), to tell a dropped socket from one in no table at all
  const sockets: Socket[] = [];
  const readable: number[] = [];
  // every unix socket's inode, also those not kept: a queue carrying fds may be anyone's (in-flight.ts)
  const unix = new Set<number>();
  const keep = (s: Socket) => { if (s.kind === 'unix') unix.add(s.inode); return options.keep === undefined || options.keep(s); };
  // a listener with no connection waiting carries no fds (netlink/index.ts parseUnix): not read
  const idle = (inode: number) => { unix.delete(inode); };
  const seen = new InodeList();
  // namespaces whose TCP sockets of states not kept (connections) are not dumped yet: only asked
  // for when a socket fd is in no table read (step 3), since each such dump walks every
  // namespace's connections (netlink/index.ts deferrable)
  const unkept: Unkept[] = [];
  for (const [inode, via] of doors) {
    const found = readNamespaceTables(procRoot, inode, via, { keep, keepState: options.keepState, saw: seen.add, idle, deferred: (tables) => unkept.push({ inode, via, tables }) });
    if (found === null) {
      // every process in it exited while we read (normal), or it is still there and refused us
      if (stillThere(procRoot, inode, via)) { unseen.namespaces++; unseen.reasons.add((options.euid ?? process.geteuid?.()) === 0 ? 'cannot be entered' : 'permission denied'); }
      continue;
    }
    readable.push(inode);
    for (let i = 0; i < found.length; i++) sockets.push(found[i]);
  }
  const byInode = new Map<number, Socket>();
  for (let i = 0; i < sockets.length; i++) byInode.set(sockets[i].inode, sockets[i]);
  seen.seal();
  // what the fd scan reports: sockets kept above, and sockets in no table
  const wanted = { has: (ino: number) => byInode.has(ino) || !seen.has(ino) };

  // owner details: read once per pid, only for pids that hold one of the sockets above
  const users = readUsers(options.passwdPath ?? '/etc/passwd');
  const clock = readBootClock(procRoot);
  const containerOf = cgroupContainers(options.cgroupRoot ?? (procRoot === '/proc' ? '/sys/fs/cgroup' : `${procRoot}/../sys/fs/cgroup`));
  const details = new Map<number, Owner | null>();
  const ownerOf = (tid: number): Owner | null => {
    const pid = threadOf.get(tid) ?? tid; // a thread's socket is its process's
    let o = details.get(pid);
    if (o === undefined) {
      const via = leaderGone.get(pid); // an exited leader shows no exe, cgroup: a thread of it does
      o = readOwner(procRoot, via ?? pid, users, clock, containerOf);
      if (o !== null && via !== undefined) o.pid = pid;
      if (o === null) stats.vanished++;
      details.set(pid, o);
    }
    return o;
  };

  // step 3: socket fds of every process (read by the worker meanwhile, or now) give each socket
  // above its owners
  const scanned = fdScan?.finish(wanted) ?? null;
  if (fdScan?.bpfRefused) stats.fdLinks = `read from /proc, not by BPF: ${fdScan.bpfRefused}`;
  const strays = new Map<number, number[]>(); // pid -> socket inodes in no table read
  const tables: [number, FdResult][] = [];
  // (pid, fd, inode) of open network namespace files: a namespace only such a file holds (step 4)
  const nsFiles: number[] = [...(fdScan?.walk?.netns ?? [])];
  for (const pids of nsPids.values()) {
    for (const pid of pids) {
      let fds = scanned?.get(pid);
      if (fds === undefined) {
        const files: number[] = [];
        fds = socketInodesOf(fs, `${procRoot}/${pid}/fd`, wanted, files);
        for (let k = 0; k + 2 <= files.length; k += 2) nsFiles.push(pid, files[k], files[k + 1]);
      }
      tables.push([pid, fds]);
    }
  }
  // threads' own fd tables (threads.ts), their sockets their process's, their strays by tid
  for (const t of apart) {
    if (!t.ownFiles) continue;
    const base = `${procRoot}/${t.pid}/task`;
    const walk = walkFds(base, [t.tid]);
    if (walk.netns) nsFiles.push(...walk.netns); // /proc/<tid>/fd/<fd> opens it alike
    const fds = walkResults(walk, base, wanted).get(t.tid);
    if (Array.isArray(fds) && fds.length > 0) tables.push([t.tid, fds]);
  }
  for (const [pid, fds] of tables) {
    if (fds === 'gone') { stats.vanished++; continue; }
    if (!threadOf.has(pid)) stats.processes++;
    if (fds === 'unreadable') { stats.unreadable++; continue; } // its sockets stay in the tables, owner unknown
    // indexed loops over the big arrays here: collect runs once, mostly unoptimized, where for-of
    // allocates an iterator result per element (100k sockets: 7 MiB)
    for (let i = 0; i < fds.length; i++) {
      const s = byInode.get(fds[i]);
      if (s === undefined) {
        if (!seen.has(fds[i])) { const l = strays.get(pid); if (l) l.push(fds[i]); else strays.set(pid, [fds[i]]); }
        continue;
      }
      const o = ownerOf(pid);
      if (o === null || s.owners.includes(o)) continue;
      // the first as a one-element literal: a pushed-to empty array reserves 17 slots (100k sockets: -3 MiB)
      if (s.owners.length === 0) s.owners = [o];
      else s.owners.push(o);
    }
  }
  if (strays.size > 0 && unkept.length > 0) tellUnkept(procRoot, unkept, strays, pidNs, options.keepState!);
  // unix socket queues carrying fds now: named at the end only if they still do (in-flight.ts)
  const carrying = unix.size === 0 ? [] : queuesCarryingFds(procRoot, unixFdsOf(procRoot, fdScan?.walk, [...pidNs.keys()], unix));
  const carryingSince = Date.now();
  // step 4: sockets in no table read
  const held = procRoot === '/proc' && strays.size > 0 ? lookAtStrays(strays, new Set(readable)) : null;
  // sockets only a ring holds have no fd to look through: the ring holder's threads are the way in (io-uring.ts)
  const ringHeld = strays.size > 0 ? ringHeldStrays(procRoot, strays, walkFds(procRoot, [...strays.keys()]).ioUring) : new Map<number, Set<number>>();
  const ways = new Map<number, Door>(held?.doors);
  const holders = new Map(held?.holders);
  // the files that lead to a namespace no process's link names, for lsm watch's probe (probe.ts)
  const paths = new Map<number, string>();
  for (const netns of threadNs.keys()) paths.set(netns, `${procRoot}/${doors.get(netns)![0] as number}/ns/net`);
  for (const [netns, t] of ringThreadDoors(procRoot, ringHeld.keys(), new Set([...readable, ...ways.keys()]), MAX_HELD_NAMESPACES - ways.size)) { ways.set(netns, t.tid); holders.set(netns, t.pids); paths.set(netns, `${procRoot}/${t.tid}/ns/net`); }
  const nsHeld = procRoot === '/proc' && nsFiles.length > 0 ? heldNamespaceDoors(nsFiles, new Set([...readable, ...ways.keys()]), MAX_HELD_NAMESPACES - ways.size) : null;
  for (const [netns, h] of nsHeld?.doors ?? []) { ways.set(netns, h.door); holders.set(netns, h.pids); }
  // an open namespace file leads there too when a held socket was the way in this time
  if (procRoot === '/proc') for (let k = 0; k + 3 <= nsFiles.length; k += 3) if (!doors.has(nsFiles[k + 2]) && !paths.has(nsFiles[k + 2])) paths.set(nsFiles[k + 2], `/proc/${nsFiles[k]}/fd/${nsFiles[k + 1]}`);
  if (nsHeld !== null && nsHeld.over > 0) { unseen.namespaces += nsHeld.over; unseen.reasons.add(`over ${MAX_HELD_NAMESPACES} held by open files`); }
  try {
    if (ways.size > 0 || held !== null) {
      const there = new Set<number>(); // every socket inode in the namespaces read now
      for (const [netns, door] of ways) {
        const found = readNamespaceTables(procRoot, netns, [door], { keep, keepState: options.keepState, saw: (i) => there.add(i) });
        if (found === null) continue;
        readable.push(netns);
        nsPids.set(netns, holders.get(netns) ?? []); // no process is in it: its label comes from what holds it
        for (let i = 0; i < found.length; i++) { sockets.push(found[i]); byInode.set(found[i].inode, found[i]); }
      }
      for (const [pid, inodes] of strays) {
        const rest: number[] = [];
        for (const inode of inodes) {
          const s = byInode.get(inode);
          if (s !== undefined) {
            const o = ownerOf(pid);
            if (o !== null && !s.owners.includes(o)) s.owners = [...s.owners, o];
          } else if (!there.has(inode) && !held?.noEndpoint.has(inode)) rest.push(inode);
        }
        if (rest.length > 0) strays.set(pid, rest); else strays.delete(pid);
      }
    }
    for (const [netns, pids] of threadNs) if (readable.includes(netns)) nsPids.set(netns, pids); // labels: the threads' processes
    const what = new Map(held?.what);
    nameRingHeld(ringHeld, what);
    for (const s of unattributed(procRoot, strays, pidNs, ownerOf, what)) { if (held?.hostWide.has(s.inode)) s.netns = hostInode; sockets.push(s); }
  } finally {
    for (const fd of held?.fds ?? []) closeSync(fd);
    for (const h of nsHeld?.doors.values() ?? []) closeSync(h.door.held!);
  }
  const root = procRoot === '/proc' && (options.euid ?? process.geteuid?.()) === 0; // others' views (/proc/<pid>/root) are root's to read
  for (let i = 0; i < sockets.length; i++) {
    const s = sockets[i];
    if (s.uid >= 0) s.user = users.get(s.uid) ?? String(s.uid);
    if (root && s.file !== undefined && !pathLeadsTo(procRoot, s)) s.localAddress += NOT_AT_PATH;
  }

  const namespaces = labelNamespaces(procRoot, readable, hostInode, nsPids, options.netnsDir ?? '/run/netns', mounts, ownerOf, containerOf, containerNames(options.containerDirs));
  stats.namespaces = namespaces.length;
  stats.sockets = sockets.length;
  const hidden = hiddenProcesses(procRoot, options.euid ?? process.geteuid?.() ?? 0);
  if (unseen.processes + unseen.namespaces > 0 || hidden !== null) {
    stats.unseen = { processes: unseen.processes, namespaces: unseen.namespaces, reason: [...unseen.reasons].sort().join(', ') };
    if (hidden !== null) stats.unseen.hidden = hidden;
  }
  const inFlight = stillCarrying(procRoot, carrying, carryingSince);
  if (inFlight.length > 0) {
    stats.inFlight = inFlight.map((q) => {
      const o = ownerOf(q.pid);
      return { path: byInode.get(q.inode)?.localAddress ?? '', inode: q.inode, comm: o?.comm ?? '?', user: o?.user ?? (o?.uid != null ? String(o.uid) : '?') };
    });
  }
  const read = new Set(readable);
  const found = [...paths].filter(([netns]) => read.has(netns)).map(([netns, path]) => ({ netns, path }));
  return found.length > 0 ? { namespaces, sockets, stats, ways: found } : { namespaces, sockets, stats };
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

/** Whether a namespace that could not be read is still there: a process still in it, or a mount of it that still opens. */
function stillThere(procRoot: string, inode: number, via: Door[]): boolean {
  return via.some((door) => {
    if (typeof door !== 'object') { const ns = readNetns(procRoot, door); return ns.ok && ns.value === inode; }
    const fd = openNsfs(procRoot, door);
    if (fd === null) return false;
    closeSync(fd);
    return true;
  });
}

/** A way into a network namespace: a process in it (its /proc/<pid>/net), or an nsfs mount of it. */
export type Door = number | 'self' | NsfsMount;

export interface TableFilter {
  keep?: (s: Socket) => boolean;
  keepState?: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean;
  /** told every socket inode in the tables, kept or not */
  saw?: (inode: number) => void;
  /**
   * given: `saw` may be told TCP sockets of states not kept later (netlink/index.ts deferrable),
   * and this is told which tables wait
   */
  deferred?: (tables: ProcTable[]) => void;
  /** told each unix listener with no connection waiting (netlink only) */
  idle?: (inode: number) => void;
}

/**
 * THE SEAM: all sockets of one namespace, through the first door that opens; null if none does.
 * From sock_diag over netlink (collect/netlink/) where it can, through any door (a pid's ns file,
 * or the opened nsfs mount); from the /proc text for what it cannot, through a pid, or through a
 * process started inside the namespace when only a mount holds it.
 */
export function readNamespaceTables(procRoot: string, inode: number, via: Door[], filter: TableFilter = {}): Socket[] | null {
  const { keep, keepState, saw, deferred, idle } = filter;
  // with `saw`, netlink dumps every state (the kernel's filter would hide what must be told apart
  // from sockets in no table), tells saw each inode, and makes sockets only of the kept states
  let nl: NetlinkTables | null = null;
  for (let i = 0; i < via.length && nl === null; i++) {
    const door = via[i];
    nl = throughDoor(procRoot, door, (nsFile) => readNetlinkTables(nsFile, inode, keep, keepState, saw, { defer: deferred !== undefined, idle }));
  }
  if (nl?.deferred) deferred!(nl.deferred);
  // the rest from the /proc text: what netlink could not give, and ping sockets (only there)
  const only = nl === null ? null : new Set<string>([...nl.fallback, 'icmp', 'icmp6']);
  for (const door of via) {
    const sockets = typeof door === 'object' ? throughMount(procRoot, inode, door, filter, only) : readNetDir(`${procRoot}/${door}/net`, inode, filter, only);
    if (sockets !== null) return nl === null ? sockets : nl.sockets.concat(sockets);
  }
  return nl === null ? null : nl.sockets;
}

/** read(the namespace file of `door`), null when the door does not open. */
function throughDoor<T>(procRoot: string, door: Door, read: (nsFile: string) => T | null): T | null {
  if (typeof door !== 'object') return read(`${procRoot}/${door}/ns/net`);
  const fd = openNsfs(procRoot, door);
  if (fd === null) return null;
  try { return read(`/proc/self/fd/${fd}`); } finally { closeSync(fd); }
}

/** A namespace whose TCP sockets of states not kept were not dumped: its doors, those tables. */
interface Unkept { inode: number; via: Door[]; tables: ProcTable[] }

/**
 * Socket fds in no table read (`strays`, pid -> inodes) may be connections, whose dumps waited.
 * The waiting namespaces that hold strays are dumped now, those holding most first, until none
 * is left. A socket is in its own namespace's table only: for what is still left, a copy of the
 * fd names that namespace (SIOCGSKNS, as lookAtStrays), and only a TCP-capable socket's own
 * namespace is dumped (every waiting one when that cannot be looked at). Found ones leave
 * `strays`: what stays is what a dump of every state at first left there. A namespace that cannot
 * be dumped now is as one read before the socket was made: the socket is looked at as such.
 */
function tellUnkept(procRoot: string, unkept: Unkept[], strays: Map<number, number[]>, pidNs: Map<number, number>,
  keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): void {
  const held = new Map<number, number>(); // namespace -> strays its processes hold
  for (const [pid, inodes] of strays) held.set(pidNs.get(pid) ?? -1, (held.get(pidNs.get(pid) ?? -1) ?? 0) + inodes.length);
  const waiting = new Map(unkept.map((u) => [u.inode, u]));
  const dump = (ns: number) => {
    const u = waiting.get(ns);
    if (u === undefined || strays.size === 0) return;
    waiting.delete(ns);
    let found: Uint32Array | null = null;
    for (let d = 0; d < u.via.length && found === null; d++) found = throughDoor(procRoot, u.via[d], (nsFile) => readUnkeptInodes(nsFile, ns, u.tables, keepState));
    if (found === null || found.length === 0) return;
    for (const [pid, inodes] of strays) {
      const rest = inodes.filter((i) => !sortedHas(found, i));
      if (rest.length > 0) strays.set(pid, rest); else strays.delete(pid);
    }
  };
  for (const [ns] of [...held].sort((x, y) => y[1] - x[1])) dump(ns);
  if (strays.size > 0 && waiting.size > 0) for (const ns of ownNamespaces(procRoot, strays, [...pidNs.values()]) ?? [...waiting.keys()]) dump(ns);
}

const SOCK_STREAM = 1;
/**
 * The namespaces whose TCP tables may hold a socket of `strays`: each one's own, through a copy of
 * its fd (inet stream sockets only: no other kind is in a TCP table); null (every namespace) when
 * one cannot be looked at (not /proc, no pidfd_getfd, its fd not that socket any more).
 */
function ownNamespaces(procRoot: string, strays: Map<number, number[]>, known: number[]): Set<number> | null {
  if (procRoot !== '/proc') return null;
  const own = new Set<number>();
  for (const [pid, inodes] of strays) {
    const looked = [...socketFds('/proc', pid, new Set(inodes))];
    const info = looked.length === 0 ? [] : inspectHeldSockets(pid, looked.map(([, fd]) => fd), looked.map(([inode]) => inode), known);
    if (info === null) return null;
    for (const s of info) if (s !== null && s.nsfd >= 0) closeSync(s.nsfd); // every one, before any answer: lsm watch runs for days
    for (const s of info) {
      if (s === null || s.netns < 0) return null;
      if ((s.domain === AF_INET || s.domain === AF_INET6) && s.type === SOCK_STREAM) own.add(s.netns);
    }
  }
  return own;
}

/**
 * The tables in one /proc/<pid>/net directory (those in `only`, null: all); null when it is gone
 * or unreadable. Ping sockets (icmp, icmp6: only here) are read whenever the others are.
 */
export function readNetDir(dir: string, inode: number, { keep, keepState, saw }: TableFilter, only: Set<string> | null = null): Socket[] | null {
  let unix: string | null = null;
  let before: string | null = null;
  let after: string | null = null;
  try {
    if (!only || only.has('unix')) {
      // the kernel's count of unix sockets on both sides of the table: the table holds no more
      before = readTable(`${dir}/protocols`);
      unix = readTable(`${dir}/unix`);
      after = readTable(`${dir}/protocols`);
      if (unix === null) return null; // the process exited
    } else fs.statSync(dir); // still there?
  } catch {
    return null; // not readable through this pid (or gone): try the next
  }
  const sockets: Socket[] = [];
  try {
    for (const t of TABLES) {
      if (only && !only.has(t.file)) continue;
      // tcp6 etc. are absent when IPv6 is off
      readTableChunks(`${dir}/${t.file}`, (text, header) => {
        for (const s of parseInetTable(text, t.kind, t.v6, inode, header, keepState, saw).sockets) {
          if (t.ping) { s.localPort = t.v6 ? 58 : 1; s.remotePort = 0; s.socketType = 'dgram'; }
          if (!keep || keep(s)) sockets.push(s);
        }
      });
    }
    if (unix !== null) {
      const counts = [before, after].map((p) => (p === null ? null : unixSocketCount(p)));
      const count = counts[0] === null || counts[1] === null ? null : Math.max(counts[0], counts[1]);
      for (const s of parseUnixTable(unix, inode, count).sockets) { saw?.(s.inode); const kept = !keep || keep(s); if (s.ambiguous || kept) sockets.push(s); }
    }
    const packet = !only || only.has('packet') ? readTable(`${dir}/packet`) : null;
    if (packet !== null) {
      const names = parseInterfaceNames(readTable(`${dir}/if_inet6`) ?? '', readTable(`${dir}/igmp`) ?? '', readTable(`${dir}/dev_mcast`) ?? '');
      for (const s of parsePacketTable(packet, inode, names).sockets) { saw?.(s.inode); if (!keep || keep(s)) sockets.push(s); }
    }
    if (saw) {
      // sockets lsm does not record, only so that they are not taken for sockets in no table
      parseInodesOnly(readTable(`${dir}/netlink`) ?? '', saw);
      for (const file of ['udplite', 'udplite6']) {
        const text = readTable(`${dir}/${file}`);
        if (text !== null) parseInetTable(text, 'udp', file.endsWith('6'), inode, true, () => false, saw);
      }
    }
  } catch {
    return null;
  }
  return sockets;
}

const tick = new Int32Array(new SharedArrayBuffer(4));
/** A synchronous 1 ms pause (collect is synchronous). */
function pause1ms(): void { Atomics.wait(tick, 0, 0, 1); }

/**
 * A namespace that only a mount holds: a process started inside it (nsenter --net on the opened
 * mount, passed as fd 3, then `cat` waiting on its stdin) is the door, read like any other, then
 * killed. Only under the real /proc (a fixture tree has no processes to start). Its cost is a process start
 * (20 such namespaces on a 2-core machine at load 20: ~100 ms each, as long as `nsenter true` from a shell).
 */
function throughMount(procRoot: string, inode: number, m: NsfsMount, filter: TableFilter, only: Set<string> | null): Socket[] | null {
  const fd = openNsfs(procRoot, m);
  if (fd === null) return null;
  let child: import('node:child_process').ChildProcess | null = null;
  try {
    // child_process only here, for the rare namespace no process is in (not at every start)
    const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    child = spawn('nsenter', ['--net=/proc/self/fd/3', '--', 'cat'], { stdio: ['pipe', 'ignore', 'ignore', fd] });
    child.on('error', () => { /* no nsenter: the namespace stays unread, its sockets unattributed */ });
    const pid = child.pid;
    if (pid === undefined) return null;
    // bounded wait until it is inside (setns, then exec): readlink of its ns, 1 ms apart, 2 s at most
    for (let waited = 0; waited < 2000; waited++) {
      const ns = readNetns(procRoot, pid);
      if (ns.ok && ns.value === inode) return readNetDir(`${procRoot}/${pid}/net`, inode, filter, only);
      if (!ns.ok && ns.gone) return null; // it failed
      pause1ms();
    }
    return null;
  } finally {
    if (child?.pid !== undefined) {
      child.kill('SIGKILL');
      child.stdin?.destroy();
      child.unref();
      // bounded wait until it has left the namespace (a zombie has no ns link): else a look made
      // right after this scan (watch's probe) sees a process in it that the next look does not
      for (let waited = 0; waited < 2000 && readNetns(procRoot, child.pid).ok; waited++) pause1ms();
    }
    closeSync(fd);
  }
}

/**
 * Every socket inode of the tables read, sorted once, searched by halves: a Set of 100k numbers
 * costs megabytes, this 800 KB.
 */
class InodeList {
  private list = new Float64Array(1024);
  private n = 0;
  add = (inode: number): void => {
    if (this.n === this.list.length) { const bigger = new Float64Array(this.n * 2); bigger.set(this.list); this.list = bigger; }
    this.list[this.n++] = inode;
  };
  seal(): void { this.list = this.list.subarray(0, this.n).sort(); }
  has(inode: number): boolean { return sortedHas(this.list, inode); }
}

const AF_INET = 2;
const AF_INET6 = 10;
const AF_VSOCK = 40;
const TCP_CLOSE = 7;
// protocols whose every reachable socket is in a table: tcp, udp, udplite, icmp (ping), ipv6-icmp
const TABLED = new Set([6, 17, 136, 1, 58]);

interface Strays {
  doors: Map<number, NsfsMount>; // a namespace not read yet -> a way in, through a socket in it
  holders: Map<number, number[]>; // that namespace -> pids holding sockets in it
  noEndpoint: Set<number>; // TCP/UDP sockets never bound, or closed: nothing to record
  what: Map<number, string>; // the others: what they are ('vsock/stream', 'inet6/sctp')
  hostWide: Set<number>; // vsock sockets: one address space for the whole host, their lines in host/
  fds: number[]; // namespace fds to close
}

const FAMILIES: Record<number, string> = { 1: 'unix', 2: 'inet', 10: 'inet6', 15: 'key', 16: 'netlink', 17: 'packet', 21: 'rds', 29: 'can', 30: 'tipc', 31: 'bluetooth', 38: 'alg', 40: 'vsock', 42: 'qipcrtr', 43: 'smc', 44: 'xdp', 45: 'mctp' };
const TYPES: Record<number, string> = { 1: 'stream', 2: 'dgram', 3: 'raw', 4: 'rdm', 5: 'seqpacket', 10: 'packet' };

/** 'vsock/stream', 'inet6/sctp': what an unattributed line says the socket is. */
function describeSocket(s: HeldSocket): string {
  const family = FAMILIES[s.domain] ?? `af${s.domain}`;
  if (s.domain === AF_INET || s.domain === AF_INET6) return `${family}/${ipProtocolName(s.protocol)}`;
  const type = TYPES[s.type] ?? `type${s.type}`;
  return vsockEndpoint(s, type) ?? `${family}/${type}`;
}

// Namespaces read through sockets in one scan, at most: each costs a process start (ping sockets:
// the /proc text), and any user can make thousands (unshare -rn, then pass the socket out). Past
// this, their sockets stay unattributed lines, which alert.
const MAX_HELD_NAMESPACES = 32;

/** Each stray socket looked at through a copy of its holder's fd (netlink/sockdiag.c: inspect). */
export function lookAtStrays(strays: Map<number, number[]>, readable: Set<number>): Strays {
  const result: Strays = { doors: new Map(), holders: new Map(), noEndpoint: new Set(), what: new Map(), hostWide: new Set(), fds: [] };
  for (const [pid, inodes] of strays) {
    const fdOf = socketFds('/proc', pid, new Set(inodes));
    if (fdOf.size === 0) continue;
    const held = [...fdOf];
    const known = [...readable, ...result.doors.keys()];
    const info = inspectHeldSockets(pid, held.map(([, fd]) => fd), held.map(([inode]) => inode), known);
    if (info === null) continue; // exited meanwhile, or no way to look here: its strays stay unattributed
    for (let i = 0; i < held.length; i++) {
      const s = info[i];
      if (s === null) continue;
      const inode = held[i][0];
      // never bound, or closed: wherever it lives, nothing can reach it
      const noEndpoint = (s.domain === AF_INET || s.domain === AF_INET6) && TABLED.has(s.protocol) && (s.port === 0 || s.tcpState === TCP_CLOSE);
      if (noEndpoint) result.noEndpoint.add(inode);
      else result.what.set(inode, describeSocket(s));
      if (s.domain === AF_VSOCK) result.hostWide.add(inode);
      if (s.nsfd >= 0 && !noEndpoint && result.doors.size < MAX_HELD_NAMESPACES) {
        result.doors.set(s.netns, { netns: s.netns, pid: process.pid, mountpoint: '', held: s.nsfd });
        result.fds.push(s.nsfd);
      } else if (s.nsfd >= 0) closeSync(s.nsfd);
      if (!noEndpoint && s.netns > 0 && !readable.has(s.netns)) {
        const pids = result.holders.get(s.netns) ?? [];
        if (!pids.includes(pid)) result.holders.set(s.netns, [...pids, pid]);
      }
    }
  }
  return result;
}

/**
 * Sockets in no table read, as 'unattributed' sockets of the holder's own namespace. A socket
 * made after its table was read looks the same: each holder's namespace is read again and its
 * fds listed again, and only what is still held and still in no table is kept.
 */
function unattributed(procRoot: string, strays: Map<number, number[]>, pidNs: Map<number, number>, ownerOf: (pid: number) => Owner | null, what?: Map<number, string>): Socket[] {
  const result: Socket[] = [];
  const reread = new Map<number, Set<number> | null>(); // namespace -> its inodes now (null: unreadable)
  for (const [pid, inodes] of strays) {
    const netns = pidNs.get(pid)!;
    let now = reread.get(netns);
    if (now === undefined) {
      const found = new Set<number>();
      now = readNetDir(`${procRoot}/${pid}/net`, netns, { keep: () => false, keepState: () => false, saw: (i) => found.add(i) }) === null ? null : found;
      if (now !== null) reread.set(netns, now); // else: try through the next pid in it
    }
    if (now === null) continue;
    const candidates = new Set(inodes);
    const still = socketInodesOf(fs, `${procRoot}/${pid}/fd`, { has: (i) => candidates.has(i) && !now.has(i) });
    const o = ownerOf(pid);
    if (!Array.isArray(still) || o === null) continue;
    for (const inode of still) {
      result.push({
        kind: 'unattributed', family: 'unknown', netns, inode, state: '?', localAddress: what?.get(inode) ?? '', localPort: 0,
        remoteAddress: '', remotePort: 0, uid: -1, user: null, owners: [o],
      });
    }
  }
  return result;
}
