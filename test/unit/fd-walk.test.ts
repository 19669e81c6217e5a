// The fd walk, native (netlink/sockdiag.c walkFds) and in JS (walkFdsJs), on a fixture tree of
// hostile entries and on real processes that vanish: both give the same numbers, and never throw.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { socketInodesOf, walkFds, walkFdsJs, walkResults, type FdWalk } from '../../src/collect/fds.js';
import { netlinkAddon } from '../../src/collect/netlink/index.js';

/** A walk as { pid: [n, denied, sorted "inode/fd" pairs] } and its io_uring (pid, fd) pairs, sorted. */
function view(w: FdWalk) {
  const out: Record<number, [number, number, string[]]> = {};
  const v = w.sockets;
  for (let at = 0; at < v.length;) {
    const pid = v[at];
    const n = v[at + 1];
    const pairs: string[] = [];
    for (let k = 0; k < Math.max(n, 0); k++) pairs.push(`${v[at + 3 + 2 * k]}/${v[at + 4 + 2 * k]}`);
    out[pid] = [n, v[at + 2], pairs.sort()];
    at += 3 + 2 * Math.max(n, 0);
  }
  const uring: string[] = [];
  for (let k = 0; k < w.ioUring.length; k += 2) uring.push(`${w.ioUring[k]}/${w.ioUring[k + 1]}`);
  return { out, uring: uring.sort() };
}

const tmp = mkdtempSync(join(tmpdir(), 'lsm-fdwalk-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fd walk on a hostile tree', () => {
  const proc = join(tmp, 'proc');
  const fd100 = join(proc, '100', 'fd');
  mkdirSync(fd100, { recursive: true });
  const links: Record<string, string> = {
    0: '/dev/null',
    3: 'socket:[1001]',
    4: 'socket:[1002]',
    5: 'anon_inode:[io_uring]',
    6: 'socket:[0x1F]', // Number() would read 31
    7: 'socket:[]', // Number('') is 0
    8: 'socket:[ 12]', // Number(' 12') is 12
    9: 'socket:[12]x',
    10: `socket:[${'9'.repeat(16)}]`, // more digits than any inode
    11: `socket:[1003]/${'a'.repeat(300)}]`, // longer than the native reader's buffer
    12: 'anon_inode:[io_uring]x',
    14: 'socket:[4294967296]',
    16: 'socket:[1007]',
    abc: 'socket:[1004]', // not an fd number
    '99999999999': 'socket:[1005]',
    '3x': 'socket:[1006]',
    '15\n': 'socket:[1008]',
    '-1': 'socket:[1009]',
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(fd100, name));
  writeFileSync(join(fd100, '13'), 'not a link'); // readlink: EINVAL, counted as denied
  mkdirSync(join(proc, '200'));
  writeFileSync(join(proc, '200', 'fd'), 'not a directory'); // unreadable
  mkdirSync(join(proc, '300')); // no fd directory: gone
  mkdirSync(join(proc, '400', 'fd'), { recursive: true });
  writeFileSync(join(proc, '400', 'fd', '3'), ''); // every link refused
  const pids = [100, 200, 300, 400, 500];
  const expected = {
    out: {
      100: [4, 1, ['1001/3', '1002/4', '1007/16', '4294967296/14']],
      200: [-2, 0, []],
      300: [-1, 0, []],
      400: [0, 1, []],
      500: [-1, 0, []],
    },
    uring: ['100/5'],
  };

  it('is read the same in JS, strictly', () => {
    expect(view(walkFdsJs(proc, pids))).toEqual(expected);
  });

  it('is read the same natively', () => {
    // built by npm ci: the native walk is what runs, not walkFds' fallback to JS
    expect(typeof (netlinkAddon() as { walkFds?: unknown } | null)?.walkFds).toBe('function');
    expect(view(walkFds(proc, pids))).toEqual(expected);
  });

  it('gives each pid its socket inodes, unreadable when only refusals were read', () => {
    const r = walkResults(walkFds(proc, pids), proc);
    expect([...(r.get(100) as number[])].sort()).toEqual([1001, 1002, 1007, 4294967296]);
    expect([r.get(200), r.get(300), r.get(400), r.get(500)]).toEqual(['unreadable', 'gone', 'unreadable', 'gone']);
    const only = walkResults(walkFds(proc, [100]), proc, { has: (i) => i === 1002 });
    expect(only.get(100)).toEqual([1002]);
    const none = walkResults(walkFds(proc, [100]), proc, { has: () => false });
    expect(none.get(100)).toEqual('unreadable'); // a refused link and no wanted socket: as socketInodesOf says
  });

  it('the worker and in-line path (socketInodesOf) reads links as strictly', () => {
    expect((socketInodesOf(fs, fd100) as number[]).sort()).toEqual([1001, 1002, 1007, 4294967296]);
    expect(socketInodesOf(fs, join(proc, '400', 'fd'))).toBe('unreadable');
  });
});

describe('fd walk of real processes', () => {
  it('gives the same as the JS walk for processes holding sockets and an io_uring', async () => {
    // a socket, a dup of it, and an io_uring (io_uring_setup, syscall 425) in one process
    const script = [
      'import ctypes, os, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d = os.dup(s.fileno())',
      'p = ctypes.create_string_buffer(120); u = ctypes.CDLL(None, use_errno=True).syscall(425, 8, p)',
      'print(s.fileno(), d, u, os.stat(f"/proc/self/fd/{s.fileno()}").st_ino, flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
      const [sfd, dfd, ufd, inode] = line.trim().split(' ').map(Number);
      expect(ufd).toBeGreaterThan(0);
      const pids = [child.pid!, process.pid, 1];
      const native = view(walkFds('/proc', pids));
      const js = view(walkFdsJs('/proc', pids));
      expect(native.out[child.pid!]).toEqual(js.out[child.pid!]);
      expect(native.out[1]).toEqual(js.out[1]);
      expect(native.out[child.pid!][2]).toEqual(expect.arrayContaining([`${inode}/${sfd}`, `${inode}/${dfd}`]));
      expect(native.uring).toContain(`${child.pid}/${ufd}`);
      expect(native.uring.filter((u) => u.startsWith(`${child.pid}/`))).toEqual(js.uring.filter((u) => u.startsWith(`${child.pid}/`)));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('says gone for processes that exited, and never throws while processes come and go', () => {
    // reaped children: their pids are gone (unless reused, which a 50-pid window makes unlikely but possible)
    const dead: number[] = [];
    for (let i = 0; i < 5; i++) dead.push(spawnSync('true').pid!);
    const w = walkResults(walkFds('/proc', dead), '/proc');
    expect([...w.values()].filter((r) => r === 'gone').length).toBeGreaterThanOrEqual(4);
    // processes exiting while the walk runs: bounded, 20 rounds of 10 short-lived children
    for (let round = 0; round < 20; round++) {
      const kids = Array.from({ length: 10 }, () => spawn('sh', ['-c', 'exec 3</dev/null; exit 0'], { stdio: 'ignore' }));
      const pids = kids.map((k) => k.pid!).filter(Boolean);
      const v = walkFds('/proc', pids).sockets;
      let at = 0;
      let records = 0;
      while (at < v.length) { expect(pids).toContain(v[at]); at += 3 + 2 * Math.max(v[at + 1], 0); records++; }
      expect(at).toBe(v.length);
      expect(records).toBe(pids.length);
    }
  });
});

describe('fd walk of a root that is gone', () => {
  it('says every pid is gone (a thread walk whose process exited), natively too', () => {
    // collect walks /proc/<pid>/task for a thread with its own table: the process may exit first
    const gone = join(tmp, 'exited', 'task');
    expect([...walkFds(gone, [7, 8]).sockets]).toEqual([7, -1, 0, 8, -1, 0]);
    expect(view(walkFds(gone, [7]))).toEqual(view(walkFdsJs(gone, [7])));
  });
});
