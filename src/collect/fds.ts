// Socket fds of every process: /proc/<pid>/fd/* -> 'socket:[inode]'. On a busy host this is one
// readlink per open file (100k sockets: 100k links). The native reader (netlink/sockdiag.c:
// walkFds) walks them all in one call and hands back numbers (FdWalk), not a string per link
// (100k sockets: collect's CPU -27 %, bench/RESULTS.md; the readlinks' kernel time stays, ~0.4 s
// there, more than `ss -tuan` takes in all). Without the addon, the same walk in JS
// (walkFdsJs, the reference the native one is tested against); and on a busy host a worker thread
// reads the links while the main thread reads the tables, both taking processes from one shared
// counter (the worker writes into shared memory, the main thread waits on it with Atomics, so
// collect() stays synchronous). Fastest of all, on a host with many open files: the kernel's own
// list of every process's files, read in one pass by a BPF iterator (bpf/owners.c,
// docs/bpf-owners.md); where the kernel refuses it, the walk above, and the reason in the stats.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { RING_NOT_READ, parseRingFiles, ringSocketInodes } from './io-uring.js';
import { netlinkAddon } from './netlink/index.js';

/**
 * Every fd link of some processes, as numbers. `sockets` holds one record per pid: pid, n (-1: the
 * process is gone, -2: its fd directory could not be read), denied (links that could not be
 * read), then n pairs (socket inode, fd). `ioUring` holds (pid, fd) of each io_uring instance
 * (an 'anon_inode:[io_uring]' link). Entries whose name is not an fd number are skipped.
 */
export interface FdWalk {
  sockets: Float64Array;
  ioUring: Float64Array;
  /** (pid, fd, namespace inode) of each open network namespace file ('net:[inode]': namespaces.ts heldNamespaceDoors) */
  netns?: Float64Array;
}

type Walker = (procRoot: string, pids: number[]) => [Float64Array, Float64Array, Float64Array?];

/**
 * The fds of `pids` from the kernel's BPF task_file iterator (bpf/owners.c): the walk's result,
 * with nothing denied; or why it cannot be had here (not root, no BTF, a kernel before 5.8, a
 * refusal of the verifier, LSM_BPF=off, a /proc of another pid namespace), for the caller to walk.
 */
export function walkFdsBpf(procRoot: string, pids: number[]): FdWalk | { refused: string } {
  const refused = prepareBpf(procRoot);
  if (refused !== null) return { refused };
  const owners = (netlinkAddon() as { socketOwners?: Walker } | null)?.socketOwners;
  if (!owners) return { refused: 'the native reader is not built (or predates it)' };
  try {
    const [sockets, ioUring, netns] = owners(procRoot, pids);
    return { sockets, ioUring, netns };
  } catch (err) {
    return { refused: (err as Error).message };
  }
}

/**
 * Load the BPF iterator (once a process: the kernel's BTF and the verifier); null when ready, else
 * why it cannot be used. Early in a scan, its BTF pages are let go before the heap grows.
 */
function prepareBpf(procRoot: string): string | null {
  if (process.env.LSM_BPF === 'off') return 'LSM_BPF=off';
  if (procRoot !== '/proc') return `${procRoot} is not /proc`;
  const a = netlinkAddon() as { socketOwners?: Walker; prepareSocketOwners?: (procRoot: string) => void } | null;
  if (!a?.socketOwners || !a.prepareSocketOwners) return 'the native reader is not built (or predates it)';
  try {
    a.prepareSocketOwners(procRoot);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The native walk, or null when the addon is not built (or is turned off: LSM_NETLINK=off). */
function nativeWalker(): Walker | null {
  const a = netlinkAddon() as { walkFds?: Walker } | null;
  return a?.walkFds ?? null;
}

/** The namespace inode a network namespace file's link names ('net:[4026531840]'), or -1. */
export function netnsLinkInode(link: string): number {
  return /^net:\[\d{1,15}\]$/.test(link) ? Number(link.slice(5, -1)) : -1;
}

/** The socket inode a link names ('socket:[123]': 1 to 15 digits, nothing else), or -1. */
export function socketLinkInode(link: string): number {
  return /^socket:\[\d{1,15}\]$/.test(link) ? Number(link.slice(8, -1)) : -1;
}

const FD_NAME = /^\d{1,10}$/;

/** walkFds in JS: the reference for the native walk, and the path when the addon is missing. */
export function walkFdsJs(procRoot: string, pids: number[]): FdWalk {
  const out: number[] = [];
  const uring: number[] = [];
  const netns: number[] = [];
  for (const pid of pids) {
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) continue;
    const dir = `${procRoot}/${pid}/fd`;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push(pid, code === 'ENOENT' || code === 'ESRCH' ? -1 : -2, 0);
      continue;
    }
    const head = out.length;
    out.push(pid, 0, 0);
    let n = 0;
    let denied = 0;
    for (const name of names) {
      if (!FD_NAME.test(name) || Number(name) > 0x7fffffff) continue;
      let link: string;
      try {
        link = fs.readlinkSync(`${dir}/${name}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') denied++; // ENOENT: closed while we read
        continue;
      }
      const inode = socketLinkInode(link);
      if (inode >= 0) { out.push(inode, Number(name)); n++; } else if (link === 'anon_inode:[io_uring]') uring.push(pid, Number(name));
      else { const ns = netnsLinkInode(link); if (ns >= 0) netns.push(pid, Number(name), ns); }
    }
    out[head + 1] = n;
    out[head + 2] = denied;
  }
  return { sockets: Float64Array.from(out), ioUring: Float64Array.from(uring), netns: Float64Array.from(netns) };
}

/** The fd links of `pids` under `procRoot`: natively when the addon is there, else in JS. */
export function walkFds(procRoot: string, pids: number[]): FdWalk {
  const native = nativeWalker();
  if (native === null) return walkFdsJs(procRoot, pids);
  let found: ReturnType<Walker>;
  try {
    found = native(procRoot, pids); // netns: an addon built before it has none
  } catch (err) {
    // the root itself gone (a thread's /proc/<pid>/task, its process exited meanwhile): every pid is
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ESRCH') throw err;
    return walkFdsJs(procRoot, pids);
  }
  const [sockets, ioUring, netns] = found;
  return { sockets, ioUring, netns };
}

/**
 * Each pid's socket inodes from a walk (only those in `wanted`, when given), as socketInodesOf
 * gives them: 'unreadable' when links were refused and no wanted socket was read.
 */
export function walkResults(walk: FdWalk, procRoot: string, wanted?: { has(inode: number): boolean }): Map<number, FdResult> {
  const result = new Map<number, FdResult>();
  // io-uring.ts: sockets held in a ring's fixed-file table, with no fd of their own
  const rings = new Map<number, { inodes: number[]; denied: number }>();
  const u = walk.ioUring;
  for (let k = 0; k + 2 <= u.length; k += 2) {
    const pid = u[k];
    const held = ringSocketInodes(fs, `${procRoot}/${pid}/fdinfo/${u[k + 1]}`);
    const r = rings.get(pid) ?? { inodes: [], denied: 0 };
    if (held === null) r.denied++;
    else for (const inode of held) if (!wanted || inode === RING_NOT_READ || wanted.has(inode)) r.inodes.push(inode); // a ring not read is always said
    rings.set(pid, r);
  }
  const v = walk.sockets;
  for (let at = 0; at + 3 <= v.length;) {
    const pid = v[at];
    const n = v[at + 1];
    const denied = v[at + 2];
    at += 3;
    if (n === -1) { result.set(pid, 'gone'); continue; }
    if (n < 0) { result.set(pid, 'unreadable'); continue; }
    let inodes: number[] = [];
    for (let k = 0; k < n; k++, at += 2) if (!wanted || wanted.has(v[at])) inodes.push(v[at]);
    const ring = rings.get(pid);
    // a socket both in a ring and in an fd is one socket
    if (ring) inodes = [...new Set([...inodes, ...ring.inodes])];
    result.set(pid, denied + (ring?.denied ?? 0) > 0 && inodes.length === 0 ? 'unreadable' : inodes);
  }
  return result;
}

export type FdResult = number[] | 'gone' | 'unreadable';

/**
 * One process's socket inodes (only those in `wanted`, when given); with `netns`, (fd, inode) of its
 * open network namespace files too. Self-contained, with `fs` passed in, because the worker runs
 * this very function from its source text.
 */
export function socketInodesOf(files: typeof fs, dir: string, wanted?: { has(inode: number): boolean }, netns?: number[]): FdResult {
  let fds: string[];
  try {
    fds = files.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? 'gone' : 'unreadable';
  }
  let inodes: number[] = [];
  let denied = 0;
  let rings = 0;
  for (const fd of fds) {
    // an fd number (what the native walk reads too): a fixture or a hostile mount may hold others
    if (!/^\d{1,10}$/.test(fd) || Number(fd) > 0x7fffffff) continue;
    let link: string;
    try {
      link = files.readlinkSync(`${dir}/${fd}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') denied++; // ENOENT: closed while we read
      continue;
    }
    // 'socket:[' and 1 to 15 digits and ']', nothing else (as socketLinkInode and the native walk)
    if (link.charCodeAt(0) === 115 && /^socket:\[\d{1,15}\]$/.test(link)) {
      const inode = Number(link.slice(8, -1));
      if (!wanted || wanted.has(inode)) inodes.push(inode);
    } else if (link.charCodeAt(0) === 97 && link === 'anon_inode:[io_uring]') {
      // io-uring.ts: sockets held in the ring's fixed-file table, with no fd of their own
      const held = ringSocketInodes(files, `${dir}info/${fd}`);
      if (held === null) denied++;
      // -1: RING_NOT_READ (a literal: the worker runs this from its source text), always said
      else for (const inode of held) if (!wanted || inode === -1 || wanted.has(inode)) inodes.push(inode);
      rings++;
    } else if (netns && link.charCodeAt(0) === 110 && /^net:\[\d{1,15}\]$/.test(link)) netns.push(Number(fd), Number(link.slice(5, -1))); // (fd, inode): a namespace file
  }
  if (rings > 0 && inodes.length > 1) inodes = [...new Set(inodes)]; // a socket both in a ring and in an fd
  // fds we may list but not follow (a sandbox, Yama, an LSM): this process's sockets stay unattributed
  return denied > 0 && inodes.length === 0 ? 'unreadable' : inodes;
}

/** fd number of each of `inodes` that process `pid` holds (inode -> fd; the lowest fd of several). */
export function socketFds(procRoot: string, pid: number, inodes: Set<number>): Map<number, number> {
  const found = new Map<number, number>();
  const v = walkFds(procRoot, [pid]).sockets;
  const n = v.length >= 3 ? v[1] : 0;
  for (let k = 0, at = 3; k < n; k++, at += 2) {
    const inode = v[at];
    const fd = v[at + 1];
    if (inodes.has(inode) && !(found.get(inode)! <= fd)) found.set(inode, fd);
  }
  return found;
}

/** Open files on the whole host (first field of /proc/sys/fs/file-nr); 0 when unknown. */
function openFiles(procRoot: string): number {
  try {
    return Number(fs.readFileSync(`${procRoot}/sys/fs/file-nr`, 'latin1').split(/\s/, 1)[0]) || 0;
  } catch {
    return 0;
  }
}

// Below this many open files a worker's start (~30 ms) costs more than the overlap saves.
const PARALLEL_FROM = 20_000;

// Records in the shared buffer: pid, n, then n inodes; n = -1: gone, -2: unreadable.
// control: [0] done, [1] length used (-1: failed), [2] the next index into pids to take.
const WORKER_SOURCE = `
const fs = require('node:fs');
const { workerData: w } = require('node:worker_threads');
const parseRingFiles = ${parseRingFiles.toString()};
const ringSocketInodes = ${ringSocketInodes.toString()};
const socketInodesOf = ${socketInodesOf.toString()};
const control = new Int32Array(w.control);
const out = new Float64Array(w.data);
let at = 0;
try {
  for (let i = Atomics.add(control, 2, 1); i < w.pids.length; i = Atomics.add(control, 2, 1)) {
    const pid = w.pids[i];
    const r = socketInodesOf(fs, w.procRoot + '/' + pid + '/fd');
    const n = r === 'gone' ? -1 : r === 'unreadable' ? -2 : r.length;
    if (at + 2 + Math.max(n, 0) > out.length) { at = -1; break; }
    out[at++] = pid; out[at++] = n;
    if (n > 0) for (const inode of r) out[at++] = inode;
  }
} catch { at = -1; }
Atomics.store(control, 1, at);
Atomics.store(control, 0, 1);
Atomics.notify(control, 0);
`;

export interface FdScan {
  /** why the BPF iterator was wanted and not used (the fds were walked instead), set by finish() */
  bpfRefused?: string;
  /** (pid, fd) of each io_uring instance the walk saw (empty until finish(); the worker does not look) */
  ioUring: Float64Array;
  /** the native walk's (inode, fd) pairs, once finish() ran it (in-flight.ts reads fdinfo by them) */
  walk?: FdWalk;
  /**
   * Read the processes the worker has not taken yet here (with `wanted`; `help` false: leave
   * them all to the worker), wait for the worker, and give every pid's socket inodes. A pid the
   * worker took but could not report (it failed, or its buffer filled up) is missing: read it in
   * line.
   */
  finish(wanted: { has(inode: number): boolean }, help?: boolean): Map<number, FdResult>;
}

// Below this many open files on the host, loading the iterator (the kernel's BTF, the verifier:
// ~10 ms of CPU once a process) costs more than the readlinks it saves (bench/RESULTS.md).
const BPF_FROM = 5_000;

/**
 * Start reading the socket fds of `pids`: on a host with enough open files for it to pay, through
 * the BPF iterator (`bpf`: true forces it, false never; else LSM_BPF=on|off), else natively, or in a worker
 * (`parallel`: true forces it, false never); null means: read them in line.
 */
export function startFdScan(procRoot: string, pids: number[], parallel?: boolean, bpf?: boolean): FdScan | null {
  // LSM_BPF=on: whatever the size; off: never, and said (walkFdsBpf)
  const env = process.env.LSM_BPF;
  const useBpf = parallel === undefined && bpf !== false && (bpf === true || env === 'on' || env === 'off' || openFiles(procRoot) >= BPF_FROM);
  // the native walk costs less CPU than the worker and the JS walk together (the worker: only without it)
  if (parallel !== true && parallel !== false && nativeWalker() !== null) {
    if (useBpf) prepareBpf(procRoot); // a refusal is said by finish(), which asks again (cached)
    const scan: FdScan = {
      ioUring: new Float64Array(0),
      finish(wanted) {
        let walk = useBpf ? walkFdsBpf(procRoot, pids) : null;
        if (walk !== null && 'refused' in walk) { scan.bpfRefused = walk.refused; walk = null; }
        walk ??= walkFds(procRoot, pids);
        scan.ioUring = walk.ioUring;
        scan.walk = walk;
        return walkResults(walk, procRoot, wanted);
      },
    };
    return scan;
  }
  const files = parallel === false ? 0 : openFiles(procRoot);
  if (parallel !== true && files < PARALLEL_FROM) return null;
  // room for every open file on the host, a margin for new ones, and two fields per pid
  const capacity = Math.ceil(Math.max(files, 1024) * 1.5) + 2 * pids.length;
  const control = new SharedArrayBuffer(12);
  const data = new SharedArrayBuffer(capacity * 8);
  let worker: import('node:worker_threads').Worker;
  try {
    // worker_threads only on a busy host (~5 ms to load: not at every small host's start)
    const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
    // a small young generation: the link strings are garbage at once (keeps peak RSS down)
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { procRoot, pids, control, data }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  } catch {
    return null;
  }
  worker.unref();
  worker.on('error', () => { /* reported as an unfinished scan by finish() */ });
  return {
    ioUring: new Float64Array(0),
    finish(wanted, help = true) {
      const state = new Int32Array(control);
      const result = new Map<number, FdResult>();
      for (let i = help ? Atomics.add(state, 2, 1) : pids.length; i < pids.length; i = Atomics.add(state, 2, 1)) {
        result.set(pids[i], socketInodesOf(fs, `${procRoot}/${pids[i]}/fd`, wanted));
      }
      // bounded: a worker that died never sets the flag; 30 s is far beyond any real scan
      for (let waited = 0; Atomics.load(state, 0) === 0 && waited < 30_000; waited += 100) Atomics.wait(state, 0, 0, 100);
      const length = Atomics.load(state, 0) === 1 ? Atomics.load(state, 1) : -1;
      void worker.terminate();
      const out = new Float64Array(data, 0, Math.max(length, 0));
      for (let at = 0; at < length;) {
        const pid = out[at++];
        const n = out[at++];
        if (n === -1) result.set(pid, 'gone');
        else if (n === -2) result.set(pid, 'unreadable');
        else {
          const inodes = new Array<number>(n); // a plain loop: Array.from(typed array) made an iterator result per element
          for (let k = 0; k < n; k++) inodes[k] = out[at + k];
          result.set(pid, inodes);
          at += n;
        }
      }
      return result;
    },
  };
}
