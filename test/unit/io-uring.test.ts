// Issue 18.3: sockets held in an io_uring's fixed-file table, read from the ring's fdinfo text:
// the kernel's exact text, and hostile, old-format and broken ones (test/fixtures/io-uring/).
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RING_NOT_READ, parseRingFiles, ringSocketInodes, ringThreadDoors } from '../../src/collect/io-uring.js';
import { collect } from '../../src/collect/index.js';
import { FIXTURES } from './fixtures.js';

const RINGS = join(FIXTURES, 'io-uring');
const fixture = (name: string) => readFileSync(join(RINGS, name), 'latin1');

describe('the fixed-file table of a ring (fdinfo)', () => {
  it("gives the sockets of the kernel's own text (Linux 6.18: a socket pair's end, a UDP socket; a pipe, /dev/null, a hostile file name, empty slots)", () => {
    expect(parseRingFiles(fixture('exact.fdinfo'))).toEqual([1468410, 1468412]);
  });

  it('takes only whole socket:[n] names: escaped paths, pseudo files, odd bytes and the buffers after the table are no sockets', () => {
    expect(parseRingFiles(fixture('hostile.fdinfo'))).toEqual([7005, 7006]);
  });

  it('gives nothing it cannot trust: the older raw format, a forged entry, a cut or damaged table, no table', () => {
    for (const name of ['old-format', 'forged-newline', 'cut', 'beyond-count', 'bad-count', 'no-table']) {
      expect(parseRingFiles(fixture(`${name}.fdinfo`)), name).toBeNull();
    }
    expect(parseRingFiles('UserFiles:\t1\n    0: socket:[5]\n    0: socket:[6]\nUserBufs:\t0\n')).toBeNull(); // one slot twice
    expect(parseRingFiles('UserFiles:\t99999999999\nUserBufs:\t0\n')).toBeNull(); // a count no kernel prints
    expect(parseRingFiles('')).toBeNull();
  });

  it('an empty table, and a complete one that ends the text, are fine', () => {
    expect(parseRingFiles('UserFiles:\t0\nUserBufs:\t0\n')).toEqual([]);
    expect(parseRingFiles('UserFiles:\t1\n    0: socket:[5]')).toEqual([5]);
  });

  it('reads the file: a ring closed meanwhile holds nothing; an unreadable, oversized or untrusted one holds what cannot be read', () => {
    expect(ringSocketInodes(fs, join(RINGS, 'exact.fdinfo'))).toEqual([1468410, 1468412]);
    expect(ringSocketInodes(fs, join(RINGS, 'gone.fdinfo'))).toEqual([]);
    expect(ringSocketInodes(fs, RINGS)).toEqual([RING_NOT_READ]); // a directory: EISDIR
    const big = join(mkdtempSync(join(tmpdir(), 'lsm-ring-')), 'big');
    writeFileSync(big, 'UserFiles:\t1\n    0: socket:[5]\n' + 'x'.repeat(9 << 20));
    expect(ringSocketInodes(fs, big)).toEqual([RING_NOT_READ]);
    writeFileSync(big, fixture('forged-newline.fdinfo'));
    expect(ringSocketInodes(fs, big)).toEqual([RING_NOT_READ]);
  });
});

/** A thread `tid` of `pid` in namespace `netns`, with its own /proc/<tid> (net/ to be filled). */
function thread(root: string, pid: number, tid: number, netns: number): void {
  for (const t of [pid, tid]) { fs.mkdirSync(join(root, 'proc', String(pid), 'task', String(t)), { recursive: true }); }
  fs.mkdirSync(join(root, 'proc', String(tid), 'ns'), { recursive: true });
  fs.mkdirSync(join(root, 'proc', String(tid), 'net'), { recursive: true });
  symlinkSync(`net:[${netns}]`, join(root, 'proc', String(tid), 'ns', 'net'));
}

describe("ways into a ring-held socket's namespace: the ring holder's threads", () => {
  it('gives each namespace a thread is in and none is read yet, once, within the cap', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-ring-threads-'));
    cpSync(join(FIXTURES, 'basic'), root, { recursive: true, verbatimSymlinks: true });
    thread(root, 1, 55, 4026532999);
    thread(root, 1, 56, 4026532999);
    thread(root, 500, 57, 4026532998);
    fs.mkdirSync(join(root, 'proc', '1', 'task', 'x'), { recursive: true }); // not a thread id
    const known = new Set([4026531840]);
    expect(ringThreadDoors(join(root, 'proc'), [1, 500, 999], known, 32)).toEqual(new Map([[4026532999, { tid: 55, pids: [1] }], [4026532998, { tid: 57, pids: [500] }]]));
    expect(ringThreadDoors(join(root, 'proc'), [1, 500], known, 1)).toEqual(new Map([[4026532999, { tid: 55, pids: [1] }]]));
    expect(ringThreadDoors(join(root, 'proc'), [1], new Set([...known, 4026532999]), 32)).toEqual(new Map());
  });
});

describe('collect, with rings in a fixture /proc', () => {
  it('gives a ring-held socket its owner, trusts no forged table, and names a ring-held socket in no table io_uring', () => {
    const root = mkdtempSync(join(tmpdir(), 'lsm-ring-tree-'));
    cpSync(join(FIXTURES, 'basic'), root, { recursive: true, verbatimSymlinks: true });
    const ring = (pid: number, fd: number, text: string) => {
      symlinkSync('anon_inode:[io_uring]', join(root, 'proc', String(pid), 'fd', String(fd)));
      fs.mkdirSync(join(root, 'proc', String(pid), 'fdinfo'), { recursive: true });
      writeFileSync(join(root, 'proc', String(pid), 'fdinfo', String(fd)), text);
    };
    // pid 500 holds the lo packet socket (9098, no fd anywhere) through a ring; pid 1 one in no table
    ring(500, 7, 'pos:\t0\nUserFiles:\t1\n    0: socket:[9098]\nUserBufs:\t0\n');
    ring(1, 7, 'pos:\t0\nUserFiles:\t5\n    2: socket:[777777]\n    3: /tmp/a\rb\n    4: socket:[888888]\nUserBufs:\t0\n');
    // pid 1's thread 55 (an SQPOLL ring's iou-sqp) is in a namespace no process is in, where 888888 listens
    thread(root, 1, 55, 4026532999);
    writeFileSync(join(root, 'proc', '55', 'net', 'tcp'), readFileSync(join(root, 'proc', '700', 'net', 'tcp'), 'latin1').replace(' 9500 ', ' 888888 ').replace('0050', '1F90'));
    writeFileSync(join(root, 'proc', '55', 'net', 'unix'), 'Num       RefCount Protocol Flags    Type St Inode Path\n');
    // pid 400's ring text is forged (the raw format): it claims dbus's listener, and gets nothing but a line saying so
    ring(400, 9, fixture('forged-newline.fdinfo').replace('4242', '9100'));
    const c = collect({ procRoot: join(root, 'proc'), passwdPath: join(root, 'etc', 'passwd'), netnsDir: join(root, 'run', 'netns') });
    const owners = (inode: number) => c.sockets.filter((s) => s.inode === inode).map((s) => [s.kind, s.localAddress, s.owners.map((o) => o.pid)]);
    expect(owners(9098)).toEqual([['packet', 'lo', [500]]]);
    expect(owners(9100)).toEqual([['unix', '/run/dbus/system_bus_socket', [600]]]);
    expect(owners(RING_NOT_READ)).toEqual([['unattributed', 'io_uring/unreadable', [400]]]);
    expect(owners(777777)).toEqual([['unattributed', 'io_uring', [1]]]);
    expect(owners(888888)).toEqual([['tcp', '0.0.0.0', [1]]]);
    expect(c.sockets.find((s) => s.inode === 888888)!.netns).toBe(4026532999);
    expect(c.namespaces.map((n) => n.inode)).toContain(4026532999);
  });
});
