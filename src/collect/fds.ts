// Socket fds of every process: /proc/<pid>/fd/* -> 'socket:[inode]'. On a busy host this is one
// readlink per open file (100k sockets: ~0.4 s of kernel time), as long as reading every socket
// table; so when the host has many open files, a worker thread reads the links while the main
// thread reads the tables, and the two costs overlap instead of adding up. Both take processes
// from one shared counter, so the main thread, done with the tables, reads what the worker has
// not reached yet. The worker writes into shared memory and the main thread waits on it with
// Atomics, so collect() stays synchronous.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { parseRingFiles, ringSocketInodes } from './io-uring.js';

export type FdResult = number[] | 'gone' | 'unreadable';

/**
 * One process's socket inodes (only those in `wanted`, when given). Self-contained, with `fs`
 * passed in, because the worker runs this very function from its source text.
 */
export function socketInodesOf(files: typeof fs, dir: string, wanted?: { has(inode: number): boolean }): FdResult {
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
    let link: string;
    try {
      link = files.readlinkSync(`${dir}/${fd}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') denied++; // ENOENT: closed while we read
      continue;
    }
    // 'socket:[' is 8 characters; the check on the first one keeps the hot loop cheap
    if (link.charCodeAt(0) === 115 && link.startsWith('socket:[')) {
      const inode = Number(link.slice(8, -1));
      if (!wanted || wanted.has(inode)) inodes.push(inode);
    } else if (link.charCodeAt(0) === 97 && link === 'anon_inode:[io_uring]') {
      // io-uring.ts: sockets held in the ring's fixed-file table, with no fd of their own
      const held = ringSocketInodes(files, `${dir}info/${fd}`);
      if (held === null) denied++;
      else for (const inode of held) if (!wanted || wanted.has(inode)) inodes.push(inode);
      rings++;
    }
  }
  if (rings > 0 && inodes.length > 1) inodes = [...new Set(inodes)]; // a socket both in a ring and in an fd
  // fds we may list but not follow (a sandbox, Yama, an LSM): this process's sockets stay unattributed
  return denied > 0 && inodes.length === 0 ? 'unreadable' : inodes;
}

/** fd number of each of `inodes` that the process in `dir` holds (inode -> fd). */
export function socketFds(dir: string, inodes: Set<number>): Map<number, number> {
  const found = new Map<number, number>();
  let fds: string[];
  try { fds = fs.readdirSync(dir); } catch { return found; }
  for (const fd of fds) {
    let link: string;
    try { link = fs.readlinkSync(`${dir}/${fd}`); } catch { continue; }
    const inode = link.startsWith('socket:[') ? Number(link.slice(8, -1)) : NaN;
    if (inodes.has(inode) && !found.has(inode)) found.set(inode, Number(fd));
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
  /**
   * Read the processes the worker has not taken yet here (with `wanted`; `help` false: leave
   * them all to the worker), wait for the worker, and give every pid's socket inodes. A pid the
   * worker took but could not report (it failed, or its buffer filled up) is missing: read it in
   * line.
   */
  finish(wanted: { has(inode: number): boolean }, help?: boolean): Map<number, FdResult>;
}

/**
 * Start reading the socket fds of `pids` in a worker, when the host has enough open files for it
 * to pay (`parallel`: true forces it, false never); null means: read them in line.
 */
export function startFdScan(procRoot: string, pids: number[], parallel?: boolean): FdScan | null {
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
