// Threads that do not see what their process sees. /proc/<pid>/fd and /proc/<pid>/ns/net are the
// thread group leader's; a thread may have its own:
//  - fd table: it called unshare(CLONE_FILES), or was cloned without CLONE_FILES; its sockets are
//    in /proc/<pid>/task/<tid>/fd only (ss -p and lsof read /proc/<pid>/fd: they name no owner);
//  - network namespace: setns or unshare(CLONE_NEWNET) act on the calling thread alone; a namespace
//    only such a thread is in is in no process's ns link (ss, lsof and ip netns miss it whole);
//  - a leader that called pthread_exit is a zombie: its fd and ns links are empty while the other
//    threads run on, holding everything.
// Only a process with more than one thread can have such threads (nlink of /proc/<pid>/task is 2 +
// its threads: one stat a process). Whether a thread's table is the leader's is asked of the kernel
// (kcmp, sockdiag.c sameFiles); /proc names no table. Without kcmp (no addon, or one built before
// it), a thread's table is walked when its size differs from the leader's (stat's size of an fd
// directory is its count of open fds, Linux 6.2) or is unknown: walking every thread's table would
// cost a thread pool of 50 over 5,000 files 250,000 readlinks a scan (1.1 s of CPU, measured). A
// thread that keeps its count equal to the leader's while holding other files is missed then.
import { lstatSync, readdirSync } from 'node:fs';
import { netlinkAddon } from './netlink/index.js';
import { readNetns } from './processes.js';

/** A thread of `pid` that has a table or a namespace its leader does not show. */
export interface ApartThread {
  pid: number;
  tid: number;
  /** its network namespace when it is not the leader's (or the leader's cannot be read), else null */
  netns: number | null;
  /** its fd table may not be the leader's: walk /proc/<pid>/task/<tid>/fd */
  ownFiles: boolean;
}

/** How many threads `pid` has (0: gone or unknown). */
export function threadCount(procRoot: string, pid: number): number {
  try { return Math.max(lstatSync(`${procRoot}/${pid}/task`).nlink - 2, 0); } catch { return 0; }
}

type SameFiles = (pid: number, tids: number[]) => number[];

/**
 * The threads of `pid` (other than the leader) whose fd table or network namespace is not the
 * leader's; `leaderNs` null when the leader's cannot be read (a zombie leader). Only for a process
 * with more than one thread, or whose leader's links are gone.
 */
export function threadsApart(procRoot: string, pid: number, leaderNs: number | null): ApartThread[] {
  let names: string[];
  try { names = readdirSync(`${procRoot}/${pid}/task`); } catch { return []; }
  const tids: number[] = [];
  for (const name of names) if (/^\d{1,10}$/.test(name) && Number(name) !== pid) tids.push(Number(name));
  if (tids.length === 0) return [];
  // 1: the same table, 0: another, -1: not compared (then walked); a fixture tree has no kernel to ask
  const same = procRoot === '/proc' ? ((netlinkAddon() as { sameFiles?: SameFiles } | null)?.sameFiles) : undefined;
  let shares: number[] | null = null;
  try { shares = same ? same(pid, tids) : null; } catch { shares = null; }
  const fdCount = (dir: string) => { try { return lstatSync(dir).size; } catch { return 0; } };
  const leaderFds = shares === null || shares.includes(-1) ? fdCount(`${procRoot}/${pid}/fd`) : 0;
  const apart: ApartThread[] = [];
  for (let i = 0; i < tids.length; i++) {
    const tid = tids[i];
    const ns = readNetns(procRoot, tid);
    if (!ns.ok) continue; // exited meanwhile (a zombie thread has no links)
    const netns = ns.value === leaderNs ? null : ns.value;
    let ownFiles = shares !== null && shares[i] === 0;
    if (shares === null || shares[i] === -1) { const n = fdCount(`${procRoot}/${pid}/task/${tid}/fd`); ownFiles = n === 0 || n !== leaderFds; }
    if (netns !== null || ownFiles) apart.push({ pid, tid, netns, ownFiles });
  }
  return apart;
}
