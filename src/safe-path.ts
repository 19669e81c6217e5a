// Root safety, like sshd's StrictModes: lsm runs as root among users who may be hostile, so every
// directory it reads code or config from or writes to, and every parent of it up to /, must be
// owned by root or the running user and not writable by group or others; files are opened without
// following symlinks and checked on the opened descriptor (fstat), never by name first.
//
// One departure from sshd's secure_path: a parent that is root's (or ours), world-writable and
// sticky (/tmp) is accepted as a parent, because in a sticky directory nobody else can rename or
// remove the entry we go through (and that entry is checked in turn). It is never accepted as
// the directory lsm reads or writes entries in, and a missing component right under it is refused
// (another user could create it first). Another: a root-owned parent that only a system group
// may also write (gid 1-999, not others: Ubuntu's /var/log is root:syslog 0775) is accepted as a
// parent, else the default event log is refused on Ubuntu's first run; a system group's members
// are daemons, the entry below is checked in turn, and files are opened O_NOFOLLOW with one link.
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync, readlinkSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { EXIT, LsmError, ioError } from './errors.js';

const ME = process.geteuid?.() ?? 0;
const MAX_LINKS = 40; // as the kernel's ELOOP
const SYSTEM_GID_END = 1000; // Debian policy: system groups are below 1000 (adduser's FIRST_GID)

const ownedWell = (uid: number) => uid === 0 || uid === ME;
const fixOwner = () => (ME === 0 ? 'chown root' : `chown ${ME}`);

function unsafe(what: string, message: string): LsmError {
  return new LsmError(`refusing unsafe ${what}: ${message}`, EXIT.UNSAFE);
}

/** What is wrong with one component, with the fix; null when it is safe. */
function problem(path: string, st: Stats, asParent: boolean): string | null {
  if (!ownedWell(st.uid)) return `${path} is owned by uid ${st.uid}, not root${ME === 0 ? '' : ` or uid ${ME}`} (${fixOwner()} ${path}, or use another path)`;
  if (st.mode & 0o022) {
    if (asParent && st.isDirectory() && st.mode & 0o1000) return null; // sticky, like /tmp
    if (asParent && st.isDirectory() && !(st.mode & 0o002) && st.uid === 0 && st.gid > 0 && st.gid < SYSTEM_GID_END) return null; // root:syslog 0775
    return `${path} is writable by ${st.mode & 0o002 ? 'others' : 'group'} (mode ${(st.mode & 0o7777).toString(8)}; chmod go-w ${path})`;
  }
  return null;
}

/**
 * Check `path` and every directory above it (symlinks followed, each link's owner and each real
 * directory checked). `kind` is what the path must be when it exists; a missing tail is fine
 * (lsm creates it, with safe modes) unless it would be created in a world-writable directory.
 * Throws a one-line LsmError (exit 77) naming the component and the fix.
 */
export function checkPath(path: string, what: string, kind: 'dir' | 'file', parents = new Map<string, Stats>()): void {
  const parts = resolve(path).split('/').filter(Boolean);
  let real = '/';
  let realSt = parents.get('/') ?? lstatSync('/'); // what real is: a directory checked already, or the checked leaf
  const top = problem('/', realSt, parts.length > 0);
  if (top) throw unsafe(what, top);
  if (parts.length) parents.set('/', realSt);
  for (let links = 0; parts.length;) {
    const name = parts.shift()!;
    if (name === '.') continue;
    if (name === '..') { real = dirname(real); realSt = lstatSync(real); continue; } // real has no links: .. is its parent
    const next = join(real, name);
    const last = parts.length === 0;
    const known = last ? undefined : parents.get(next); // a directory this run has passed already
    if (known) { real = next; realSt = known; continue; }
    let st: Stats | undefined;
    try {
      st = lstatSync(next, { throwIfNoEntry: false }); // no exception for the common missing path
    } catch (err) {
      throw ioError(`cannot check ${what} ${path}`, err);
    }
    if (!st) {
      if ((realSt.mode & 0o002) !== 0) throw unsafe(what, `${next} does not exist and ${real} is world-writable: create it first (mkdir -m 700 ${next})`);
      return; // lsm creates the rest, in a directory nobody else may write
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw unsafe(what, `${path}: too many symbolic links`);
      if (!ownedWell(st.uid)) throw unsafe(what, `the symbolic link ${next} is owned by uid ${st.uid} (replace it, or use the real path)`);
      const target = readlinkSync(next);
      parts.unshift(...target.split('/').filter(Boolean));
      if (target.startsWith('/')) { real = '/'; realSt = lstatSync('/'); }
      continue;
    }
    const p = problem(next, st, !last);
    if (p) throw unsafe(what, p);
    if (!last && !st.isDirectory()) throw unsafe(what, `${next} is not a directory`);
    if (!last) parents.set(next, st);
    real = next;
    realSt = st;
  }
  if (kind === 'dir' && !realSt.isDirectory()) throw unsafe(what, `${real} is not a directory`);
  if (kind === 'file' && !realSt.isFile()) throw unsafe(what, `${real} is not a regular file`);
}

/**
 * Open a file without following a symlink at its last component, then check what was opened:
 * a regular file with one link, owned by root or us, not writable by group or others. Returns
 * the descriptor; the caller closes it. `flags` are open(2) flags (O_NOFOLLOW is added).
 */
export function openChecked(path: string, flags: number, mode = 0o600): number {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode); // O_NONBLOCK: a FIFO planted there is refused below, never waited on
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new LsmError(`refusing ${path}: it is a symbolic link`, EXIT.UNSAFE);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const bad = !st.isFile() ? 'not a regular file' : st.nlink !== 1 ? `${st.nlink} hard links` : problem(path, st, false);
    if (bad) throw new LsmError(`refusing ${path}: ${bad}`, EXIT.UNSAFE);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Read a whole file through openChecked (ENOENT and other errors are thrown as they are). */
export function readBytesChecked(path: string): Buffer {
  const fd = openChecked(path, constants.O_RDONLY);
  try {
    const chunks: Buffer[] = [];
    for (let size = Math.max(fstatSync(fd).size, 1 << 12); ; size = 1 << 16) { // bounded by the file's end
      const buf = Buffer.allocUnsafe(size);
      const got = readSync(fd, buf, 0, size, null);
      if (got === 0) break;
      chunks.push(buf.subarray(0, got));
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

export function readChecked(path: string): string {
  return readBytesChecked(path).toString('utf8');
}

/** Replace a file's content in place (small derived data: counters, markers); never via a symlink. */
export function writeChecked(path: string, data: string, mode = 0o644): void {
  const fd = openChecked(path, constants.O_WRONLY | constants.O_CREAT, mode);
  try { ftruncateSync(fd, 0); writeSync(fd, data); } finally { closeSync(fd); }
}

/** Cut a file to `length`, checked as openChecked does (truncate(2) would follow a symlink). */
export function truncateChecked(path: string, length: number): void {
  const fd = openChecked(path, constants.O_WRONLY);
  try { ftruncateSync(fd, length); } finally { closeSync(fd); }
}

/** Append in one write (O_APPEND), creating the file with `mode` when missing; never via a symlink. */
export function appendChecked(path: string, data: string, mode = 0o644): void {
  const fd = openChecked(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, mode);
  try { writeSync(fd, data); } finally { closeSync(fd); }
}

/** Create a new file (O_EXCL: an existing file or a symlink in its place is EEXIST). */
export function createExclusive(path: string, data: string | Uint8Array, mode = 0o644): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    for (let at = 0; at < buf.length;) {
      const n = writeSync(fd, buf, at, buf.length - at);
      if (n <= 0) throw new Error(`${path}: write wrote nothing`); // (a regular file writes all, or fails: ENOSPC)
      at += n;
    }
  } finally { closeSync(fd); }
}

/**
 * Replace path's content whole: written to `tmp` (default path.<pid>.tmp, a name anyone can
 * guess: whatever was planted there is removed, never written through) with O_EXCL|O_NOFOLLOW,
 * then renamed over path; on failure nothing half-written is left behind.
 */
export function replaceFile(path: string, data: string | Uint8Array, mode = 0o644, tmp = `${path}.${process.pid}.tmp`): void {
  try {
    rmSync(tmp, { force: true });
    createExclusive(tmp, data, mode);
    renameSync(tmp, path);
  } catch (err) {
    try { rmSync(tmp, { force: true }); } catch { /* nothing was made */ }
    throw err;
  }
}

/** The paths one lsm run reads code or config from or writes to, checked before anything else. */
export interface RunPaths {
  config: string | null; // the config file read, if any
  ignoreFile: string;
  hooksDir: string;
  repoDir: string | null; // null: no host repository (the fleet's central one is its web server user's)
  spoolDir: string;
  eventLog: string; // '' = off
  sendmail: string; // the program root runs to mail: '' = none (or SMTP instead)
}

export function checkRunPaths(p: RunPaths): void {
  const parents = new Map<string, Stats>(); // shared parents (/, /etc, /var/lib/lsm) are checked once
  if (p.config) checkPath(p.config, 'config file', 'file', parents);
  checkPath(p.ignoreFile, 'ignore file', 'file', parents);
  checkPath(p.hooksDir, 'hooks directory', 'dir', parents);
  if (p.repoDir !== null) {
    checkPath(p.repoDir, 'repository', 'dir', parents);
    for (const sub of ['.git', '.git/lsm', '.git/refs', '.git/objects']) checkPath(join(p.repoDir, sub), 'repository', 'dir', parents); // where lsm writes
  }
  checkPath(p.spoolDir, 'spool directory', 'dir', parents);
  if (p.eventLog) {
    checkPath(dirname(resolve(p.eventLog)), 'event log directory', 'dir', parents);
    checkPath(p.eventLog, 'event log', 'file', parents);
  }
  if (p.sendmail) checkProgram(p.sendmail, 'sendmail (SENDMAIL)', parents);
}

/**
 * A program lsm runs (SENDMAIL): root would run whatever its owner puts there, so it is checked as
 * a hook is, with every directory above it and every link on the way. A missing one is a delivery
 * failure later (the spool keeps the alerts), unless another user could create it.
 */
export function checkProgram(path: string, what: string, parents = new Map<string, Stats>()): void {
  if (!path.startsWith('/')) throw unsafe(what, `${path} is not an absolute path (a bare name is looked up in PATH, a relative one where lsm runs)`);
  checkPath(path, what, 'file', parents);
}
