// Sockets held in an io_uring's fixed-file table (IORING_REGISTER_FILES, or made there directly by
// IORING_OP_SOCKET): once the plain fd is closed, no /proc/<pid>/fd link names the socket, and only
// the ring's /proc/<pid>/fdinfo/<ring fd> does (issue 18.3; neither ss nor lsof looks there):
//
//   UserFiles:	2
//       0: socket:[1222735]
//       3: /tmp/a\040file
//   UserBufs:	0
//
// The kernel prints each file with seq_file_path (space, tab, newline and backslash escaped; an
// empty slot skipped), so a file's name cannot imitate an entry. Kernels before that printed the
// dentry's short name raw (a socket as 'TCP', an empty slot as '<none>'): there a user names what
// they like, so such a table gives no sockets at all and says it cannot be read.
import * as fs from 'node:fs';
import { readNetns } from './processes.js';

/**
 * Socket inodes in the fixed-file table of one ring's fdinfo text; null when the table is not in
 * the format above (an older kernel, a cut or damaged text): the ring's sockets are then unknown.
 * Self-contained: the fd walk's worker runs it from its source text.
 */
export function parseRingFiles(text: string): number[] | null {
  const lines = text.split('\n');
  let at = 0;
  while (at < lines.length && !lines[at].startsWith('UserFiles:\t')) at++;
  if (at === lines.length) return null; // not a ring's fdinfo, or cut before its table
  const declared = lines[at].slice('UserFiles:\t'.length);
  if (!/^\d{1,10}$/.test(declared)) return null;
  const count = Number(declared);
  const inodes: number[] = [];
  let last = -1;
  let entries = 0;
  for (at++; at < lines.length; at++) {
    const entry = /^ *(\d{1,10}): ([^]*)$/.exec(lines[at]); // [^]: a name may hold a CR, raw
    if (entry === null) break; // the next header (UserBufs:)
    const index = Number(entry[1]);
    const name = entry[2];
    // each slot once, in order, within the count: an extra line can only be a name's forgery
    if (index <= last || index >= count || ++entries > count) return null;
    last = index;
    // a path, or a pseudo file's 'type:[...]' / 'anon_inode:...': anything else ('<none>', a short
    // name) is the older, raw format
    if (name.charCodeAt(0) !== 47 && !/^[a-z_]+:/.test(name)) return null;
    const socket = /^socket:\[(\d{1,15})\]$/.exec(name);
    if (socket !== null) inodes.push(Number(socket[1]));
  }
  // empty slots are skipped, so fewer entries are fine when the next header follows; else the text
  // was cut inside the table, and what is missing is unknown
  if (entries < count && !/^[A-Z][A-Za-z]*:/.test(lines[at] ?? '')) return null;
  return inodes;
}

/**
 * Stands for the sockets of a ring whose table could not be read or trusted: a user can always
 * make it so (register one socket in every slot RLIMIT_NOFILE allows, or files with long paths: the
 * text passes any bound, or the kernel cannot allocate it). It flows like a socket in no table, to
 * an unattributed line of the holder ('io_uring/unreadable'), so the ring cannot hide a
 * socket, or the namespace only that socket keeps alive, without being said.
 */
export const RING_NOT_READ = -1;

/**
 * Socket inodes held by the ring at `fdinfoPath` (/proc/<pid>/fdinfo/<fd>): [] when it is gone,
 * [RING_NOT_READ] when its table cannot be read or trusted. Self-contained but for parseRingFiles,
 * with `files` passed in, like fds.ts socketInodesOf, whose worker runs both from their source text.
 */
export function ringSocketInodes(files: typeof fs, fdinfoPath: string): number[] | null {
  const notRead = [-1]; // RING_NOT_READ (a literal: the worker runs this from its source text)
  let fd: number;
  try {
    fd = files.openSync(fdinfoPath, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? [] : notRead; // closed meanwhile: nothing held
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 16);
      const n = files.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > 8 << 20) return notRead; // a ring holds up to RLIMIT_NOFILE files (~40 bytes a line): bounded
      chunks.push(buf.subarray(0, n));
    }
    return parseRingFiles(Buffer.concat(chunks).toString('latin1')) ?? notRead;
  } catch {
    return notRead;
  } finally {
    files.closeSync(fd);
  }
}

/**
 * Of each process's sockets in no table read, those one of its rings holds (pid -> inodes): they
 * have no fd to look through (index.ts lookAtStrays), so they are found here from `rings`, the fd
 * walk's (pid, fd) of each io_uring instance of these processes (fds.ts walkFds).
 */
export function ringHeldStrays(procRoot: string, strays: Map<number, number[]>, rings: Float64Array): Map<number, Set<number>> {
  const result = new Map<number, Set<number>>();
  for (let k = 0; k + 2 <= rings.length; k += 2) {
    const pid = rings[k];
    const inodes = strays.get(pid);
    if (inodes === undefined) continue;
    for (const inode of ringSocketInodes(fs, `${procRoot}/${pid}/fdinfo/${rings[k + 1]}`) ?? [RING_NOT_READ]) {
      if (!inodes.includes(inode)) continue;
      const set = result.get(pid);
      if (set) set.add(inode); else result.set(pid, new Set([inode]));
    }
  }
  return result;
}

/**
 * Namespaces a ring holder's own threads are in, that no table read covers: each a way in
 * (netns -> a thread id, and the holders). A ring made with IORING_SETUP_SQPOLL keeps its
 * iou-sqp thread in the namespace the ring was made in, and io-wq workers stay in the one they
 * started in, after the process itself moved on: the likeliest home of what the ring holds.
 * At most `max` (each is a namespace read; a user can make many).
 */
export function ringThreadDoors(procRoot: string, holders: Iterable<number>, known: Set<number>, max: number): Map<number, { tid: number; pids: number[] }> {
  const doors = new Map<number, { tid: number; pids: number[] }>();
  for (const pid of holders) {
    let tids: string[];
    try { tids = fs.readdirSync(`${procRoot}/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      if (!/^\d{1,10}$/.test(tid)) continue;
      const ns = readNetns(procRoot, Number(tid));
      if (!ns.ok || known.has(ns.value)) continue;
      const door = doors.get(ns.value);
      if (door) { if (!door.pids.includes(pid)) door.pids.push(pid); } else if (doors.size < max) doors.set(ns.value, { tid: Number(tid), pids: [pid] });
    }
  }
  return doors;
}

/**
 * Name 'io_uring' what each ring-held socket still in no table is, unless something else named
 * it: the line then says where the socket hides.
 */
export function nameRingHeld(ringHeld: Map<number, Set<number>>, what: Map<number, string>): void {
  for (const inodes of ringHeld.values()) for (const inode of inodes) if (!what.has(inode)) what.set(inode, inode === RING_NOT_READ ? 'io_uring/unreadable' : 'io_uring');
}
