// Network namespaces beyond those of processes, and their labels.
//
// A namespace lives as long as anything holds it: a process, an nsfs bind mount (`ip netns add`
// binds one under /run/netns, docker under /run/docker/netns, anyone anywhere), or a socket. The
// mounts are found in the mount table of every distinct mount namespace (/proc/<pid>/mountinfo,
// fstype nsfs, root 'net:[inode]'), and reached through that process's root
// (/proc/<pid>/root/<mountpoint>), since the mount may exist only in its mount namespace.
import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { NetNamespace, Owner } from '../types.js';
import type { ContainerName } from './containers.js';

/** One nsfs mount of a network namespace, as seen by a process (`pid`) in its mount namespace. */
export interface NsfsMount {
  netns: number;
  pid: number;
  mountpoint: string; // raw bytes (latin1), unescaped from mountinfo's octal
  /** not a mount: an fd of the namespace lsm holds (found through a socket in it: collect/index.ts) */
  held?: number;
}

const unOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** nsfs mounts of network namespaces in one mountinfo text (proc(5): fields, ' - ', fstype, source, options). */
export function parseNsfsMounts(mountinfo: string, pid: number): NsfsMount[] {
  const found: NsfsMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0 || !line.startsWith('nsfs ', dash + 3)) continue;
    const f = line.slice(0, dash).split(' ');
    const m = f.length >= 5 ? /^net:\[(\d+)\]$/.exec(f[3]) : null;
    if (m) found.push({ netns: Number(m[1]), pid, mountpoint: unOctal(f[4]) });
  }
  return found;
}

/** Every nsfs mount of a network namespace in the mount tables of these processes (one per mount namespace). */
export function nsfsMounts(procRoot: string, pids: Iterable<number>): NsfsMount[] {
  const found: NsfsMount[] = [];
  for (const pid of pids) {
    let text: string;
    try { text = readFileSync(`${procRoot}/${pid}/mountinfo`, 'latin1'); } catch { continue; } // exited
    for (const m of parseNsfsMounts(text, pid)) found.push(m);
  }
  return found;
}

/**
 * Open an nsfs mount as the process sees it; the fd, or null when it is not (or no longer) that
 * namespace. Never blocks and never follows a swapped path to something else: non-blocking, no
 * controlling tty, and the opened file must be the namespace itself (nsfs inode = namespace inode).
 */
export function openNsfs(procRoot: string, m: NsfsMount, at?: string): number | null {
  let fd: number;
  try {
    const path = at ?? (m.held === undefined ? `${procRoot}/${m.pid}/root${m.mountpoint}` : `/proc/self/fd/${m.held}`);
    fd = openSync(Buffer.from(path, 'latin1'), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return null;
  }
  try {
    if (fstatSync(fd).ino === m.netns) return fd;
  } catch { /* fall through */ }
  closeSync(fd);
  return null;
}

/**
 * Ways into namespaces that only an open namespace file holds (a process opened
 * /proc/<pid>/ns/net, or an nsfs mount, and the rest went away: no process, mount or socket of
 * lsm's leads there; ss and lsof miss it): `files` holds (pid, fd, inode) triples from the fd walk.
 * Each not in `known` is opened through /proc/<pid>/fd/<fd> (checked to be that namespace) and
 * given as a held door, with the processes holding it; at most `max`, and `over` counts those
 * left unread past it (a user can make thousands). The caller closes the fds.
 */
export function heldNamespaceDoors(files: ArrayLike<number>, known: Set<number>, max: number): { doors: Map<number, { door: NsfsMount; pids: number[] }>; over: number } {
  const doors = new Map<number, { door: NsfsMount; pids: number[] }>();
  const over = new Set<number>();
  for (let k = 0; k + 3 <= files.length; k += 3) {
    const [pid, fd, netns] = [files[k], files[k + 1], files[k + 2]];
    if (known.has(netns)) continue;
    const door = doors.get(netns);
    if (door !== undefined) { if (!door.pids.includes(pid)) door.pids.push(pid); continue; }
    if (doors.size >= max) { over.add(netns); continue; }
    const held = openNsfs('/proc', { netns, pid, mountpoint: '', held: -1 }, `/proc/${pid}/fd/${fd}`);
    if (held !== null) doors.set(netns, { door: { netns, pid: process.pid, mountpoint: '', held }, pids: [pid] });
  }
  return { doors, over: over.size };
}

/**
 * How the proc mount at `procRoot` hides other users' processes from this run: a mount with
 * hidepid=invisible (2) or ptraceable (4) lists only the processes it may trace, so the others are
 * not even counted as unreadable; null when it hides none (root, a member of its gid=, hidepid off
 * or noaccess, whose refusals are counted; or no such mount: a fixture tree).
 */
export function hiddenProcesses(procRoot: string, euid: number, groups: number[] = [...(process.getgroups?.() ?? []), process.getegid?.() ?? -1]): string | null {
  if (euid === 0) return null;
  let text: string;
  try { text = readFileSync(`${procRoot}/self/mountinfo`, 'latin1'); } catch { return null; }
  let options: string | null = null;
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    const f = line.slice(0, dash).split(' ');
    const super_ = line.slice(dash + 3).split(' ');
    if (dash >= 0 && f.length >= 5 && unOctal(f[4]) === procRoot && super_[0] === 'proc') options = super_[2] ?? ''; // the last mount there is the one seen
  }
  if (options === null) return null;
  const list = options.split(',');
  const opt = (name: string) => list.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const hidepid = opt('hidepid');
  if (hidepid === undefined || !['2', 'invisible', '4', 'ptraceable'].includes(hidepid)) return null;
  const gid = opt('gid');
  if (gid !== undefined && groups.includes(Number(gid))) return null;
  return `${procRoot} hidepid=${hidepid}`;
}

const IP_NETNS_DIRS = new Set(['/run/netns', '/var/run/netns']);
// the names containerd's CNI setup (cni-<uuid>) and CRI-O's pinns (<uuid>) give pods' namespaces
const RUNTIME_NETNS = /^(cni-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The label the containers of a namespace give it: one container's name (or id); or, for a
 * Kubernetes pod (its sandbox and its containers share the namespace), pod/<namespace>/<pod>,
 * with /<container> when it runs one. The runtime's names outlive a redeploy; ids do not.
 * Null when processes outside any container, or of different containers or pods, share it.
 */
function containerLabel(containers: Set<string | null>, nameOf: (containerId: string) => ContainerName | null): string | null {
  const [only] = containers;
  if (containers.size === 1) return only ? nameOf(only)?.name ?? only : null;
  if (containers.has(null) || containers.size === 0) return null;
  const pods = [...containers].map((id) => nameOf(id!)?.pod ?? null);
  const [p] = pods;
  if (!p || pods.some((q) => !q || q.namespace !== p.namespace || q.pod !== p.pod)) return null;
  const names = [...new Set(pods.map((q) => q!.container).filter((c): c is string => c !== null))];
  return `pod/${p.namespace}/${p.pod}${names.length === 1 ? `/${names[0]}` : ''}`;
}
/**
 * Whether a mount's name can be believed: the process it was seen through is in the user
 * namespace of pid 1 (else lsm's own). A fixture tree without ns/user links trusts every mount.
 */
function mountTrust(procRoot: string): (m: NsfsMount) => boolean {
  const userNs = (pid: number | 'self') => { try { return readlinkSync(`${procRoot}/${pid}/ns/user`); } catch { return null; } };
  const host = userNs(1) ?? userNs('self');
  const seen = new Map<number, boolean>();
  return (m) => {
    if (m.held !== undefined) return false; // a socket's namespace: no mount, no name
    if (host === null) return true;
    let ok = seen.get(m.pid);
    if (ok === undefined) { ok = userNs(m.pid) === host; seen.set(m.pid, ok); }
    return ok;
  };
}

/**
 * The owner of a namespace's oldest process (then lowest pid): its first process by pid would
 * change whenever pids wrap or another joins with a lower pid (a user's child in a service's
 * namespace), moving every line; a later process can never be older.
 */
function oldest(pids: number[], ownerOf: (pid: number) => Owner | null): Owner | undefined {
  let best: Owner | undefined;
  let bestPid = Infinity;
  for (const pid of pids) {
    const o = ownerOf(pid);
    if (o === null) continue;
    const since = o.startedAt ?? Infinity;
    const bestSince = best?.startedAt ?? Infinity;
    if (best === undefined || since < bestSince || (since === bestSince && pid < bestPid)) { best = o; bestPid = pid; }
  }
  return best;
}
const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const dirName = (p: string) => p.slice(0, p.lastIndexOf('/'));

/**
 * Stable, unique labels (raw text; the snapshot escapes them into directory names): 'host'; else
 * the `ip netns` name bound to it; else the name (or id) of the container shared by every process in it; else the
 * name of another nsfs mount of it (docker's netns files); else the name of its first process;
 * else 'ns-<inode>'. A name derived from a mount or a process always carries the namespace's own
 * inode ('<name>-<inode>'): two runs of one program are two namespaces, and a suffix added only
 * on a clash would move the first one's lines whenever the second starts or stops. Two namespaces
 * never share a label: a name or container label already taken, or shared by several namespaces,
 * gets '-<inode>' appended: to all of them (so none wins by accident of order), except that of a
 * container's namespaces, the one holding its oldest process keeps the container's label.
 */
export function labelNamespaces(
  procRoot: string, inodes: number[], hostInode: number, nsPids: Map<number, number[]>,
  netnsDir: string, mounts: NsfsMount[], ownerOf: (pid: number) => Owner | null,
  containerOf: (pid: number, cgroup: string) => string | null,
  nameOf: (containerId: string) => ContainerName | null = () => null,
): NetNamespace[] {
  const named = new Map<number, string[]>(); // ip netns names
  const other = new Map<number, string[]>(); // other nsfs mounts' names
  const add = (map: Map<number, string[]>, ino: number, name: string) => { if (name !== '' && name !== '.' && name !== '..') map.set(ino, [...(map.get(ino) ?? []), name]); };
  let names: string[] = [];
  try { names = readdirSync(netnsDir, 'latin1'); } catch { /* no named namespaces */ }
  for (const name of names) {
    try { add(named, statSync(Buffer.from(`${netnsDir}/${name}`, 'latin1')).ino, name); } catch { /* unbound meanwhile */ }
  }
  // a mount names a namespace only where no user could have made it: in a mount namespace of the
  // host's user namespace. In one of their own (unshare -rm) users mount what they like, where they
  // like: /run/netns/<a real ip netns name> would take that name, or add a name sorted first, and
  // move the real namespace's lines (a false removal and addition, blame losing the history)
  const trusted = mountTrust(procRoot);
  for (const m of mounts) if (trusted(m)) add(IP_NETNS_DIRS.has(dirName(m.mountpoint)) ? named : other, m.netns, baseName(m.mountpoint));
  const first = (list: string[] | undefined) => (list ? [...new Set(list)].sort()[0] : undefined);

  const ranked: { ns: NetNamespace; rank: number }[] = [];
  for (const inode of [...inodes].sort((a, b) => a - b)) {
    if (inode === hostInode) continue;
    const pids = nsPids.get(inode) ?? [];
    let label = first(named.get(inode));
    let rank = 0;
    // a name the runtime made up for a pod's namespace (cni-<uuid>) says less than the pod's own
    if (label === undefined || RUNTIME_NETNS.test(label)) {
      const containers = new Set(pids.map((pid) => {
        try { return containerOf(pid, readFileSync(`${procRoot}/${pid}/cgroup`, 'latin1')); } catch { return null; }
      }));
      const found = containerLabel(containers, nameOf);
      if (found !== null) { label = found; rank = 1; }
      else if (label === undefined) rank = 1;
    }
    if (label === undefined) {
      rank = 2;
      const mount = first(other.get(inode));
      const owner = mount === undefined ? oldest(pids, ownerOf) : undefined;
      label = mount !== undefined ? `${mount}-${inode}` : owner ? `${owner.comm}-${inode}` : `ns-${inode}`;
    }
    ranked.push({ ns: { inode, label, host: false }, rank });
  }
  // unique: by rank, labels claimed by several namespaces of one rank, or by a better rank, get the
  // inode; but of the namespaces one container's label names (a process of it that made a namespace
  // of its own), the one holding its oldest process (its init) keeps the label whoever else comes and goes
  const since = (inode: number) => Math.min(...(nsPids.get(inode) ?? []).map((pid) => ownerOf(pid)?.startedAt ?? Infinity));
  const taken = new Set<string>();
  for (let rank = 0; rank <= 2; rank++) {
    const group = ranked.filter((r) => r.rank === rank);
    const claims = new Map<string, NetNamespace[]>();
    for (const { ns } of group) claims.set(ns.label, [...(claims.get(ns.label) ?? []), ns]);
    const keeper = new Map<string, number>(); // a shared label -> the inode that keeps it
    for (const [label, list] of claims) {
      if (list.length < 2 || rank !== 1) continue;
      const ages = list.map((ns) => ({ inode: ns.inode, since: since(ns.inode) })).sort((a, b) => a.since - b.since);
      if (ages[0].since < ages[1].since) keeper.set(label, ages[0].inode); // else none: all get the inode
    }
    for (const { ns } of group) {
      let label = (claims.get(ns.label)!.length > 1 && keeper.get(ns.label) !== ns.inode) || taken.has(ns.label) ? `${ns.label}-${ns.inode}` : ns.label;
      for (let k = 2; taken.has(label); k++) label = `${ns.label}-${ns.inode}-${k}`; // a name chosen to collide
      taken.add(label);
      ns.label = label;
    }
  }
  const result: NetNamespace[] = inodes.includes(hostInode) ? [{ inode: hostInode, label: 'host', host: true }] : [];
  for (const { ns } of ranked) result.push(ns);
  return result;
}
