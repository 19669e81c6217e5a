// The netlink readers against the kernel, in-process (src/collect/netlink/index.ts readNetlinkTables,
// saveDumps, netlinkFingerprint, inspectHeldSockets; digest.ts netlinkDigest, socketsIn): a holder
// (test/helpers/holder.py) with known sockets in a network namespace this test makes, read through
// /proc/<pid>/ns/net with the real addon. Before this, only integration tests (dist/) reached them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inspectHeldSockets, netlinkAddon, netlinkFingerprint, parseDumps, probeRequests, readNetlinkTables, saveDumps, stateMask } from '../../src/collect/netlink/index.js';
import { hasNetlinkDigest, netlinkDigest, socketsIn } from '../../src/collect/netlink/digest.js';
import { INET_DIAG_MSG, NLMSGHDR, UNIX_DIAG_MSG } from '../../src/collect/netlink/structs.js';
import type { Socket } from '../../src/types.js';
import { HOLDER } from '../helpers/world.js';

interface Holder { proc: ChildProcess; pid: number; ns: string; ino: number }

/** A holder of `sockets` in a network namespace of its own (lo up), pid = the holder's. */
async function hold(sockets: object[], later: object[] = []): Promise<Holder> {
  const proc = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec python3 "$0" "$1"', HOLDER, JSON.stringify({ sockets, later })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  expect(line).toMatch(/^ready \d+$/);
  const pid = proc.pid!;
  const ns = `/proc/${pid}/ns/net`;
  return { proc, pid, ns, ino: statSync(ns).ino };
}
function stop(h: Holder | undefined): void { if (h && h.proc.exitCode === null) h.proc.kill('SIGTERM'); }

/** fd -> socket inode of a process, from its fd links; not its stdio (node's socket pairs, in the test's namespace). */
function socketFds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    if (Number(fd) < 3) continue;
    const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    if (m) out.set(Number(fd), Number(m[1]));
  }
  return out;
}
const view = (s: Socket) => [s.kind, s.family, s.state, s.localAddress, s.kind === 'tcp' && s.localPort >= 32768 ? 'ephemeral' : s.localPort, s.remoteAddress, s.remoteAddress === '' ? null : s.remotePort > 0, s.uid, s.device ?? null, s.v6only ?? s.socketType ?? null];
const byView = (a: unknown[], b: unknown[]) => JSON.stringify(a).localeCompare(JSON.stringify(b));
const listenOnly = (_kind: string, state: string) => state === 'LISTEN' || state === 'UNCONN';

const SOCKETS = [
  { kind: 'tcp4', addr: '127.0.0.1', port: 4201 },
  { kind: 'tcp4-conn', addr: '127.0.0.1', port: 4201 },
  { kind: 'tcp6', addr: '::1', port: 4202, v6only: true },
  { kind: 'tcp6', addr: '::', port: 4203, v6only: false },
  { kind: 'udp4', addr: '127.0.0.1', port: 4204, device: 'lo' },
  { kind: 'udp6', addr: '::1', port: 4205 },
  { kind: 'unix', path: '' }, // replaced by a path under the test's directory
  { kind: 'unix-dgram', path: '' },
  { kind: 'unix-conn', path: '' }, // to the listener above: an unnamed client, an accepted end with its name
  { kind: 'abstract', name: 'lsm-live\0x' },
  { kind: 'packet', proto: 3 },
  { kind: 'packet-dgram', proto: 0x86dd },
];

describe('netlink readers against a namespace the test makes', () => {
  let dir: string;
  let h: Holder;
  let specs: object[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lsm-nl-live-'));
    specs = SOCKETS.map((s) => s.kind === 'unix' || s.kind === 'unix-conn' ? { ...s, path: join(dir, 'a\nb.sock') } : s.kind === 'unix-dgram' ? { ...s, path: join(dir, 'd.sock') } : s);
    h = await hold(specs, [{ kind: 'tcp4', addr: '127.0.0.1', port: 4299 }]);
  });
  afterAll(() => { stop(h); rmSync(dir, { recursive: true, force: true }); });

  it('the addon is built and loads in-process', () => {
    expect(netlinkAddon()).not.toBeNull();
    expect(netlinkAddon()).toBe(netlinkAddon()); // loaded once
    expect(hasNetlinkDigest()).toBe(true);
  });

  it('readNetlinkTables: every socket with every field, exactly; raw/packet as the kernel has them', () => {
    const r = readNetlinkTables(h.ns, h.ino)!;
    const inodes = new Set(socketFds(h.pid).values());
    const ours = r.sockets.filter((s) => s.kind !== 'unix' || s.localAddress !== '' || inodes.has(s.inode));
    expect(ours.every((s) => inodes.has(s.inode) && s.netns === h.ino && s.user === null && s.owners.length === 0)).toBe(true);
    expect(ours.map(view).sort(byView)).toEqual([
      ['packet', 'packet', 'UNCONN', '*', 3, '', null, 0, null, 'raw'],
      ['packet', 'packet', 'UNCONN', '*', 0x86dd, '', null, 0, null, 'dgram'],
      ['tcp', 'inet', 'ESTABLISHED', '127.0.0.1', 4201, '127.0.0.1', true, 0, null, null],
      ['tcp', 'inet', 'LISTEN', '127.0.0.1', 4201, '0.0.0.0', false, 0, null, null],
      ['tcp', 'inet6', 'LISTEN', '::', 4203, '::', false, 0, null, false],
      ['tcp', 'inet6', 'LISTEN', '::1', 4202, '::', false, 0, null, true],
      ['udp', 'inet', 'UNCONN', '127.0.0.1', 4204, '0.0.0.0', false, 0, 'lo', null],
      ['udp', 'inet6', 'UNCONN', '::1', 4205, '::', false, 0, null, true],
      ['unix', 'unix', 'LISTEN', '@lsm-live\0x', 0, '', null, 0, null, 'stream'],
      ['unix', 'unix', 'LISTEN', join(dir, 'a\nb.sock'), 0, '', null, 0, null, 'stream'],
      ['unix', 'unix', 'UNCONN', join(dir, 'd.sock'), 0, '', null, 0, null, 'dgram'],
      ['unix', 'unix', 'CONN', '', 0, '', null, 0, null, 'stream'], // the client: no name
      ['unix', 'unix', 'CONN', join(dir, 'a\nb.sock'), 0, '', null, 0, null, 'stream'], // the accepted end: the listener's name
      ['tcp', 'inet', 'ESTABLISHED', '127.0.0.1', 'ephemeral', '127.0.0.1', true, 0, null, null],
    ].sort(byView));
    // the connection's two ends: the accepted one on 4201, the client's towards it
    expect(ours.filter((s) => s.state === 'ESTABLISHED').map((s) => [s.localPort === 4201, s.remotePort === 4201]).sort()).toEqual([[false, true], [true, false]]);
    // raw_diag may be missing: then raw/raw6 fall back to /proc, and nothing else does
    expect(r.fallback.filter((t) => t !== 'raw' && t !== 'raw6')).toEqual([]);
  });

  it('keepState lets the kernel drop states; saw hears every inode, kept or not', () => {
    const made: string[] = [];
    const seen = new Set<number>();
    const r = readNetlinkTables(h.ns, h.ino, (s) => { made.push(`${s.kind} ${s.state}`); return s.kind !== 'udp'; }, (_k, state) => state === 'LISTEN', (i) => seen.add(i))!;
    for (const ino of socketFds(h.pid).values()) expect(seen.has(ino), `${ino} ${JSON.stringify(readNetlinkTables(h.ns, h.ino)!.sockets.find((s) => s.inode === ino))}`).toBe(true); // the established ones too
    expect(new Set(made.filter((k) => k.startsWith('tcp') || k.startsWith('udp')))).toEqual(new Set(['tcp LISTEN'])); // no socket made of a dropped state
    expect(r.sockets.filter((s) => s.kind === 'tcp').map((s) => s.localPort).sort()).toEqual([4201, 4202, 4203]);
    expect(r.sockets.some((s) => s.kind === 'udp')).toBe(false); // keep said no
    // without saw, the kernel filters: the same kept sockets
    const filtered = readNetlinkTables(h.ns, h.ino, undefined, (_k, state) => state === 'LISTEN')!;
    expect(filtered.sockets.filter((s) => s.kind === 'tcp').map((s) => s.localPort).sort()).toEqual([4201, 4202, 4203]);
    expect(filtered.sockets.filter((s) => s.kind === 'udp')).toEqual([]);
  });

  it('a file that is not that namespace (any more) gives null: the caller reads /proc', () => {
    expect(readNetlinkTables(h.ns, h.ino + 1)).toBeNull();
    const file = join(dir, 'not-a-namespace');
    writeFileSync(file, '');
    expect(readNetlinkTables(file, statSync(file).ino)).toBeNull();
    expect(readNetlinkTables(join(dir, 'missing'), 1)).toBeNull();
    expect(() => saveDumps(h.ns, h.ino + 1)).toThrow(expect.objectContaining({ code: 'ESTALE' })); // the real errno, said
  });

  it('saveDumps gives the replies readNetlinkTables parses, in its order, and they replay to the same sockets', () => {
    const dumps = saveDumps(h.ns, h.ino)!;
    expect([...dumps.keys()]).toEqual(['links', 'tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix', 'packet']);
    for (const k of ['links', 'tcp', 'tcp6', 'udp', 'udp6', 'unix', 'packet'] as const) expect(dumps.get(k)).toBeInstanceOf(Buffer);
    const replayed = parseDumps((kind) => dumps.get(kind)!, h.ino)!;
    const live = readNetlinkTables(h.ns, h.ino)!;
    const key = (s: Socket) => `${s.inode} ${JSON.stringify(view(s))}`;
    const ours = new Set(socketFds(h.pid).values());
    expect(replayed.sockets.filter((s) => ours.has(s.inode)).map(key).sort()).toEqual(live.sockets.filter((s) => ours.has(s.inode)).map(key).sort());
    expect(replayed.fallback).toEqual(live.fallback);
  });

  it('stateMask: a bit per kept state, every state without a filter', () => {
    expect(stateMask('tcp')).toBe(0xffffffff);
    expect(stateMask('tcp', (_k, s) => s === 'LISTEN')).toBe(1 << 10);
    expect(stateMask('tcp', (_k, s) => s === 'ESTABLISHED' || s === 'UNKNOWN(0F)')).toBe((1 << 1) | (1 << 15));
    expect(stateMask('udp', (_k, s) => s === 'UNCONN')).toBe(1 << 7);
    expect(stateMask('raw', (_k, s) => s === 'ESTAB')).toBe(1 << 1);
    expect(stateMask('udp', (_k, s) => s === 'UNKNOWN(02)')).toBe(1 << 2);
    expect(stateMask('tcp', () => false)).toBe(0);
    const { requests, tables } = probeRequests(listenOnly);
    expect(tables).toEqual(['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix', 'packet']);
    expect(requests).toHaveLength(8);
  });

  it('netlinkFingerprint: the recorded inodes; equal bytes while nothing changes, a new listener changes only its table', () => {
    const fds = socketFds(h.pid);
    const live = readNetlinkTables(h.ns, h.ino, undefined, listenOnly)!;
    const f = netlinkFingerprint(h.ns, h.ino, listenOnly)!;
    expect(f.bytes).toHaveLength(8 - f.fallback.length);
    expect(f.fallback.filter((t) => t !== 'raw' && t !== 'raw6')).toEqual([]);
    // what a snapshot records: TCP listeners, bound UDP, named listening/dgram unix, packet; never the connection
    const expected = live.sockets.filter((s) => [...fds.values()].includes(s.inode) && (s.kind !== 'unix' || (s.localAddress !== '' && s.state !== 'CONN'))).map((s) => s.inode).sort();
    expect(f.inodes.filter((i) => [...fds.values()].includes(i)).sort()).toEqual(expected);
    expect(expected).toHaveLength(10);
    const again = netlinkFingerprint(h.ns, h.ino, listenOnly)!;
    expect(again.bytes.map((b) => b.toString('hex'))).toEqual(f.bytes.map((b) => b.toString('hex')));
    expect(netlinkFingerprint(h.ns, h.ino + 1, listenOnly)).toBeNull();
  });

  it('netlinkFingerprint bytes: the dump\'s messages with only seq, port id, timers and queues zeroed; unix: only the named ones kept', () => {
    const dumps = saveDumps(h.ns, h.ino)!;
    const f = netlinkFingerprint(h.ns, h.ino, listenOnly)!;
    const tables = ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix', 'packet'].filter((t) => !f.fallback.includes(t as never));
    /** the messages of a reply, each by its socket's inode */
    const messages = (buf: Buffer, kind: string) => {
      const out = new Map<number, Buffer>();
      for (let at = 0; at + NLMSGHDR.size <= buf.length;) {
        const len = buf.readUInt32LE(at);
        const m = buf.subarray(at, at + len);
        if (m.readUInt16LE(NLMSGHDR.nlmsg_type) === 20) out.set(m.readUInt32LE(NLMSGHDR.size + (kind === 'unix' ? UNIX_DIAG_MSG.udiag_ino : kind === 'packet' ? 4 : INET_DIAG_MSG.idiag_inode)), m);
        at += (len + 3) & ~3;
      }
      return out;
    };
    /** a unix message without its queue lengths (UNIX_DIAG_RQLEN, type 4): collect asks them, the probe does not (they change by themselves) */
    const withoutRqlen = (m: Buffer) => {
      const parts = [m.subarray(0, NLMSGHDR.size + UNIX_DIAG_MSG.size)];
      for (let a = NLMSGHDR.size + UNIX_DIAG_MSG.size; a + 4 <= m.length;) {
        const alen = m.readUInt16LE(a);
        if (alen < 4) break;
        const next = a + ((alen + 3) & ~3);
        if (m.readUInt16LE(a + 2) !== 4) parts.push(m.subarray(a, next));
        a = next;
      }
      const out = Buffer.concat(parts);
      out.writeUInt32LE(out.length, 0);
      return out;
    };
    let compared = 0;
    tables.forEach((kind, i) => {
      const raw = messages(dumps.get(kind as never) as Buffer, kind);
      for (const [ino, m] of messages(f.bytes[i], kind)) {
        const want = Buffer.from(kind === 'unix' ? withoutRqlen(raw.get(ino)!) : raw.get(ino)!);
        want.fill(0, NLMSGHDR.nlmsg_seq, NLMSGHDR.size);
        expect(m.subarray(NLMSGHDR.nlmsg_seq, NLMSGHDR.size).every((b) => b === 0), `${kind} ${ino} header`).toBe(true);
        if (kind !== 'unix' && kind !== 'packet') {
          const b = NLMSGHDR.size;
          want[b + INET_DIAG_MSG.idiag_timer] = 0; want[b + INET_DIAG_MSG.idiag_retrans] = 0;
          want.fill(0, b + INET_DIAG_MSG.idiag_expires, b + INET_DIAG_MSG.idiag_uid);
        }
        expect(m.equals(want), `${kind} ${ino}`).toBe(true);
        compared++;
      }
    });
    expect(compared).toBeGreaterThanOrEqual(10);
    // a listener's wqueue is its backlog (16): zeroed, so it is no part of the fingerprint
    const tcp = messages(dumps.get('tcp') as Buffer, 'tcp');
    expect([...tcp.values()].some((m) => m.readUInt32LE(NLMSGHDR.size + INET_DIAG_MSG.idiag_wqueue) === 16)).toBe(true);
    // the unix bytes hold exactly the named listening / unbound-state / datagram sockets, parsed back as a dump
    const unixBack = parseDumps((k) => (k === 'unix' ? f.bytes[tables.indexOf('unix')] : k === 'links' ? Buffer.alloc(0) : 2), h.ino)!;
    expect(unixBack.sockets.map((s) => s.localAddress).sort()).toEqual(['@lsm-live\0x', join(dir, 'a\nb.sock'), join(dir, 'd.sock')].sort());
  });

  it('netlinkDigest and socketsIn: hashes per table, the recorded count and inodes, skipped tables fall back', () => {
    const fp = netlinkFingerprint(h.ns, h.ino, listenOnly)!;
    const d = netlinkDigest(h.ns, h.ino, listenOnly, true)!;
    expect(d.recorded).toBe(fp.inodes.length);
    expect([...d.inodes!].sort()).toEqual([...fp.inodes].sort());
    expect(d.fallback).toEqual(fp.fallback);
    expect(d.hashes).toHaveLength(7 - d.fallback.length); // tcp of both families is one request
    const plain = netlinkDigest(h.ns, h.ino, listenOnly, false)!;
    expect(plain.inodes).toBeNull();
    expect(plain.hashes).toEqual(d.hashes);
    const skipped = netlinkDigest(h.ns, h.ino, listenOnly, false, new Set(['udp6', 'unix']))!;
    expect(skipped.fallback.slice(0, 2)).toEqual(['udp6', 'unix']);
    expect(skipped.hashes).toHaveLength(d.hashes.length - 2);
    const tcpSkipped = netlinkDigest(h.ns, h.ino, listenOnly, false, new Set(['tcp6']))!;
    expect(tcpSkipped.fallback.slice(0, 2)).toEqual(['tcp', 'tcp6']); // one request for both: both fall back
    expect(netlinkDigest(h.ns, h.ino + 1, listenOnly, false)).toBeNull();
    const total = socketsIn(h.ns, h.ino);
    expect(total).toBeGreaterThanOrEqual(socketFds(h.pid).size);
    expect(socketsIn(h.ns, h.ino + 1)).toBe(-1);
  });

  it('inspectHeldSockets: a copy of each fd tells domain, type, protocol, port, TCP state and the namespace', () => {
    const fds = socketFds(h.pid);
    const live = readNetlinkTables(h.ns, h.ino)!;
    const listener = live.sockets.find((s) => s.kind === 'tcp' && s.localPort === 4201 && s.state === 'LISTEN')!;
    const udp = live.sockets.find((s) => s.kind === 'udp' && s.localPort === 4204)!;
    const fdOf = (ino: number) => [...fds].find(([, i]) => i === ino)![0];
    const info = inspectHeldSockets(h.pid, [fdOf(listener.inode), fdOf(udp.inode)], [listener.inode, udp.inode], [])!;
    expect(info.map((i) => i && [i.domain, i.type, i.protocol, i.port, i.tcpState, i.netns])).toEqual([
      [2, 1, 6, 4201, 10, h.ino], [2, 2, 17, 4204, -1, h.ino],
    ]);
    const nsfds = new Set(info.map((i) => i!.nsfd).filter((fd) => fd >= 0));
    expect(nsfds.size).toBeGreaterThan(0); // an fd of the namespace, once
    for (const fd of nsfds) { expect(fstatSync(fd).ino).toBe(h.ino); closeSync(fd); }
    const known = inspectHeldSockets(h.pid, [fdOf(listener.inode)], [listener.inode], [h.ino])!;
    expect(known[0]!.nsfd).toBe(-1); // a namespace already known: no fd
    // an fd that is not (any more) the expected socket tells nothing
    expect(inspectHeldSockets(h.pid, [fdOf(listener.inode)], [udp.inode], [])).toEqual([null]);
  });

  it('a new listener changes the tcp fingerprint and digest, and nothing else', async () => {
    const before = netlinkFingerprint(h.ns, h.ino, listenOnly)!;
    const dBefore = netlinkDigest(h.ns, h.ino, listenOnly, false)!;
    h.proc.kill('SIGUSR1');
    for (let i = 0; i < 100 && !readNetlinkTables(h.ns, h.ino)!.sockets.some((s) => s.localPort === 4299); i++) await new Promise((r) => setTimeout(r, 20));
    const after = netlinkFingerprint(h.ns, h.ino, listenOnly)!;
    const changed = after.bytes.map((b, i) => !b.equals(before.bytes[i]));
    expect(changed).toEqual(before.bytes.map((_, i) => i === 0));
    expect(after.inodes).toHaveLength(before.inodes.length + 1);
    const dAfter = netlinkDigest(h.ns, h.ino, listenOnly, false)!;
    expect(dAfter.hashes.map((x, i) => x !== dBefore.hashes[i])).toEqual(dBefore.hashes.map((_, i) => i === 0));
    expect(dAfter.recorded).toBe(dBefore.recorded + 1);
  });
});
