// Per-process facts from /proc/<pid>: network namespace and owner details (socket fds: fds.ts).
// Processes exit while we read: ENOENT/ESRCH mean "gone", which is normal, never an error.
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { EXIT, LsmError } from '../errors.js';
import type { Owner } from '../types.js';

/** code: the errno's name when the kernel refused (EACCES: not root) */
export type ReadResult<T> = { ok: true; value: T } | { ok: false; gone: boolean; code?: string };

function fail(err: unknown): { ok: false; gone: boolean; code?: string } {
  const code = (err as NodeJS.ErrnoException).code;
  return { ok: false, gone: code === 'ENOENT' || code === 'ESRCH', code };
}

/** The pids under a /proc root; a root that cannot be read, or holds no process, is an error. */
export function listPids(procRoot: string): number[] {
  const pids: number[] = [];
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch (err) {
    throw new LsmError(`cannot read ${procRoot}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.FAILURE);
  }
  for (const name of names) {
    if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57 && /^\d+$/.test(name)) pids.push(Number(name));
  }
  // an empty snapshot of a directory that is not /proc would commit every socket as gone
  if (pids.length === 0) throw new LsmError(`${procRoot} holds no processes: not a proc file system`, EXIT.FAILURE);
  return pids.sort((a, b) => a - b);
}

/** Inode named by a namespace link such as 'net:[4026531840]'. */
export function nsInode(link: string): number | null {
  const m = /\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

export function readNetns(procRoot: string, pid: number | 'self', type: 'net' | 'mnt' = 'net'): ReadResult<number> {
  try {
    const ino = nsInode(readlinkSync(`${procRoot}/${pid}/ns/${type}`));
    return ino === null ? { ok: false, gone: false } : { ok: true, value: ino };
  } catch (err) {
    return fail(err);
  }
}

function readLatin1(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

function readLinkLatin1(path: string): string | null {
  try {
    return (readlinkSync(path, 'buffer') as Buffer).toString('latin1');
  } catch {
    return null;
  }
}

/**
 * Container id named by a cgroup path: docker, podman (libpod), containerd/CRI-O, kubepods and
 * LXC, in cgroup v1 and v2 forms. Docker-style ids are shortened to the 12 characters `docker ps` shows.
 */
export function containerFromCgroup(cgroup: string): string | null {
  const m =
    /(?:docker|libpod|crio|cri-containerd|containerd)[-/:]([0-9a-f]{64})/.exec(cgroup) ??
    /\/kubepods[^\n]*\/([0-9a-f]{64})/.exec(cgroup);
  if (m) return m[1].slice(0, 12);
  // lxc/<name> (v1), lxc.payload.<name> (LXC 4, LXD), lxc.payload/<name> (LXC 3); never the
  // monitor's lxc.monitor.<name> or lxc.pivot, which are on the host, beside the container
  const lxc = /\/lxc(?:\.payload[./]|\/)([^/\n.]+)/.exec(cgroup);
  return lxc ? `lxc-${lxc[1]}` : null;
}

/**
 * The container a process's cgroup names, believed only where no user could have made the claim.
 * With cgroup delegation (systemd gives each user session, and each service with Delegate=, a
 * subtree its user owns) a user can create `docker-<id>.scope` or `lxc.payload.<name>` and move
 * processes into it; and a cgroup's name is printed raw in /proc/<pid>/cgroup, so a name holding a
 * newline can forge a line. So the claim counts only when the named directory under `cgroupRoot`
 * and every directory above it (to the hierarchy's mount) are root's, none a link, and its
 * cgroup.procs lists the process. Results are cached per directory for one collection.
 */
export function cgroupContainers(cgroupRoot: string): (pid: number, cgroup: string) => string | null {
  const rootOwned = new Map<string, boolean>();
  const members = new Map<string, Set<number> | null>();
  const exists = (path: string) => { try { lstatSync(path); return true; } catch { return false; } };
  const owned = (dir: string): boolean => {
    let ok = rootOwned.get(dir);
    if (ok === undefined) {
      try { const st = lstatSync(dir); ok = st.isDirectory() && st.uid === 0; } catch { ok = false; }
      rootOwned.set(dir, ok);
    }
    return ok;
  };
  const procs = (dir: string): Set<number> | null => {
    let set = members.get(dir);
    if (set === undefined) {
      const text = readLatin1(`${dir}/cgroup.procs`);
      set = text === null ? null : new Set(text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number));
      members.set(dir, set);
    }
    return set;
  };
  // a hierarchy's mount: cgroup v2 at the root (or unified/ beside v1's), v1 by its controllers
  const bases = (controllers: string) => controllers === '' ? [cgroupRoot, `${cgroupRoot}/unified`]
    : [`${cgroupRoot}/${controllers}`, `${cgroupRoot}/${controllers.replace(/^name=/, '')}`];
  return (pid, cgroup) => {
    for (const line of cgroup.split('\n')) {
      const id = containerFromCgroup(line);
      if (id === null) continue;
      const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
      if (!m || m[2].split('/').some((c) => c === '.' || c === '..')) return null;
      const parts = m[2].split('/').filter(Boolean);
      // the mount that holds this path (v2 alone, or unified/ beside v1), then every directory down to it root's
      const base = bases(m[1]).find((b) => exists(`${b}/${parts.join('/')}`));
      if (base === undefined || !owned(base)) return null;
      let dir = base;
      for (const part of parts) { dir += `/${part}`; if (!owned(dir)) return null; } // a user's, or a link
      return procs(dir)?.has(pid) ? id : null;
    }
    return null;
  };
}

export interface BootClock {
  bootMs: number; // unix ms of boot, from /proc/stat btime
  hz: number; // USER_HZ: 100 on every Linux architecture in use
}

export function readBootClock(procRoot: string): BootClock | null {
  const stat = readLatin1(`${procRoot}/stat`);
  const m = stat ? /^btime (\d+)$/m.exec(stat) : null;
  return m ? { bootMs: Number(m[1]) * 1000, hz: 100 } : null;
}

const DELETED = ' (deleted)';
const USERNS = ' (userns)';

const hostUserNs = new Map<string, string | null>(); // procRoot -> the user namespace of pid 1 (else lsm's own)
function userNsOf(path: string): string | null {
  try { return readlinkSync(path); } catch { return null; }
}

function hostUserNamespace(procRoot: string): string | null {
  let host = hostUserNs.get(procRoot);
  if (host === undefined) { host = userNsOf(`${procRoot}/1/ns/user`) ?? userNsOf(`${procRoot}/self/ns/user`); hostUserNs.set(procRoot, host); }
  return host;
}

/** What a unix socket's line says after its path when the path does not lead to it. */
export const NOT_AT_PATH = ' (not at this path)';

/**
 * Whether a unix socket's path leads to the file its bind() made. The path is the text bind() was
 * given, resolved in the binder's mount namespace: in one of their own (unshare -rm, no privilege)
 * a user mounts a tmpfs at /run and binds /run/dbus/system_bus_socket. Believed when the path names
 * the socket's file in lsm's view, or in the view (/proc/<pid>/root) of an owner in the host's user
 * namespace (a container's or a PrivateTmp service's mounts are root's); false also when the file
 * was removed or replaced since. A socket without the file's identity (the /proc text) is believed.
 */
export function pathLeadsTo(procRoot: string, s: { localAddress: string; file?: { ino: number; dev: number }; owners: { pid: number }[] }): boolean {
  const file = s.file;
  if (file === undefined || !s.localAddress.startsWith('/')) return true;
  // the path's bytes as bind() was given them (latin1 here), not re-encoded as UTF-8
  const is = (path: string) => {
    try { const st = statSync(Buffer.from(path, 'latin1')); return st.isSocket() && st.ino === file.ino && st.dev === file.dev; } catch { return false; }
  };
  if (is(s.localAddress)) return true;
  const host = hostUserNamespace(procRoot);
  return s.owners.some((o) => host !== null && userNsOf(`${procRoot}/${o.pid}/ns/user`) === host && is(`${procRoot}/${o.pid}/root${s.localAddress}`));
}

/**
 * Whether an exe path is a user's claim: the kernel prints it as the process's own mount namespace
 * shows it, and in a user namespace of their own (unshare -rm, no privilege) users mount what they
 * like where they like: their program bound at /usr/bin/ssh runs as '/usr/bin/ssh'. A path is
 * believed when the process is in the host's user namespace (its mounts are root's: a container's
 * own paths stay as they are), or when the path names the running file in lsm's view too.
 */
function userMounted(base: string, link: string): boolean {
  const host = hostUserNamespace(base.slice(0, base.lastIndexOf('/')));
  const own = host === null ? null : userNsOf(`${base}/ns/user`);
  if (own === null || own === host) return false;
  const path = link.endsWith(DELETED) ? link.slice(0, -DELETED.length) : link;
  try {
    const named = statSync(Buffer.from(path, 'latin1')); // its bytes, not re-encoded as UTF-8
    const running = statSync(`${base}/exe`);
    return named.dev !== running.dev || named.ino !== running.ino;
  } catch {
    return true;
  }
}
const MEMFD = '/memfd:';

/**
 * The executable's path, and whether it was deleted or replaced (an upgrade, before the restart):
 * the kernel then appends ' (deleted)' to the link. The path stays the same in the snapshot, so an
 * upgrade is not a change until the restart. A file really named '... (deleted)' is told apart by
 * comparing it with the running image (same device and inode).
 */
export function readExe(base: string): { exe: string | null; replaced: boolean } {
  const link = readLinkLatin1(`${base}/exe`);
  if (link !== null && !link.startsWith(MEMFD) && userMounted(base, link)) return { exe: `${link}${USERNS}`, replaced: false };
  if (link === null || !link.endsWith(DELETED)) return { exe: link, replaced: false };
  // a memfd (memfd_create, then fexecve): a binary that never was a file, so no upgrade either; the
  // link is kept whole ('/memfd:<any name> (deleted)': only root can make a '/memfd:...' file)
  if (link.startsWith(MEMFD)) return { exe: link, replaced: false };
  try {
    const running = statSync(`${base}/exe`);
    const named = statSync(Buffer.from(link, 'latin1'));
    if (named.dev === running.dev && named.ino === running.ino) return { exe: link, replaced: false };
  } catch { /* no such file: deleted indeed */ }
  return { exe: link.slice(0, -DELETED.length), replaced: true };
}

/** Owner details of one process; null when it vanished. */
export function readOwner(procRoot: string, pid: number, users: Map<number, string>, clock: BootClock | null, containerOf: (pid: number, cgroup: string) => string | null): Owner | null {
  const base = `${procRoot}/${pid}`;
  const comm = readLatin1(`${base}/comm`);
  const status = readLatin1(`${base}/status`);
  if (comm === null && status === null) return null;
  const uidMatch = status ? /^Uid:\s+(\d+)\s+(\d+)/m.exec(status) : null;
  const uid = uidMatch ? Number(uidMatch[2]) : null; // effective uid, as ps shows
  const cmdline = readLatin1(`${base}/cmdline`);
  const args = cmdline ? cmdline.split('\0') : [];
  if (args.length && args[args.length - 1] === '') args.pop();
  const cgroup = readLatin1(`${base}/cgroup`);
  const exe = readExe(base);
  let startedAt: number | null = null;
  const stat = clock ? readLatin1(`${base}/stat`) : null;
  if (stat && clock) {
    // comm in parentheses may itself hold ') ': fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall: starttime
    if (Number.isFinite(ticks)) startedAt = clock.bootMs + Math.round((ticks * 1000) / clock.hz);
  }
  return {
    pid,
    comm: comm === null ? '?' : comm.endsWith('\n') ? comm.slice(0, -1) : comm,
    exe: exe.exe,
    ...(exe.replaced ? { exeReplaced: true } : {}),
    uid,
    user: uid === null ? null : users.get(uid) ?? String(uid),
    cmdline: args,
    container: cgroup ? containerOf(pid, cgroup) : null,
    startedAt,
  };
}

/** uid -> user name from a passwd file; an unreadable file gives numeric names. */
export function readUsers(passwdPath: string): Map<number, string> {
  const users = new Map<number, string>();
  const text = readLatin1(passwdPath);
  if (!text) return users;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]) && !users.has(Number(f[2]))) users.set(Number(f[2]), f[0]);
  }
  return users;
}
