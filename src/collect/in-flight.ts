// Fds in flight: a process may send a socket's fd by SCM_RIGHTS into a unix socket's queue and
// close its own; until someone receives it, only the queue holds it. Made in a namespace of its
// own (unshare -n) that then has no process, such a listener is in no fd and no table lsm can
// reach (ss and lsof miss it too). What the kernel does say (fdinfo of a unix socket, 6.x:
// `scm_fds: N`) is how many fds its receive queue carries: the scan names each queue that carries
// some, and its holder. Passing fds is normal (systemd, dbus) but lasts milliseconds: a queue is
// named only when it still carries fds when read again SETTLE_MS later, in the same fd of the same
// process.
import * as fs from 'node:fs';
import { walkFds, type FdWalk } from './fds.js';

/** A unix socket (inode) open as `fd` in `pid`. */
export interface QueueFd { pid: number; inode: number; fd: number }

export const SETTLE_MS = 100;

const buf = Buffer.alloc(4096);
const SCM = Buffer.from('scm_fds:');

/** The unix socket fds of a walk: its (inode, fd) pairs whose inode is in `unix`. */
export function unixFds(walk: FdWalk, unix: { has(inode: number): boolean }): QueueFd[] {
  const out: QueueFd[] = [];
  const v = walk.sockets;
  for (let at = 0; at + 3 <= v.length;) {
    const pid = v[at];
    const n = v[at + 1];
    at += 3;
    for (let k = 0; k < n; k++, at += 2) if (unix.has(v[at])) out.push({ pid, inode: v[at], fd: v[at + 1] });
  }
  return out;
}

/**
 * The fds in flight in the queue of `q` (fdinfo's scm_fds), only while that fd is still that socket
 * (fdinfo's ino); 0 when it is not, or the kernel does not say (older kernels, a process gone).
 */
export function scmFds(procRoot: string, q: QueueFd): number {
  let fd: number;
  try {
    fd = fs.openSync(`${procRoot}/${q.pid}/fdinfo/${q.fd}`, 'r');
  } catch {
    return 0;
  }
  let n: number;
  try {
    n = fs.readSync(fd, buf, 0, buf.length, null); // one read: a socket's fdinfo is ~80 bytes
  } catch {
    return 0;
  } finally {
    fs.closeSync(fd);
  }
  // most queues carry nothing: the line's value is '0' then, known without a string
  const read = buf.subarray(0, n);
  let at = read.indexOf(SCM);
  if (at < 0) return 0;
  for (at += SCM.length; read[at] === 0x20 || read[at] === 0x09; at++);
  if (read[at] === 0x30 && read[at + 1] === 0x0a) return 0;
  const text = buf.toString('latin1', 0, n);
  if (!new RegExp(`^ino:\\s*${q.inode}\\s*$`, 'm').test(text)) return 0;
  const m = /^scm_fds:\s*(\d{1,9})\s*$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** Of the unix socket fds, those whose queue carries fds now. */
export function queuesCarryingFds(procRoot: string, fds: QueueFd[]): QueueFd[] {
  return fds.filter((q) => scmFds(procRoot, q) > 0);
}

/**
 * Of the queues that carried fds at `since` (ms), those that still do SETTLE_MS later (waiting out
 * the rest when collect took less): a pass that lasts milliseconds is not named.
 */
export function stillCarrying(procRoot: string, first: QueueFd[], since: number, settleMs = SETTLE_MS): QueueFd[] {
  if (first.length === 0) return [];
  const left = Math.min(settleMs, settleMs - (Date.now() - since));
  if (left > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, left);
  return queuesCarryingFds(procRoot, first);
}

/** The unix socket fds of `pids`, from the scan's own walk when it kept one, else walked now. */
export function unixFdsOf(procRoot: string, walk: FdWalk | undefined, pids: number[], unix: { has(inode: number): boolean }): QueueFd[] {
  return unixFds(walk ?? walkFds(procRoot, pids), unix);
}
