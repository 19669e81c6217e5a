// Issue 7: lsm sees every socket it records, and invents none. A world holding several hundred
// sockets of every kind lsm records, over several processes, is read by lsm (`status --json`) and
// by `ss` (iproute2, over netlink); both sides, normalized to the snapshot's endpoint text, must
// agree socket by socket on endpoints and on owner pids: zero missing, zero extra.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World, type SocketSpec } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

// ss -n prints a raw socket's IP protocol and a packet socket's ethertype as numbers; lsm names them
const IP_PROTOCOLS: Record<string, string> = { 1: 'icmp', 17: 'udp', 47: 'gre', 58: 'ipv6-icmp' };
const ETHERTYPES: Record<string, string> = { 2048: 'ip', 2054: 'arp', 34525: 'ipv6' };
const UNIX_TYPES: Record<string, string> = { u_str: 'stream', u_dgr: 'dgram', u_seq: 'seqpacket' };
const PACKET_TYPES: Record<string, string> = { p_raw: 'raw', p_dgr: 'dgram' };

interface Seen { key: string; pids: number[] }

/**
 * `ss -H -n -a -tuwx0 -p`, one socket a line: netid state recv-q send-q local [inode] peer [inode]
 * [users:(("comm",pid=N,fd=M),...)]. Kept: what lsm records by default (TCP listeners, UDP not
 * connected, raw, packet, unix sockets with a name); the key is lsm's endpoint text.
 */
function fromSs(text: string): Seen[] {
  const out: Seen[] = [];
  for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
    const [netid, state, , , local] = line.trim().split(/\s+/);
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    let key: string | null = null;
    if (netid === 'tcp' && state === 'LISTEN') key = `tcp ${local}`;
    else if (netid === 'udp' && state === 'UNCONN') key = `udp ${local}`;
    else if (netid === 'raw') {
      // IPV6_V6ONLY means nothing to a raw socket (it never gets IPv4): lsm writes '[::]' where ss,
      // by its dual-stack rule, writes '*'
      const at = local.lastIndexOf(':');
      const addr = local.slice(0, at) === '*' ? '[::]' : local.slice(0, at);
      key = `raw ${addr}:${IP_PROTOCOLS[local.slice(at + 1)] ?? `proto-${local.slice(at + 1)}`}`;
    } else if (netid in PACKET_TYPES) {
      // "PROTO:IFACE": '*' for every protocol (ETH_P_ALL), '[N]' for one; lsm writes IFACE:NAME
      const [proto, iface] = local.split(':');
      const name = proto === '*' ? 'all' : ETHERTYPES[proto.slice(1, -1)] ?? proto;
      key = `packet ${PACKET_TYPES[netid]} ${iface}:${name}`;
    } else if (netid in UNIX_TYPES && local !== '*') key = `unix ${UNIX_TYPES[netid]} ${local}`;
    if (key !== null) out.push({ key, pids });
  }
  return out;
}

interface LiveSocket { kind: string; endpoint: string; type: string | null; owners: { pid: number }[] }

function fromLsm(json: string): Seen[] {
  const { sockets } = JSON.parse(json) as { sockets: LiveSocket[] };
  return sockets.map((s) => ({
    key: s.kind === 'unix' || s.kind === 'packet' ? `${s.kind} ${s.type} ${s.endpoint}` : `${s.kind} ${s.endpoint}`,
    pids: s.owners.map((o) => o.pid),
  }));
}

/** What one side has that the other lacks, counted (a multiset difference). */
function missing(from: string[], in_: string[]): string[] {
  const left = new Map<string, number>();
  for (const k of in_) left.set(k, (left.get(k) ?? 0) + 1);
  const out: string[] = [];
  for (const k of from) {
    const n = left.get(k) ?? 0;
    if (n === 0) out.push(k);
    else left.set(k, n - 1);
  }
  return out.sort();
}

describe('lsm agrees with ss', () => {
  let world: World;
  let tmp: string;
  const held: number[] = [];
  const specs: SocketSpec[][] = [];

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-sscmp-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc')) };
    const dir = mkdtempSync(join(tmp, 'u'));
    specs.push(
      [ // IPv4 listeners: loopback, every address, bound to a device; one with an accepted connection
        ...range(10000, 60).map((port) => ({ kind: 'tcp4', addr: '127.0.0.1', port })),
        ...range(10100, 20).map((port) => ({ kind: 'tcp4', addr: '0.0.0.0', port })),
        ...range(10200, 10).map((port) => ({ kind: 'tcp4', addr: '0.0.0.0', port, device: 'lo' })),
        { kind: 'tcp4-conn', addr: '127.0.0.1', port: 10000 },
      ],
      [ // IPv6 listeners: loopback, IPv6-only, dual-stack, bound to a device
        ...range(10300, 40).map((port) => ({ kind: 'tcp6', addr: '::1', port })),
        ...range(10400, 20).map((port) => ({ kind: 'tcp6', addr: '::', port, v6only: true })),
        ...range(10500, 20).map((port) => ({ kind: 'tcp6', addr: '::', port, v6only: false })),
        ...range(10600, 5).map((port) => ({ kind: 'tcp6', addr: '::1', port, device: 'lo' })),
        ...range(10700, 5).map((port) => ({ kind: 'tcp6', addr: '::', port, v6only: false, device: 'lo' })),
      ],
      [ // bound UDP, both families
        ...range(20000, 50).map((port) => ({ kind: 'udp4', addr: '127.0.0.1', port })),
        ...range(20100, 20).map((port) => ({ kind: 'udp4', addr: '0.0.0.0', port })),
        ...range(20200, 30).map((port) => ({ kind: 'udp6', addr: '::1', port })),
        ...range(20300, 10).map((port) => ({ kind: 'udp6', addr: '::', port, v6only: false })),
        ...range(20400, 5).map((port) => ({ kind: 'udp4', addr: '0.0.0.0', port, device: 'lo' })),
      ],
      [ // unix sockets with paths: listening stream and seqpacket, bound dgram, bound stream not listening
        ...range(0, 40).map((i) => ({ kind: 'unix', path: join(dir, `str${i}`) })),
        ...range(0, 30).map((i) => ({ kind: 'unix-dgram', path: join(dir, `dgr${i}`) })),
        ...range(0, 20).map((i) => ({ kind: 'unix-seq', path: join(dir, `seq${i}`) })),
        ...range(0, 20).map((i) => ({ kind: 'unix-bound', path: join(dir, `bnd${i}`) })),
      ],
      [ // abstract names, stream and dgram
        ...range(0, 30).map((i) => ({ kind: 'abstract', name: `lsm-sscmp-str-${i}` })),
        ...range(0, 15).map((i) => ({ kind: 'abstract-dgram', name: `lsm-sscmp-dgr-${i}` })),
      ],
      [ // a sniffer: packet sockets (every protocol, one ethertype, cooked) and raw IP sockets
        ...range(0, 3).map(() => ({ kind: 'packet', proto: 3 })),
        ...range(0, 2).map(() => ({ kind: 'packet', proto: 0x0800 })),
        ...range(0, 2).map(() => ({ kind: 'packet-dgram', proto: 0x86dd })),
        ...range(0, 3).map(() => ({ kind: 'raw4', proto: 1 })),
        ...range(0, 2).map(() => ({ kind: 'raw4', proto: 47 })),
        ...range(0, 3).map(() => ({ kind: 'raw6', proto: 58 })),
      ],
    );
    for (const [i, s] of specs.entries()) held.push((await world.hold(s, `sscmp${i}`)).pid);
  }, 120_000);

  afterAll(async () => {
    for (const pid of held) await world.kill(pid);
    await world?.stop();
  });

  it('on every endpoint and every owner', { timeout: 120_000 }, async () => {
    const ss = await world.run(['ss', '-H', '-n', '-a', '-tuwx0', '-p']);
    expect(ss.code, ss.stderr).toBe(0);
    const st = await world.lsm(['status', '--json', '--repo', join(tmp, 'repo')]);
    expect(st.code, st.stderr).toBe(0);
    const theirs = fromSs(ss.stdout);
    const ours = fromLsm(st.stdout);
    // ss sees every socket the holders made that lsm records (the accepted connection is not one)
    const made = specs.flat().filter((s) => s.kind !== 'tcp4-conn').length;
    expect(made).toBeGreaterThan(400);
    expect(theirs).toHaveLength(made);
    // endpoints, counted: none missing, none extra
    const a = theirs.map((s) => s.key);
    const b = ours.map((s) => s.key);
    expect({ missing: missing(a, b), extra: missing(b, a) }).toEqual({ missing: [], extra: [] });
    // owners: each socket's endpoint with each pid that holds it
    const owned = (list: Seen[]) => list.flatMap((s) => s.pids.map((pid) => `${s.key} pid=${pid}`));
    const ao = owned(theirs);
    const bo = owned(ours);
    expect(ao).toHaveLength(made);
    expect(new Set(ao.map((k) => k.replace(/.* pid=/, ''))).size).toBe(held.length);
    expect({ missing: missing(ao, bo), extra: missing(bo, ao) }).toEqual({ missing: [], extra: [] });
  });
});
