// lsm watch's look at one namespace's recorded sockets (collect/probe.ts) through the native
// digest(): the same dumps and the same reading as netlinkFingerprint (index.ts), but each reply is
// normalized and hashed (SipHash, keyed at random when the addon loads) in C, so no reply's bytes
// are copied into JS or walked there: at 10k sockets that was half a megabyte and most of a look's
// user time. The inodes are handed over only when asked (right after a full collection).
import { endianness } from 'node:os';
import { netlinkAddon, probeRequests, stateMask, type ProcTable } from './index.js';
import { INET_DIAG_REQ, NLMSGHDR } from './structs.js';

const NETLINK_SOCK_DIAG = 4;
// how sockdiag.c normalizes a reply: inet (timers and queues zeroed), udp (the same; no port: no
// recorded socket), unix (only the named ones a snapshot keeps), packet
const KIND: Record<ProcTable, number> = { tcp: 0, tcp6: 0, raw: 0, raw6: 0, udp: 1, udp6: 1, unix: 2, packet: 3 };

type Reply = [hash: string, recorded: number, inodes: Uint32Array | null] | number;
interface DigestAddon { socketsIn?(nsFile: string, inode: number): number; digest?(nsFile: string | null, inode: number, protocol: number, requests: Buffer[], kinds: number[], wantInodes: boolean): Reply[] }

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

const TCPDIAG_GETSOCK = 18; // the compat request: both families of TCP in one walk of the kernel's tables
const NLM_F_REQUEST_DUMP = 0x301;

/** inet_diag_req for TCPDIAG_GETSOCK: the kernel dumps AF_INET and AF_INET6 sockets in one pass. */
function tcpBothFamilies(states: number): Buffer {
  const buf = Buffer.alloc(NLMSGHDR.size + INET_DIAG_REQ.size);
  const le = endianness() === 'LE';
  const w32 = (v: number, at: number) => (le ? buf.writeUInt32LE(v >>> 0, at) : buf.writeUInt32BE(v >>> 0, at));
  const w16 = (v: number, at: number) => (le ? buf.writeUInt16LE(v, at) : buf.writeUInt16BE(v, at));
  w32(buf.length, NLMSGHDR.nlmsg_len);
  w16(TCPDIAG_GETSOCK, NLMSGHDR.nlmsg_type);
  w16(NLM_F_REQUEST_DUMP, NLMSGHDR.nlmsg_flags);
  w32(1, NLMSGHDR.nlmsg_seq);
  w32(states, NLMSGHDR.size + INET_DIAG_REQ.idiag_states);
  return buf;
}

interface Plan { requests: Buffer[]; tables: ProcTable[][] }
// the requests for one selection (keepState), built once: a look every second would build them again
const plans = new WeakMap<object, { both: Plan; apart: Plan }>();
let bothRefused = false; // the kernel answered the compat request with an error once: two requests from then on

function plan(keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean): { both: Plan; apart: Plan } {
  let p = plans.get(keepState);
  if (p === undefined) {
    const { requests, tables } = probeRequests(keepState);
    const apart: Plan = { requests, tables: tables.map((t) => [t]) };
    const both: Plan = { requests: [tcpBothFamilies(stateMask('tcp', keepState))], tables: [['tcp', 'tcp6']] };
    for (let i = 0; i < tables.length; i++) if (tables[i] !== 'tcp' && tables[i] !== 'tcp6') { both.requests.push(requests[i]); both.tables.push([tables[i]]); }
    p = { both, apart };
    plans.set(keepState, p);
  }
  return p;
}

/**
 * The recorded sockets of the namespace `nsFile` names, if it still is `inode`, as hashes; null
 * when netlink cannot be used there (gone, not a namespace, no digest in the addon). Tables in
 * `skip` are not asked for (a dump the kernel refused before: raw_diag not loaded makes it try to
 * load a module at every request) and are named in `fallback`, for the caller to read from /proc.
 * TCP of both families is one request (TCPDIAG_GETSOCK): the kernel walks its table of listeners,
 * which is the same for every namespace and may have 64k buckets, once rather than twice.
 */
export function netlinkDigest(nsFile: string, inode: number, keepState: (kind: 'tcp' | 'udp' | 'raw', state: string) => boolean,
  wantInodes: boolean, skip: ReadonlySet<ProcTable> = new Set()): NetlinkDigest | null {
  const a = netlinkAddon() as DigestAddon | null;
  if (!a?.digest) return null;
  const both = plan(keepState);
  const out: NetlinkDigest = { hashes: [], recorded: 0, inodes: wantInodes ? [] : null, fallback: [] };
  const ask = (p: Plan): boolean => {
    const requests: Buffer[] = [];
    const tables: ProcTable[][] = [];
    for (let i = 0; i < p.tables.length; i++) {
      if (p.tables[i].some((t) => skip.has(t))) out.fallback.push(...p.tables[i]);
      else { requests.push(p.requests[i]); tables.push(p.tables[i]); }
    }
    let replies: Reply[];
    try {
      replies = a.digest!(nsFile, inode, NETLINK_SOCK_DIAG, requests, tables.map((t) => KIND[t[0]]), wantInodes);
    } catch {
      return false;
    }
    let retry: ProcTable[] = [];
    for (let i = 0; i < replies.length; i++) {
      const r = replies[i];
      if (typeof r === 'number') {
        // the compat request refused (a kernel without it): each family on its own, now and from now on
        if (tables[i].length > 1) { bothRefused = true; retry = tables[i]; } else out.fallback.push(...tables[i]);
        continue;
      }
      out.hashes.push(r[0]);
      out.recorded += r[1];
      if (out.inodes && r[2]) for (const ino of r[2]) out.inodes.push(ino);
    }
    return retry.length === 0 || ask(only(both.apart, retry));
  };
  return ask(bothRefused ? both.apart : both.both) ? out : null;
}

/** The requests of a plan for these tables only. */
function only(p: Plan, tables: ProcTable[]): Plan {
  const out: Plan = { requests: [], tables: [] };
  for (let i = 0; i < p.tables.length; i++) if (tables.includes(p.tables[i][0])) { out.requests.push(p.requests[i]); out.tables.push(p.tables[i]); }
  return out;
}

/**
 * How many sockets there are in the namespace `nsFile` names, if it still is `inode` (the kernel's
 * own count, read from inside it: sockdiag.c socketsIn); -1 when that cannot be told. A namespace
 * with none has nothing to record, whatever a dump would say: its dumps can be skipped.
 */
export function socketsIn(nsFile: string, inode: number): number {
  const a = netlinkAddon() as DigestAddon | null;
  if (!a?.socketsIn) return -1;
  try { return a.socketsIn(nsFile, inode); } catch { return -1; }
}
