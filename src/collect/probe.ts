// A cheap look between full scans, for `lsm watch`: can anything a snapshot records differ from
// what the last full collection saw? It only decides WHEN to collect again; what is committed
// always comes from a full collect(). Each look reads, without any process's fds:
//  - the sockets a snapshot records, in every namespace a process is in or an nsfs mount holds:
//    sock_diag dumps filtered by state in the kernel, normalized (timers and queues zeroed) and hashed
//    in the native reader (netlink/digest.ts; kept as bytes where it has no digest) and compared
//    with the last look's; ping sockets (and any kind netlink cannot dump)
//    from the /proc text, compared field by field;
//  - the namespaces that hold a recorded socket (each with its lowest pid, which may name it), their
//    nsfs mounts, and the ways the last collection found into namespaces no process's link names
//    (a thread's own /proc/<tid>/ns/net, an open namespace file /proc/<pid>/fd/<fd>: one readlink
//    each a look, to check it still leads there, never a walk of every thread): a namespace with nothing to record writes no line, so the namespaces other
//    programs make and drop all the time (tests, sandboxes, browsers) do not make a full scan;
//  - the owners the last collection found: each still there with the same comm, exe, uid,
//    container and start time (their stat and status files kept open and read again: the
//    process they were opened for, never one at its pid later); and each process new since the last look (its pid not seen then,
//    or handed out again since: the kernel's pid cursor says which pids were): does it hold a
//    recorded socket (a fork of a server inherits its listener)? Their fds are read in one native
//    walk, and only theirs: the cost follows the processes that came, not those that exist;
//  - the files the lines depend on (the ignore rules, /etc/passwd): size, mtime, inode.
// After a full collection, a look right after it must match both the look before it and the
// collection's sockets (inode for inode), else the next look asks for another scan: a change
// made while the scan ran is never taken for the state.
// What it does not see (left to the periodic full scan): an existing process that gains a
// recorded socket (passed over a unix socket) or closes its copy while another keeps it, sockets
// in no table (held across namespaces, vsock), a namespace a thread or an open file leads to only
// since the last collection, interface and container renames, and ping or fallback sockets of a
// namespace that only a mount, a thread's link or an open file holds.
import { closeSync, openSync, readlinkSync, readSync, statSync } from 'node:fs';
import type { Collection, Socket } from '../types.js';
import { readNetDir } from './index.js';
import { nsfsMounts, openNsfs } from './namespaces.js';
import { netlinkFingerprint, type ProcTable } from './netlink/index.js';
import { hasNetlinkDigest, netlinkDigest, socketsIn } from './netlink/digest.js';
import { listPids, readBootClock, readExe, readNetns, type BootClock } from './processes.js';
import { walkFds, walkResults } from './fds.js';

export interface ProbeOptions {
  procRoot?: string;
  /** the snapshot's selection (snapshot/select.ts); netlink dumps apply the same rules to bytes */
  keep: (s: Socket) => boolean;
  keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean;
  /** files the snapshot's lines depend on */
  files?: string[];
}

interface NamespaceLook {
  sums: (string | Buffer)[]; // the netlink part, per kind: a hash (digest.ts), or the bytes
  text: string[]; // the /proc text part, one key per socket, sorted
  count: number; // sockets a snapshot may record
  inodes: number[] | null; // theirs (null: not asked for)
  unread: Set<string> | null; // tables not read (a namespace only a mount holds; '*': none read)
}

interface Look {
  outline: string;
  namespaces: Map<number, NamespaceLook>;
}

/** The /proc table a socket comes from: what a netlink fallback names, and 'ping'. */
function table(s: Socket): string {
  if (s.kind === 'raw' && s.socketType === 'dgram') return 'ping';
  return s.family === 'inet6' ? `${s.kind}6` : s.kind;
}

function socketKey(s: Socket): string {
  return `${table(s)} ${s.inode} ${s.state} ${s.localPort} ${s.remotePort} ${s.uid} ${s.socketType ?? ''} ${s.device ?? ''} ${s.v6only ?? ''} ${s.ambiguous ?? ''} ${s.localAddress} ${s.remoteAddress}`;
}

function ownerKey(o: { comm: string; exe: string | null; uid: number | null; startedAt: number | null }): string {
  return JSON.stringify([o.comm, o.exe, o.uid, o.startedAt]);
}

const page = Buffer.allocUnsafe(4096);
/** The start of a small /proc file, in one read (readFileSync costs ~10x as much on /proc files). */
function readSmall(path: string): string | null {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  try { return page.toString('latin1', 0, readSync(fd, page, 0, page.length, 0)); } catch { return null; } finally { closeSync(fd); }
}

const MAX_WHOLE = 4 << 20;
/**
 * A /proc file read whole from its start: /proc/stat on a host with many CPUs (a line each, and an
 * intr line of one count per interrupt) is far past a page. A buffer that held it whole is kept
 * for the next read, so a look still costs one read; one that it filled is doubled and read again.
 */
function readAllAt(fd: number, path: string, big: Map<string, Buffer>): string {
  let buf = big.get(path) ?? page;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n < buf.length || buf.length >= MAX_WHOLE) return buf.toString('latin1', 0, n);
    buf = Buffer.allocUnsafe(buf.length * 2);
    big.set(path, buf);
  }
}

function readWhole(path: string, big: Map<string, Buffer>): string | null {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  try { return readAllAt(fd, path, big); } catch { return null; } finally { closeSync(fd); }
}

const MAX_KEPT = 1024; // files kept open at most: beyond, they are opened at each read
/**
 * /proc files kept open and read again from their start (a proc file is made anew at each read from
 * offset 0): one syscall a look instead of open, read and close. A per-process file stays the file
 * of the process it was opened for: once that one is gone, reads fail (ESRCH), even when its pid is
 * handed out again.
 */
export class KeptFiles {
  private readonly fds = new Map<string, number>();
  private readonly big = new Map<string, Buffer>(); // files longer than a page: a buffer that held them whole

  /** The file's first page; with `whole`, all of it (up to 4 MiB), still in one read once its size is known. */
  read(path: string, whole = false): string | null {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      if (this.fds.size >= MAX_KEPT) return whole ? readWhole(path, this.big) : readSmall(path);
      try { fd = openSync(path, 'r'); } catch { return null; }
      this.fds.set(path, fd);
    }
    try { return whole ? readAllAt(fd, path, this.big) : page.toString('latin1', 0, readSync(fd, page, 0, page.length, 0)); } catch { return null; }
  }

  close(): void {
    for (const fd of this.fds.values()) { try { closeSync(fd); } catch { /* closed */ } }
    this.fds.clear();
  }
}

// pids below this are not handed out again once the kernel's pid counter has wrapped (RESERVED_PIDS)
const RESERVED_PIDS = 300;

/** Where the kernel's pid allocator stands, as the process reading procRoot sees it. */
export interface PidCursor { last: number; forks: number; tasks: number; max: number }

/**
 * The last pid handed out (loadavg's last field: in the reader's own pid namespace, so only when
 * procRoot is that namespace's /proc: its 'self' is this process), the forks since boot and the
 * tasks alive (every pid namespace), and pid_max; null when any is unknown.
 */
export function readCursor(procRoot: string, files: KeptFiles): PidCursor | null {
  const self = files.read(`${procRoot}/self/stat`);
  if (self === null || Number.parseInt(self, 10) !== process.pid) return null;
  const load = files.read(`${procRoot}/loadavg`);
  const stat = files.read(`${procRoot}/stat`, true); // its processes line is past the cpu and intr lines
  const max = files.read(`${procRoot}/sys/kernel/pid_max`);
  const l = load === null ? null : /^\S+ \S+ \S+ \d+\/(\d+) (\d+)\n?$/.exec(load);
  const f = stat === null ? null : /^processes (\d+)$/m.exec(stat);
  const cursor = { last: Number(l?.[2]), forks: Number(f?.[1]), tasks: Number(l?.[1]), max: Number(max) };
  return l && f && Number.isSafeInteger(cursor.max) && cursor.max > RESERVED_PIDS ? cursor : null;
}

/**
 * Which pids may name a process started between two cursors (a pid seen at the first may belong to
 * another process by the second): those handed out in between, the kernel giving pids in turn up
 * to pid_max, then again from RESERVED_PIDS. The counter passes a pid twice only by walking the
 * whole range, each step a fork or a pid in use (at most the tasks alive then, and the forks);
 * when the forks between allow that, or a cursor is unknown: every pid.
 */
function startedBetween(was: PidCursor | null, now: PidCursor | null): (pid: number) => boolean {
  if (was === null || now === null || was.max !== now.max) return () => true;
  const forks = now.forks - was.forks;
  if (forks < 0 || 2 * forks + was.tasks >= now.max - RESERVED_PIDS) return () => true;
  if (now.last >= was.last) return (pid) => pid > was.last && pid <= now.last;
  return (pid) => pid > was.last || pid <= now.last; // the counter wrapped once
}

/**
 * What a line shows of an owner now (as processes.ts readOwner reads it), or null when it is gone.
 * The comm is stat's (the kernel prints the same name, unescaped, in both files: stat's is the text
 * between its first '(' and its last ')').
 */
function ownerNow(procRoot: string, pid: number, clock: BootClock | null, files: KeptFiles): string | null {
  const base = `${procRoot}/${pid}`;
  const stat = files.read(`${base}/stat`);
  const status = files.read(`${base}/status`);
  if (stat === null || status === null) return null;
  const close = stat.lastIndexOf(')');
  const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
  // field 22, the start time: the 20th after the ')' (a scan, not a split into 50 strings a look)
  let at = close + 2;
  for (let k = 0; k < 19 && at > 0; k++) at = stat.indexOf(' ', at) + 1;
  const ticks = at > 0 ? Number(stat.slice(at, stat.indexOf(' ', at))) : Number.NaN;
  return ownerKey({
    comm: stat.slice(stat.indexOf('(') + 1, close), exe: readExe(base).exe, uid: uid ? Number(uid[2]) : null,
    startedAt: clock && Number.isFinite(ticks) ? clock.bootMs + Math.round((ticks * 1000) / clock.hz) : null,
  });
}

const MAX_WAYS = 64;

/** The namespace a ns link or an open namespace file names ('net:[4026531840]'), or -1. */
function readNsLink(path: string): number {
  try { const m = /^net:\[(\d+)\]$/.exec(readlinkSync(path)); return m ? Number(m[1]) : -1; } catch { return -1; }
}

export class Probe {
  private readonly procRoot: string;
  private readonly clock: BootClock | null;
  private baseline: Look | null = null; // the look right after the last collection
  private before: Look | null = null; // the last look of changed(): the one before that collection
  private settled = false; // the baseline matches the collection (and the look before it)
  private ownerSeen = false; // a process started since holds a recorded socket
  private owners = new Map<number, string>(); // owner pid -> its details at the last collection
  private recorded = new Set<number>(); // socket inodes of the last collection
  private pids = new Map<number, number>(); // at the last look: pid -> its mount namespace
  private cursor: PidCursor | null = null; // the kernel's pid cursor after the last look listed the pids
  private readonly hostFiles = new KeptFiles(); // the pid cursor's files
  private ownerFiles = new KeptFiles(); // the owners' stat and status, opened after the last collection
  private readonly digest = hasNetlinkDigest();
  private undumpable = new Set<ProcTable>(); // tables netlink refused since the last collection: read from /proc
  private ways: { netns: number; path: string }[] = []; // the last collection's ways into namespaces no process's link names

  constructor(private readonly options: ProbeOptions) {
    this.procRoot = options.procRoot ?? '/proc';
    this.clock = readBootClock(this.procRoot);
  }

  /**
   * What may differ from the last collection learned ('first', 'unsettled', 'owners',
   * 'namespaces', 'sockets'), or null when nothing a snapshot records can have changed, as far
   * as a look sees. Compared with that collection, not with the last look: asked again before a
   * learn(), it says the same.
   */
  changed(): string | null {
    const now = this.look(false);
    this.before = now;
    const base = this.baseline;
    if (base === null) return 'first';
    if (!this.settled) return 'unsettled';
    if (this.ownerSeen) return 'owners';
    if (now.outline !== base.outline) return 'namespaces';
    for (const [pid, was] of this.owners) {
      if (ownerNow(this.procRoot, pid, this.clock, this.ownerFiles) !== was) return 'owners';
    }
    return sameSockets(base, now) ? null : 'sockets';
  }

  /** Take a full collection, made since the last changed(), as what the snapshot now records. */
  learn(c: Collection): void {
    this.owners.clear();
    this.recorded.clear();
    this.ownerFiles.close();
    this.ownerFiles = new KeptFiles();
    const collected = new Map<number, Socket[]>();
    for (const s of c.sockets) {
      this.recorded.add(s.inode);
      for (const o of s.owners) this.owners.set(o.pid, ownerKey(o));
      if (s.kind === 'unattributed') continue; // in no table: only a full scan sees them
      const list = collected.get(s.netns);
      if (list) list.push(s); else collected.set(s.netns, [s]);
    }
    this.ownerSeen = false; // processes new since the look before are checked by this one
    this.undumpable = new Set(); // asked again (a module loaded meanwhile)
    // at most MAX_WAYS, those leading to recorded sockets first: a user can make a namespace a thread
    // (thousands), and each costs a look a readlink and the kernel's count; the rest wait for full scans
    const holding = new Set(c.sockets.map((s) => s.netns));
    this.ways = [...(c.ways ?? [])].sort((a, b) => Number(holding.has(b.netns)) - Number(holding.has(a.netns))).slice(0, MAX_WAYS);
    const after = this.look(true);
    const before = this.before;
    // a namespace in neither look is one only sockets hold (collect reads it through a holder's
    // fd): beyond a look, left to the full scans; one in the look before only went away meanwhile
    for (const inode of [...collected.keys()]) if (!after.namespaces.has(inode) && !before?.namespaces.has(inode)) collected.delete(inode);
    this.settled = before !== null && !this.ownerSeen && after.outline === before.outline && sameSockets(before, after) && sameInodes(after, collected);
    this.baseline = after;
  }

  /** withInodes: each namespace's recorded inodes too (learn() compares them with the collection's) */
  private look(withInodes: boolean): Look {
    const { procRoot, options } = this;
    const nsPids = new Map<number, number[]>();
    const mntPids = new Map<number, number>();
    const pids = new Map<number, number>();
    const listed = listPids(procRoot);
    // read after the listing: a pid handed out again after it is in the next look's range
    const cursor = readCursor(procRoot, this.hostFiles);
    const started = startedBetween(this.cursor, cursor);
    this.cursor = cursor;
    const fresh: number[] = [];
    for (const pid of listed) {
      const ns = readNetns(procRoot, pid);
      if (!ns.ok) continue;
      const list = nsPids.get(ns.value);
      if (list) list.push(pid); else nsPids.set(ns.value, [pid]);
      // a process's mount namespace is read once (a process that unshares its own waits for a full scan)
      let mnt = started(pid) ? undefined : this.pids.get(pid);
      if (mnt === undefined) {
        const m = readNetns(procRoot, pid, 'mnt');
        mnt = m.ok ? m.value : -1;
        fresh.push(pid);
      }
      pids.set(pid, mnt);
      if (mnt !== -1 && !mntPids.has(mnt)) mntPids.set(mnt, pid);
    }
    this.pids = pids;
    // a new process holding a recorded socket is a new owner of its line (a fork of a server, or a
    // process at a pid handed out again); every new one's fds in one walk. An owner's pid handed
    // out again is told by its start time (changed()), so owners are not read here
    const unknown = fresh.filter((pid) => !this.owners.has(pid));
    if (!this.ownerSeen && this.recorded.size > 0 && unknown.length > 0) {
      for (const held of walkResults(walkFds(procRoot, unknown), procRoot, this.recorded).values()) {
        if (Array.isArray(held) && held.length > 0) { this.ownerSeen = true; break; }
      }
    }
    // the host's namespace as collect() finds it
    const init = readNetns(procRoot, 1);
    const kthreadd = init.ok ? init : readNetns(procRoot, 2);
    const self = readNetns(procRoot, 'self');
    const hostInode = kthreadd.ok ? kthreadd.value : self.ok ? self.value : -1;
    const mounts = nsfsMounts(procRoot, mntPids.values());

    const namespaces = new Map<number, NamespaceLook>();
    const doors = new Map<number, (number | 'self')[]>();
    for (const [inode, list] of nsPids) doors.set(inode, inode === hostInode ? [...list, 'self'] : list);
    if (!doors.has(hostInode)) doors.set(hostInode, ['self']);
    const filter = { keep: options.keep, keepState: options.keepState };
    for (const [inode, via] of doors) {
      // a namespace without a single socket (the kernel's count, read inside it) has nothing to
      // record: no dump, no table read (what other programs' sandboxes mostly are)
      if (inode !== hostInode && via[0] !== 'self' && socketsIn(`${procRoot}/${via[0]}/ns/net`, inode) === 0) continue;
      let nl: NetlinkPart | null = null;
      for (let i = 0; i < via.length && nl === null; i++) nl = this.netlinkPart(`${procRoot}/${via[i]}/ns/net`, inode, withInodes);
      const only = nl === null ? null : new Set<string>([...nl.fallback, 'icmp', 'icmp6']);
      let sockets: Socket[] | null = null;
      for (let i = 0; i < via.length && sockets === null; i++) sockets = readNetDir(`${procRoot}/${via[i]}/net`, inode, filter, only);
      if (sockets === null) {
        // every process in it exited meanwhile (it is gone, or beyond a look), or it cannot be read
        // (not root): that one stays in the look, as a namespace nothing was read of
        const still = via.some((p) => { const n = p === 'self' ? null : readNetns(procRoot, p); return n?.ok === true && n.value === inode; });
        if (still) namespaces.set(inode, { sums: [], text: [], count: 0, inodes: [], unread: new Set(['*']) });
        continue;
      }
      namespaces.set(inode, {
        sums: nl?.sums ?? [], text: sockets.map(socketKey).sort(), count: (nl?.count ?? 0) + sockets.length,
        inodes: withInodes ? [...(nl?.inodes ?? []), ...sockets.map((s) => s.inode)] : null, unread: null,
      });
    }
    for (const m of mounts) {
      if (doors.has(m.netns) || namespaces.has(m.netns)) continue;
      // netlink only: the /proc text of a namespace without a process needs one started in it
      const fd = openNsfs(procRoot, m);
      if (fd === null) continue;
      let nl;
      try {
        if (socketsIn(`/proc/self/fd/${fd}`, m.netns) === 0) continue; // nothing in it to record
        nl = this.netlinkPart(`/proc/self/fd/${fd}`, m.netns, withInodes);
      } finally { closeSync(fd); }
      if (nl === null) { namespaces.set(m.netns, { sums: [], text: [], count: 0, inodes: [], unread: new Set(['*']) }); continue; } // left to the full scans
      namespaces.set(m.netns, { sums: nl.sums, text: [], count: nl.count, inodes: nl.inodes, unread: new Set([...nl.fallback, 'ping']) });
    }
    // a namespace the last collection reached only through a thread's own link or an open namespace
    // file: looked at through that file while it still leads there (netlink only, as a mount), so a
    // socket made there is seen; a namespace that such a way leads to only since is left to the full scans
    const ways: string[] = [];
    for (const w of this.ways) {
      if (doors.has(w.netns) || namespaces.has(w.netns) || readNsLink(w.path) !== w.netns) continue;
      ways.push(`way ${w.netns} ${w.path}`);
      if (socketsIn(w.path, w.netns) === 0) continue;
      const nl = this.netlinkPart(w.path, w.netns, withInodes);
      namespaces.set(w.netns, nl === null
        ? { sums: [], text: [], count: 0, inodes: [], unread: new Set(['*']) }
        : { sums: nl.sums, text: [], count: nl.count, inodes: nl.inodes, unread: new Set([...nl.fallback, 'ping']) });
    }
    // a namespace with nothing a snapshot records writes no line: it is left out of the look, as
    // one the kernel counts no socket in (its ping or fallback tables, when only a mount or a way
    // leads there, are beyond a look anyway; and the count can include a netlink socket of the
    // last look, not yet freed: both must look alike); one that could not be read stays in, and so
    // does the host's
    for (const [inode, ns] of namespaces) {
      if (inode !== hostInode && ns.count === 0 && ns.text.length === 0 && !ns.unread?.has('*')) namespaces.delete(inode);
    }

    const parts: string[] = [`host ${hostInode}`];
    for (const [inode, list] of [...nsPids].sort((a, b) => a[0] - b[0])) if (namespaces.has(inode)) parts.push(`ns ${inode} ${list[0]}`);
    parts.push(...[...new Set(mounts.filter((m) => namespaces.has(m.netns)).map((m) => `mount ${m.netns} ${m.mountpoint}`))].sort());
    parts.push(...ways);
    for (const file of options.files ?? []) {
      try { const st = statSync(file); parts.push(`file ${file} ${st.ino} ${st.size} ${st.mtimeMs}`); } catch { parts.push(`file ${file} -`); }
    }
    return { outline: parts.join('\n'), namespaces };
  }

  /** The netlink part of a namespace's look: hashed in the native reader where it can, else the bytes. */
  private netlinkPart(nsFile: string, inode: number, withInodes: boolean): NetlinkPart | null {
    if (this.digest) {
      const d = netlinkDigest(nsFile, inode, this.options.keepState, withInodes, this.undumpable);
      for (const t of d?.fallback ?? []) this.undumpable.add(t);
      return d && { sums: d.hashes, count: d.recorded, inodes: d.inodes, fallback: d.fallback };
    }
    const f = netlinkFingerprint(nsFile, inode, this.options.keepState);
    return f && { sums: f.bytes, count: f.inodes.length, inodes: f.inodes, fallback: f.fallback };
  }
}

interface NetlinkPart { sums: (string | Buffer)[]; count: number; inodes: number[] | null; fallback: string[] }

function sameSockets(a: Look, b: Look): boolean {
  if (a.namespaces.size !== b.namespaces.size) return false;
  for (const [inode, x] of a.namespaces) {
    const y = b.namespaces.get(inode);
    if (!y || x.text.length !== y.text.length || x.text.some((k, i) => k !== y.text[i])) return false;
    if (x.sums.length !== y.sums.length || x.sums.some((b, i) => !sameSum(b, y.sums[i]))) return false;
  }
  return true;
}

function sameSum(a: string | Buffer, b: string | Buffer): boolean {
  return typeof a === 'string' || typeof b === 'string' ? a === b : a.equals(b);
}

/** The look's sockets are the collection's, inode for inode (in the tables the look read). */
function sameInodes(look: Look, collected: Map<number, Socket[]>): boolean {
  for (const [inode, list] of collected) if (list.length > 0 && !look.namespaces.has(inode)) return false;
  for (const [inode, ns] of look.namespaces) {
    if (ns.unread?.has('*')) continue;
    const want = new Set<number>();
    for (const s of collected.get(inode) ?? []) if (!ns.unread?.has(table(s))) want.add(s.inode);
    const inodes = ns.inodes ?? [];
    if (want.size !== inodes.length) return false;
    for (const i of inodes) if (!want.has(i)) return false;
  }
  return true;
}
