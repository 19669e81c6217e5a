// The shapes that cross a stage of the pipeline: collect -> snapshot -> store -> alert.

// unattributed: a socket a process holds that is in no table read (its namespace could not be
// found or entered); recorded with its owner so that it alerts, never dropped
export type Kind = 'tcp' | 'udp' | 'raw' | 'packet' | 'unix' | 'unattributed';
export const KINDS: readonly Kind[] = ['tcp', 'udp', 'raw', 'packet', 'unix', 'unattributed'];

/** A process holding a socket, as it is now. Strings are raw bytes decoded as latin1. */
export interface Owner {
  pid: number;
  comm: string;
  exe: string | null; // null: unreadable or a kernel thread; never with the kernel's ' (deleted)'
  exeReplaced?: boolean; // the running binary was deleted or replaced on disk: a restart is pending
  uid: number | null;
  user: string | null;
  cmdline: string[]; // argv, raw (latin1)
  container: string | null; // container id from the cgroup, when one is named
  startedAt: number | null; // unix ms when the process started
}

export interface NetNamespace {
  inode: number; // the nsfs inode: stable while the namespace lives
  label: string; // 'host', the `ip netns` name, the container id, or a derived name
  host: boolean;
}

export interface Socket {
  kind: Kind;
  family: 'inet' | 'inet6' | 'unix' | 'packet' | 'unknown';
  netns: number; // inode of its network namespace
  inode: number;
  /** TCP: 'LISTEN', 'ESTABLISHED', ...; UDP/raw: 'UNCONN' or 'ESTAB'; unix: 'LISTEN', 'UNCONN', 'CONN' */
  state: string;
  localAddress: string; // '0.0.0.0', '::1', a unix path ('' when unbound), '@abstract', a packet interface
  localPort: number; // port; raw: protocol number; packet: ethertype
  remoteAddress: string;
  remotePort: number;
  socketType?: 'stream' | 'dgram' | 'seqpacket' | 'raw' | 'rdm'; // unix and packet
  uid: number; // uid that created the socket (from the table; unix: unknown -> -1)
  /** tcp/udp/raw: the interface it is bound to (SO_BINDTODEVICE), null: none; absent: unknown (/proc) */
  device?: string | null;
  /** inet6: IPV6_V6ONLY (false: dual-stack); absent: unknown (/proc) */
  v6only?: boolean;
  /** unix, bound to a path (netlink only): the file bind() made, to tell whether the path leads to it */
  file?: { ino: number; dev: number };
  /** a /proc/net/unix record that cannot be told apart from a name (see collect/unix-ambiguity.ts) */
  ambiguous?: string;
  user: string | null; // that uid's name, filled by collect
  owners: Owner[];
}

export interface CollectStats {
  processes: number;
  namespaces: number;
  sockets: number;
  /** processes whose fds or details could not be read (not root, or hidepid) */
  unreadable: number;
  /** processes that exited while we read them */
  vanished: number;
  /**
   * What the scan could not see at all (not root): processes whose network namespace it could not
   * read (a namespace only they are in is not found), namespaces it found but could not read, and
   * why ('permission denied'). Absent when it saw everything.
   */
  unseen?: { processes: number; namespaces: number; reason: string; hidden?: string };
  /** how socket fds were found when the BPF iterator was wanted and refused, and why (docs/bpf-owners.md) */
  fdLinks?: string;
  /** unix sockets whose queues carried fds in flight (SCM_RIGHTS) at both reads of the scan: their holders */
  inFlight?: { path: string; inode: number; comm: string; user: string }[]; // path: '' when unnamed
  // hidden: how /proc hides other users' processes from this run ('/proc hidepid=invisible'): not
  // even counted, so a namespace only they are in is not found
}

export interface Collection {
  namespaces: NetNamespace[];
  sockets: Socket[];
  stats: CollectStats;
  /**
   * Namespaces read through no process's ns link, with the file that led there: a thread's own
   * (/proc/<tid>/ns/net) or an open namespace file (/proc/<pid>/fd/<fd>). lsm watch's probe looks
   * through them between full scans.
   */
  ways?: { netns: number; path: string }[];
}

/** Normalized snapshot: path ('host/tcp', 'netns/web/unix') -> sorted, unique lines. */
export type Snapshot = Map<string, string[]>;

export interface FileChange {
  path: string;
  added: string[];
  removed: string[];
}

/** What a commit changed. */
export interface Change {
  commit: string;
  parent: string | null;
  time: number; // unix ms
  summary: string; // '+2 -1: host/tcp +1, host/unix +1 -1'
  files: FileChange[];
  damage?: string; // the repository was found damaged: one line saying what, and what was done (exit 65)
  clock?: string; // the clock read before the previous commit's time: one line saying so (the run warns it; exit unchanged)
}
