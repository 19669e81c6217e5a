// Fds in flight (src/collect/in-flight.ts) beyond test/unit/in-flight: the unix socket fds of a
// real fd walk over the basic fixture's /proc, fdinfo as the kernel writes it (tabs, a count
// of several digits, the fd now holding another socket) in a fixture /proc tree, and the settle
// wait: a queue is named only when it still carries fds SETTLE_MS after it was first seen.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTLE_MS, queuesCarryingFds, scmFds, stillCarrying, unixFds, unixFdsOf, type QueueFd } from '../../src/collect/in-flight.js';
import { walkFds } from '../../src/collect/fds.js';

const BASIC = join(import.meta.dirname, '..', 'fixtures', 'basic', 'proc');
const fdinfo = (ino: number, scm: string) => `pos:\t0\nflags:\t02000002\nmnt_id:\t10\nino:\t${ino}\n${scm}`;

function procTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'lsm-inflight-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('unixFds and unixFdsOf over a real walk', () => {
  it("walks the pids' fds when the scan kept no walk, and keeps only the unix inodes", () => {
    // basic fixture: 100 holds 9091 (fd 3), 9092 (fd 4), 9110 (fd 5); 101 holds 9091 (fd 3)
    expect(unixFdsOf(BASIC, undefined, [100, 101], new Set([9091, 9110]))).toEqual([
      { pid: 100, inode: 9091, fd: 3 }, { pid: 100, inode: 9110, fd: 5 }, { pid: 101, inode: 9091, fd: 3 },
    ]);
    expect(unixFdsOf(BASIC, undefined, [101], new Set([9092]))).toEqual([]);
  });

  it("uses the scan's own walk when it kept one, not a new one", () => {
    const kept = { sockets: Float64Array.from([555, 1, 0, 9092, 8]), ioUring: new Float64Array(0) };
    expect(unixFdsOf(BASIC, kept, [100], new Set([9092]))).toEqual([{ pid: 555, inode: 9092, fd: 8 }]);
  });

  it('a pid gone or refused (no pairs) and a walk cut inside a header are skipped', () => {
    const walk = walkFds(BASIC, [100, 99999]);
    expect([...walk.sockets.subarray(-3)]).toEqual([99999, -1, 0]); // gone
    expect(unixFds(walk, new Set([9092]))).toEqual([{ pid: 100, inode: 9092, fd: 4 }]);
    // a header alone at the end (n = 0), then two stray numbers that are no header
    const cut = { sockets: Float64Array.from([7, 1, 0, 100, 3, 8, 0, 0, 9, 1]), ioUring: new Float64Array(0) };
    expect(unixFds(cut, new Set([100, 1, 9]))).toEqual([{ pid: 7, inode: 100, fd: 3 }]);
    expect(unixFds({ sockets: new Float64Array(0), ioUring: new Float64Array(0) }, new Set([0]))).toEqual([]);
  });
});

describe('scmFds reads fdinfo as the kernel writes it', () => {
  const root = procTree({
    '7/fdinfo/3': fdinfo(100, 'scm_fds:\t3\n'),
    '7/fdinfo/4': fdinfo(101, 'scm_fds: \t 12\n'),
    '7/fdinfo/5': fdinfo(102, 'scm_fds: 0\n'),
    '7/fdinfo/6': 'ino:\t5\nscm_fds: 2\n', // short: read after a longer one, nothing of it may stay
    '7/fdinfo/7': fdinfo(104, 'scm_fds: 1234567890\n'), // more than 9 digits: not a count
    '7/fdinfo/8': `${fdinfo(105, '')}scm_fds: 4 x\n`,
    '7/fdinfo/9': `pos:\t0\nino:\t106\nscm_fds: 9\n`,
    '7/fdinfo/10': fdinfo(107, 'scm_fds: 5\nlock:\t1\n'), // a line after the count
    '7/fdinfo/11': fdinfo(108, 'scm_fds: 4x\n'),
    '7/fdinfo/12': 'scm_fds: 3\nino:\t109\n', // the count first in the file
    '7/fdinfo/13': fdinfo(110, 'xscm_fds: 6\n'), // a line that merely ends so
    '7/fdinfo/14': fdinfo(111, 'scm_fds: 010\n'),
  });
  it('tabs and spaces before the count, a count of several digits', () => {
    expect(scmFds(root, { pid: 7, fd: 3, inode: 100 })).toBe(3);
    expect(scmFds(root, { pid: 7, fd: 4, inode: 101 })).toBe(12);
    expect(scmFds(root, { pid: 7, fd: 5, inode: 102 })).toBe(0);
    expect(scmFds(root, { pid: 7, fd: 9, inode: 106 })).toBe(9);
    expect(scmFds(root, { pid: 7, fd: 10, inode: 107 })).toBe(5);
    expect(scmFds(root, { pid: 7, fd: 12, inode: 109 })).toBe(3);
    expect(scmFds(root, { pid: 7, fd: 14, inode: 111 })).toBe(10); // decimal, whatever its zeros
  });
  it('a count that is not one is 0', () => {
    expect(scmFds(root, { pid: 7, fd: 7, inode: 104 })).toBe(0);
    expect(scmFds(root, { pid: 7, fd: 8, inode: 105 })).toBe(0);
    expect(scmFds(root, { pid: 7, fd: 11, inode: 108 })).toBe(0);
    expect(scmFds(root, { pid: 7, fd: 13, inode: 110 })).toBe(0);
  });
  it('the fd must still be that socket, whatever an earlier, longer read left in the buffer', () => {
    expect(scmFds(root, { pid: 7, fd: 3, inode: 100 })).toBe(3);
    expect(scmFds(root, { pid: 7, fd: 6, inode: 100 })).toBe(0);
    expect(scmFds(root, { pid: 7, fd: 6, inode: 5 })).toBe(2);
  });
  it('closes every fdinfo it opens, read or not (watch reads them every second)', () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const dir = procTree({ '7/fdinfo/3/x': '' });
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      scmFds(root, { pid: 7, fd: 3, inode: 100 });
      scmFds(root, { pid: 7, fd: 5, inode: 102 });
      scmFds(dir, { pid: 7, fd: 3, inode: 100 });
    }
    expect(openFds()).toBe(before);
  });
  it('an fdinfo that is a directory (unreadable) gives 0, not what an earlier read left', () => {
    const dir = procTree({ '7/fdinfo/3/x': '' });
    expect(scmFds(root, { pid: 7, fd: 3, inode: 100 })).toBe(3);
    expect(scmFds(dir, { pid: 7, fd: 3, inode: 100 })).toBe(0);
  });
});

describe('queues carrying fds, now and after the settle time', () => {
  const files = { '7/fdinfo/3': fdinfo(100, 'scm_fds: 2\n'), '7/fdinfo/4': fdinfo(101, 'scm_fds: 0\n'), '8/fdinfo/3': fdinfo(200, 'scm_fds: 1\n') };
  const q3: QueueFd = { pid: 7, fd: 3, inode: 100 };
  const q4: QueueFd = { pid: 7, fd: 4, inode: 101 };
  const q8: QueueFd = { pid: 8, fd: 3, inode: 200 };

  it('keeps the queues whose count is above 0', () => {
    const root = procTree(files);
    expect(queuesCarryingFds(root, [q3, q4, q8, { pid: 9, fd: 3, inode: 1 }])).toEqual([q3, q8]);
    expect(queuesCarryingFds(root, [])).toEqual([]);
  });

  it('waits out the rest of the settle time, then keeps those that still carry fds', () => {
    expect(SETTLE_MS).toBe(100);
    const root = procTree(files);
    const t0 = Date.now();
    // the queue of pid 8 is received meanwhile: its fdinfo says 0 when read again
    writeFileSync(join(root, '8/fdinfo/3'), fdinfo(200, 'scm_fds: 0\n'));
    expect(stillCarrying(root, [q3, q8], t0, 300)).toEqual([q3]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290); // waited (the clock's ms rounding aside)
  });

  it('does not wait again when collect already took the settle time, nor when nothing carried fds', () => {
    const root = procTree(files);
    const t0 = Date.now();
    expect(stillCarrying(root, [q3], t0 - 60_000, 30_000)).toEqual([q3]);
    expect(stillCarrying(root, [], t0, 30_000)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(10_000); // a wait would be 30 s
    rmSync(join(root, '7'), { recursive: true });
    expect(stillCarrying(root, [q3], t0 - 60_000, 30_000)).toEqual([]); // gone meanwhile
  });

  it('waits only the part of the settle time collect has not taken', () => {
    const root = procTree(files);
    const t0 = Date.now();
    expect(stillCarrying(root, [q3], t0 - 29_800, 30_000)).toEqual([q3]);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(10_000);
  });
});
