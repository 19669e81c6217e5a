// in-flight.ts reads fdinfo as the kernel writes it; unseen.ts names what it found without letting
// a hostile name forge a line.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scmFds, unixFds } from '../../src/collect/in-flight.js';
import { unseenLines, unseenSummary } from '../../src/snapshot/unseen.js';
import type { CollectStats } from '../../src/types.js';

const fdinfo = (ino: number, scm: string) => `pos:\t0\nflags:\t02000002\nmnt_id:\t10\nino:\t${ino}\n${scm}`;

describe('scmFds', () => {
  const root = mkdtempSync(join(tmpdir(), 'lsm-scm-'));
  mkdirSync(join(root, '7', 'fdinfo'), { recursive: true });
  writeFileSync(join(root, '7', 'fdinfo', '3'), fdinfo(100, 'scm_fds: 2\n'));
  writeFileSync(join(root, '7', 'fdinfo', '4'), fdinfo(101, 'scm_fds: 0\n'));
  writeFileSync(join(root, '7', 'fdinfo', '5'), fdinfo(102, ''));
  writeFileSync(join(root, '7', 'fdinfo', '6'), fdinfo(1030, 'scm_fds: 10\n'));
  it('gives the count while the fd is still that socket, else 0', () => {
    expect(scmFds(root, { pid: 7, fd: 3, inode: 100 })).toBe(2);
    expect(scmFds(root, { pid: 7, fd: 3, inode: 10 })).toBe(0); // the fd now holds another socket
    expect(scmFds(root, { pid: 7, fd: 4, inode: 101 })).toBe(0);
    expect(scmFds(root, { pid: 7, fd: 5, inode: 102 })).toBe(0); // a kernel that does not say
    expect(scmFds(root, { pid: 7, fd: 6, inode: 1030 })).toBe(10);
    expect(scmFds(root, { pid: 7, fd: 6, inode: 103 })).toBe(0);
    expect(scmFds(root, { pid: 8, fd: 3, inode: 100 })).toBe(0); // gone
  });
  it('takes the unix socket fds of a walk', () => {
    const walk = { sockets: Float64Array.from([7, 2, 0, 100, 3, 200, 9, 8, -1, 0, 9, 1, 0, 101, 4]), ioUring: new Float64Array(0) };
    expect(unixFds(walk, new Set([100, 101]))).toEqual([{ pid: 7, inode: 100, fd: 3 }, { pid: 9, inode: 101, fd: 4 }]);
  });
});

describe('fds in flight in unseen', () => {
  const stats: CollectStats = { processes: 1, namespaces: 1, sockets: 0, unreadable: 0, vanished: 0, inFlight: [
    { path: '/tmp/a b\nlsm: forged', inode: 5, comm: 'x\ny', user: 'nobody' },
    { path: '', inode: 6, comm: 'hider', user: 'nobody' },
    { path: '', inode: 6, comm: 'hider', user: 'nobody' }, // the same socket in another fd
  ] };
  it('one line per queue, names escaped, no count', () => {
    expect(unseenLines(stats)).toEqual([
      'fds in flight: unix socket /tmp/a\\x20b\\x0alsm:\\x20forged held by x\\x0ay nobody: what they carry is not read',
      'fds in flight: unix socket inode 6 held by hider nobody: what they carry is not read',
    ]);
    expect(unseenSummary(stats)).toBe('fds in flight in 2 unix socket queues (unix socket /tmp/a\\x20b\\x0alsm:\\x20forged held by x\\x0ay nobody, unix socket inode 6 held by hider nobody): what they carry is not read');
  });
  it('beside what was not seen', () => {
    const both = { ...stats, inFlight: [stats.inFlight![1]], unseen: { processes: 0, namespaces: 1, reason: 'permission denied' } };
    expect(unseenLines(both)).toEqual(['fds in flight: unix socket inode 6 held by hider nobody: what they carry is not read', '1 namespace not readable: permission denied']);
    expect(unseenSummary(both)).toBe('1 namespace not readable (permission denied): sockets only there are not recorded; fds in flight in 1 unix socket queue (unix socket inode 6 held by hider nobody): what they carry is not read');
  });
  it('names five queues on the one line, however many a user fills', () => {
    const many = { ...stats, inFlight: Array.from({ length: 1000 }, (_, i) => ({ path: '', inode: i, comm: 'c', user: 'u' })) };
    expect(unseenLines(many)).toHaveLength(1000);
    expect(unseenSummary(many)).toBe(`fds in flight in 1000 unix socket queues (${[0, 1, 2, 3, 4].map((i) => `unix socket inode ${i} held by c u`).join(', ')}, 995 more in host/unattributed): what they carry is not read`);
  });
});
