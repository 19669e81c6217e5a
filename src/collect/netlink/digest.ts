// lsm watch's look at one namespace's recorded sockets (collect/probe.ts) through the native
// digest(): the same dumps and the same reading as netlinkFingerprint (index.ts), but each reply is
// normalized and hashed (SipHash, keyed at random when the addon loads) in C, so no reply's bytes
// are copied into JS or walked there: at 10k sockets that was half a megabyte and most of a look's
// user time. The inodes are handed over only when asked (right after a full collection).
import { netlinkAddon, probeRequests, type ProcTable } from './index.js';

const NETLINK_SOCK_DIAG = 4;
// how sockdiag.c normalizes a reply: inet (timers and queues zeroed), udp (the same; no port: no
// recorded socket), unix (only the named ones a snapshot keeps), packet
const KIND: Record<ProcTable, number> = { tcp: 0, tcp6: 0, raw: 0, raw6: 0, udp: 1, udp6: 1, unix: 2, packet: 3 };

type Reply = [hash: string, recorded: number, inodes: Uint32Array | null] | number;
interface DigestAddon { digest?(nsFile: string | null, inode: number, protocol: number, requests: Buffer[], kinds: number[], wantInodes: boolean): Reply[] }

export interface NetlinkDigest {
  /** per table read, a hash of what a snapshot may record of it */
  hashes: string[];
  /** how many sockets a snapshot may record (UDP without a port left out) */
  recorded: number;
  /** their inodes, when asked for */
  inodes: number[] | null;
  /** tables netlink could not dump: read from /proc */
  fallback: ProcTable[];
}

/** Whether this build's addon has digest() (an older build: the caller uses netlinkFingerprint). */
export function hasNetlinkDigest(): boolean {
  return typeof (netlinkAddon() as DigestAddon | null)?.digest === 'function';
}

// the requests for one selection (keepState), built once: a look every second would build them again
const built = new WeakMap<object, ReturnType<typeof probeRequests>>();

/**
 * The recorded sockets of the namespace `nsFile` names, if it still is `inode`, as hashes; null
 * when netlink cannot be used there (gone, not a namespace, no digest in the addon). Tables in
 * `skip` are not asked for (a dump the kernel refused before: raw_diag not loaded makes it try to
 * load a module at every request) and are named in `fallback`, for the caller to read from /proc.
 */
export function netlinkDigest(nsFile: string, inode: number, keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean,
  wantInodes: boolean, skip: ReadonlySet<ProcTable> = new Set()): NetlinkDigest | null {
  const a = netlinkAddon() as DigestAddon | null;
  if (!a?.digest) return null;
  let all = built.get(keepState);
  if (all === undefined) { all = probeRequests(keepState); built.set(keepState, all); }
  const out: NetlinkDigest = { hashes: [], recorded: 0, inodes: wantInodes ? [] : null, fallback: [] };
  const requests: Buffer[] = [];
  const tables: ProcTable[] = [];
  for (let i = 0; i < all.tables.length; i++) {
    if (skip.has(all.tables[i])) out.fallback.push(all.tables[i]);
    else { requests.push(all.requests[i]); tables.push(all.tables[i]); }
  }
  let replies: Reply[];
  try {
    replies = a.digest(nsFile, inode, NETLINK_SOCK_DIAG, requests, tables.map((t) => KIND[t]), wantInodes);
  } catch {
    return null;
  }
  for (let i = 0; i < replies.length; i++) {
    const r = replies[i];
    if (typeof r === 'number') { out.fallback.push(tables[i]); continue; }
    out.hashes.push(r[0]);
    out.recorded += r[1];
    if (out.inodes && r[2]) for (const ino of r[2]) out.inodes.push(ino);
  }
  return out;
}
