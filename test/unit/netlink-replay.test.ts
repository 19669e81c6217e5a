// Saved netlink dumps replayed through the parser, as ss replays TCPDIAG_FILE: the exact dumps of a
// namespace with known sockets (test/fixtures/netlink/save.mjs made them on Linux 6.18), and the
// same bytes cut or damaged, which must give fewer sockets, never wrong ones, and never throw.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDumps, type DumpKind } from '../../src/collect/netlink/index.js';
import { INET_DIAG_MSG, NLMSGHDR, RTATTR, UNIX_DIAG_MSG } from '../../src/collect/netlink/structs.js';
import type { Socket } from '../../src/types.js';
import { FIXTURES } from './fixtures.js';

const SAVED = join(FIXTURES, 'netlink', 'basic');
const saved = (kind: DumpKind): Buffer | number =>
  existsSync(join(SAVED, `${kind}.bin`)) ? readFileSync(join(SAVED, `${kind}.bin`)) : Number(readFileSync(join(SAVED, `${kind}.errno`), 'utf8'));
const replay = (change: Partial<Record<DumpKind, Buffer | number>> = {}, ...rest: Parameters<typeof parseDumps> extends [unknown, unknown, ...infer R] ? R : never) =>
  parseDumps((kind) => change[kind] ?? saved(kind), 7, ...rest);
const view = (s: Socket) => [s.kind, s.family, s.state, s.localAddress, s.localPort, s.remoteAddress, s.remotePort, s.inode, s.v6only ?? s.socketType ?? null];

describe('saved netlink dumps, replayed', () => {
  it('give exactly the sockets the namespace held, and name what netlink could not dump (raw_diag not loaded)', () => {
    const r = replay()!;
    expect(r.sockets.map(view)).toEqual([
      ['tcp', 'inet', 'LISTEN', '127.0.0.1', 4101, '0.0.0.0', 0, 2339834, null],
      ['tcp', 'inet', 'ESTABLISHED', '127.0.0.1', 4101, '127.0.0.1', 38922, 2343948, null],
      ['tcp', 'inet', 'ESTABLISHED', '127.0.0.1', 38922, '127.0.0.1', 4101, 2343947, null],
      ['tcp', 'inet6', 'LISTEN', '::1', 4102, '::', 0, 2343942, true],
      ['tcp', 'inet6', 'LISTEN', '::', 4103, '::', 0, 2343943, false],
      ['udp', 'inet', 'UNCONN', '0.0.0.0', 4104, '0.0.0.0', 0, 2343946, null],
      // one name with a newline in it, and an abstract name with its NULs (Node binds all 107 bytes)
      ['unix', 'unix', 'LISTEN', '/tmp/lsm-replay.d/a\nb.sock', 0, '', 0, 2343944, 'stream'],
      ['unix', 'unix', 'LISTEN', '@lsm-replay\0x' + '\0'.repeat(95), 0, '', 0, 2343945, 'stream'],
    ]);
    expect(r.sockets.every((s) => s.netns === 7 && s.uid === 0 && s.owners.length === 0)).toBe(true);
    expect(r.fallback).toEqual(['raw', 'raw6']);
  });

  it('make sockets only of the kept states, and tell `saw` every inode', () => {
    const saw: number[] = [];
    const r = replay({}, (s) => s.kind !== 'udp', (kind, state) => kind === 'tcp' && state === 'LISTEN', (i) => saw.push(i))!;
    expect(r.sockets.map((s) => s.inode)).toEqual([2339834, 2343942, 2343943, 2343944, 2343945]);
    expect(saw.sort()).toEqual([2339834, 2343942, 2343943, 2343944, 2343945, 2343946, 2343947, 2343948]);
  });

  it('cut at any byte: a prefix of the sockets, never a wrong one, never a throw', () => {
    const full = replay()!.sockets.map(view);
    for (const kind of ['tcp', 'tcp6', 'unix'] as const) {
      const bytes = saved(kind) as Buffer;
      const mine = full.filter((v) => (kind === 'unix' ? v[0] === 'unix' : v[0] === 'tcp' && v[1] === (kind === 'tcp6' ? 'inet6' : 'inet')));
      for (let n = 0; n < bytes.length; n++) {
        const got = replay({ [kind]: bytes.subarray(0, n) })!.sockets.map(view).filter((v) => mine.some((m) => m[7] === v[7]));
        expect(mine.slice(0, got.length), `${kind} cut at ${n}`).toEqual(got);
        expect(got.length, `${kind} cut at ${n}`).toBeLessThan(mine.length);
      }
    }
  });

  it('damaged lengths stop the walk instead of reading past them', () => {
    const tcp = Buffer.from(saved('tcp') as Buffer);
    const second = tcp.readUInt32LE(NLMSGHDR.nlmsg_len); // the second message starts here (aligned)
    for (const bad of [0xffffffff, NLMSGHDR.size - 1, 0]) {
      const broken = Buffer.from(tcp);
      broken.writeUInt32LE(bad, second + NLMSGHDR.nlmsg_len);
      expect(replay({ tcp: broken })!.sockets.filter((s) => s.kind === 'tcp' && s.family === 'inet').map((s) => s.inode)).toEqual([2339834]);
    }
    // tcp6's first attribute with a length of 0: the walk of its attributes stops; the socket is kept, v6only unknown
    const tcp6 = Buffer.from(saved('tcp6') as Buffer);
    tcp6.writeUInt16LE(0, NLMSGHDR.size + INET_DIAG_MSG.size + RTATTR.rta_len);
    expect(replay({ tcp6 })!.sockets.filter((s) => s.family === 'inet6').map((s) => [s.inode, s.v6only])).toEqual([[2343942, undefined], [2343943, false]]);
    // the unix name attribute claiming more bytes than its message: no name, not a name read from the next
    const unix = Buffer.from(saved('unix') as Buffer);
    unix.writeUInt16LE(0x7fff, NLMSGHDR.size + UNIX_DIAG_MSG.size + RTATTR.rta_len);
    expect(replay({ unix })!.sockets.filter((s) => s.kind === 'unix').map((s) => [s.inode, s.localAddress])).toEqual([[2343944, ''], [2343945, '@lsm-replay\0x' + '\0'.repeat(95)]]);
  });

  it('a dump that throws (the namespace went away) gives null; errnos fall back to /proc per table', () => {
    expect(parseDumps(() => { throw new Error('ESTALE'); }, 7)).toBeNull();
    expect(parseDumps((k) => { if (k === 'unix') throw new Error('gone'); return saved(k); }, 7)).toBeNull();
    expect(replay({ tcp: 2, unix: 2, packet: 2 })!.fallback).toEqual(['tcp', 'raw', 'raw6', 'unix', 'packet']);
  });
});
