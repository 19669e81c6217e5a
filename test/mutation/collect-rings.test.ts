// Sockets held by io_uring rings (src/collect/io-uring.ts) and the fd walk's results (fds.ts) at
// the edges: fdinfo tables exactly at their limits or one past them, files read in pieces, and
// fixture /proc trees where rings, fds and threads tell what each process holds.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RING_NOT_READ, nameRingHeld, parseRingFiles, ringHeldStrays, ringSocketInodes, ringThreadDoors } from '../../src/collect/io-uring.js';
import { socketFds, socketInodesOf, socketLinkInode, walkFdsJs, walkResults, type FdWalk } from '../../src/collect/fds.js';

const table = (count: number | string, ...entries: string[]) => `pos:\t0\nUserFiles:\t${count}\n${entries.join('\n')}${entries.length ? '\n' : ''}UserBufs:\t0\nPollList:\n`;

describe('parseRingFiles at its edges', () => {
  it('the header is exactly "UserFiles:" and a tab, with 1 to 10 digits', () => {
    expect(parseRingFiles(table(1, '    0: socket:[5]'))).toEqual([5]);
    for (const bad of ['UserFiles: 1\n    0: socket:[5]\n', 'UserFiles:\t\n', 'UserFiles:\t+1\n', 'UserFiles:\t1 \n', 'UserFiles:\t0x1\n', ' UserFiles:\t1\n    0: socket:[5]\n', 'userFiles:\t0\n'])
      expect(parseRingFiles(bad), JSON.stringify(bad)).toBeNull();
    expect(parseRingFiles(table('0000000002', '    1: socket:[5]'))).toEqual([5]);
    expect(parseRingFiles(table('12345678901'))).toBeNull();
  });

  it('slots: in order, each below the count and once; any number of leading spaces', () => {
    expect(parseRingFiles(table(3, '0: socket:[1]', '      1: socket:[2]', '2: socket:[3]'))).toEqual([1, 2, 3]);
    expect(parseRingFiles(table(3, '    2: socket:[1]'))).toEqual([1]); // empty slots skipped before it
    expect(parseRingFiles(table(3, '    1: socket:[1]', '    0: socket:[2]'))).toBeNull(); // backwards
    expect(parseRingFiles(table(3, '    1: socket:[1]', '    1: socket:[2]'))).toBeNull(); // twice
    expect(parseRingFiles(table(2, '    2: socket:[1]'))).toBeNull(); // the count is a bound
    expect(parseRingFiles(table(0, '    0: socket:[1]'))).toBeNull();
    expect(parseRingFiles(table(2, '    0: socket:[1]', '    1: socket:[2]', '    2: socket:[3]'))).toBeNull(); // one more than counted
    // an index with more than ten digits is no entry: the table ends there, cut short
    expect(parseRingFiles(table(5, '    0: socket:[1]', '    12345678901: socket:[2]'))).toBeNull();
    // a slot without the space after its colon is no entry either: a damaged table
    expect(parseRingFiles(table(2, '    0:socket:[1]'))).toBeNull();
  });

  it("names: a path, or 'type:...' in lower case and '_': anything else is the old raw format", () => {
    expect(parseRingFiles(table(6, '    0: /dev/null', '    1: anon_inode:[eventfd]', '    2: pipe:[9]', '    3: socket:[4]', '    4: /', '    5: a_b:x'))).toEqual([4]);
    for (const raw of ['TCP', '<none>', 'Socket:[4]', ' socket:[4]', '', '9:[1]', 'socket[4]', '-:x', 'UNIX-STREAM'])
      expect(parseRingFiles(table(2, `    0: ${raw}`)), raw).toBeNull();
  });

  it('a socket is exactly socket:[1 to 15 digits]; other names are files, not sockets', () => {
    expect(parseRingFiles(table(5, `    0: socket:[${'9'.repeat(15)}]`, `    1: socket:[${'9'.repeat(16)}]`, '    2: socket:[]', '    3: socket:[12]x', '    4: socket:[1\r]'))).toEqual([999999999999999]);
    expect(parseRingFiles(table(2, '    0: /tmp/socket:[7]', '    1: xsocket:[8]'))).toEqual([]);
  });

  it('fewer entries than counted: fine when a header follows, unknown when the text ends or something else does', () => {
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\nUserBufs:\t0\n')).toEqual([5]);
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\nX:\n')).toEqual([5]);
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\n')).toBeNull();
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]')).toBeNull();
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\nuserBufs:\t0\n')).toBeNull();
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\n:\n')).toBeNull();
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\n9Bufs:\n')).toBeNull();
    expect(parseRingFiles('UserFiles:\t4\n    1: socket:[5]\nUser Bufs:\n')).toBeNull();
    expect(parseRingFiles('UserFiles:\t1\n    0: socket:[5]\n')).toEqual([5]); // all there: the end may follow
    expect(parseRingFiles('UserFiles:\t0\n')).toEqual([]);
  });
});

describe('ringSocketInodes reads the fdinfo file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-rings-'));

  it('a table longer than one read is read whole', () => {
    const entries = Array.from({ length: 5000 }, (_, i) => `${String(i).padStart(6)}: /tmp/${'f'.repeat(20)}`);
    entries.push(' 5000: socket:[424242]');
    const file = join(dir, 'long');
    writeFileSync(file, table(5001, ...entries));
    expect(fs.statSync(file).size).toBeGreaterThan(2 << 16);
    expect(ringSocketInodes(fs, file)).toEqual([424242]);
  });

  it('8 MiB is read, a byte more is not trusted', () => {
    const head = 'UserFiles:\t1\n    0: socket:[5]\nUserBufs:\t0\nPollList:\n';
    const exact = join(dir, 'exact8');
    writeFileSync(exact, head + 'x'.repeat((8 << 20) - head.length));
    expect(fs.statSync(exact).size).toBe(8 << 20);
    expect(ringSocketInodes(fs, exact)).toEqual([5]);
    const over = join(dir, 'over8');
    writeFileSync(over, head + 'x'.repeat((8 << 20) - head.length + 1));
    expect(ringSocketInodes(fs, over)).toEqual([RING_NOT_READ]);
  });

  it('gone (ENOENT) holds nothing; any other failure is unknown', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, table(1, '    0: socket:[5]'));
    expect(ringSocketInodes(fs, join(dir, 'missing'))).toEqual([]);
    // ESRCH: the pid went away between the walk and the open (the kernel's own race; no file can make it)
    const gone = { ...fs, openSync: () => { throw Object.assign(new Error('gone'), { code: 'ESRCH' }); } } as unknown as typeof fs;
    expect(ringSocketInodes(gone, file)).toEqual([]);
    expect(ringSocketInodes(fs, join(file, 'below'))).toEqual([RING_NOT_READ]); // ENOTDIR
    expect(ringSocketInodes(fs, dir)).toEqual([RING_NOT_READ]); // EISDIR on read
    expect(ringSocketInodes(fs, join(dir, 'x'.repeat(300)))).toEqual([RING_NOT_READ]); // ENAMETOOLONG
  });

  it('does not leave the file open', () => {
    const file = join(dir, 'closed');
    writeFileSync(file, table(1, '    0: socket:[5]'));
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 20; i++) ringSocketInodes(fs, file);
    ringSocketInodes(fs, dir);
    expect(fs.readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before);
  });
});

/** A fixture /proc: pid -> fd -> link, and fdinfo texts of rings. */
function tree(procs: Record<number, { fds?: Record<string, string>; rings?: Record<number, string> }>) {
  const proc = mkdtempSync(join(tmpdir(), 'lsm-ringtree-'));
  for (const [pid, p] of Object.entries(procs)) {
    mkdirSync(join(proc, pid, 'fd'), { recursive: true });
    mkdirSync(join(proc, pid, 'fdinfo'), { recursive: true });
    for (const [fd, link] of Object.entries(p.fds ?? {})) symlinkSync(link, join(proc, pid, 'fd', fd));
    for (const [fd, text] of Object.entries(p.rings ?? {})) {
      if (!(p.fds ?? {})[fd]) symlinkSync('anon_inode:[io_uring]', join(proc, pid, 'fd', fd));
      writeFileSync(join(proc, pid, 'fdinfo', fd), text);
    }
  }
  return proc;
}

describe('ring-held strays and their names', () => {
  it('gives each pid the strays one of its rings holds, and nothing else', () => {
    const proc = tree({
      10: { rings: { 4: table(3, '    0: socket:[100]', '    1: socket:[101]', '    2: socket:[999]'), 6: table(1, '    0: socket:[102]') } },
      20: { rings: { 5: table(1, '    0: socket:[200]') } },
      30: { rings: { 3: 'UserFiles:\t1\n    0: TCP\n' } },
    });
    const strays = new Map([[10, [100, 102, 103]], [30, [300]], [40, [400]]]);
    const rings = Float64Array.from([10, 4, 20, 5, 10, 6, 30, 3, 40, 9, 10]); // a trailing half pair is no ring
    expect(ringHeldStrays(proc, strays, rings)).toEqual(new Map([[10, new Set([100, 102])]]));
    expect(ringHeldStrays(proc, strays, new Float64Array(0))).toEqual(new Map());
    expect(ringHeldStrays(proc, new Map([[10, [101]]]), Float64Array.from([10, 4, 10, 4]))).toEqual(new Map([[10, new Set([101])]]));
  });

  it("names them io_uring unless something else named them", () => {
    const what = new Map([[1, 'vsock/stream']]);
    nameRingHeld(new Map([[10, new Set([1, 2])], [20, new Set([3])]]), what);
    expect(what).toEqual(new Map([[1, 'vsock/stream'], [2, 'io_uring'], [3, 'io_uring']]));
  });

  it("threads: every namespace not known, once, its holders listed once each; unreadable threads skipped", () => {
    const proc = mkdtempSync(join(tmpdir(), 'lsm-threads-'));
    const thread = (pid: number, tid: number, ns: string | null) => {
      mkdirSync(join(proc, String(pid), 'task', String(tid)), { recursive: true });
      mkdirSync(join(proc, String(tid), 'ns'), { recursive: true });
      if (ns !== null) symlinkSync(ns, join(proc, String(tid), 'ns', 'net'));
    };
    thread(1, 1, 'net:[100]');
    thread(1, 11, 'net:[500]');
    thread(1, 12, 'net:[500]');
    thread(2, 21, 'net:[500]');
    thread(2, 22, 'net:[600]');
    thread(2, 23, null); // exited
    thread(3, 31, 'mnt:[xyz]');
    mkdirSync(join(proc, '2', 'task', '12345678901'), { recursive: true }); // no thread id
    mkdirSync(join(proc, '2', 'task', 'self'), { recursive: true });
    const known = new Set([100]);
    expect(ringThreadDoors(proc, [1, 2, 3, 4], known, 32)).toEqual(new Map([[500, { tid: 11, pids: [1, 2] }], [600, { tid: 22, pids: [2] }]]));
    expect(ringThreadDoors(proc, [2, 1], known, 1)).toEqual(new Map([[500, { tid: 21, pids: [2, 1] }]]));
    expect(ringThreadDoors(proc, [1, 2], known, 0)).toEqual(new Map());
    expect(ringThreadDoors(proc, [1, 2], new Set([100, 500, 600]), 32)).toEqual(new Map());
  });
});

describe("the fd walk's results", () => {
  it('socketLinkInode: socket:[1 to 15 digits] and nothing else', () => {
    expect(socketLinkInode('socket:[0]')).toBe(0);
    expect(socketLinkInode(`socket:[${'9'.repeat(15)}]`)).toBe(999999999999999);
    for (const bad of [`socket:[${'9'.repeat(16)}]`, 'socket:[]', 'socket:[1]x', 'xsocket:[1]', 'socket:[0x1]', 'socket:[ 1]', 'pipe:[1]', '']) expect(socketLinkInode(bad), bad).toBe(-1);
  });

  it("walkResults: each pid's sockets, ring-held ones added once, a ring not read as RING_NOT_READ, 'gone', 'unreadable' only when nothing wanted was read", () => {
    const proc = tree({
      10: { rings: { 7: table(2, '    0: socket:[101]', '    1: socket:[900]') } },
      20: { rings: { 7: 'UserFiles:\t1\n    0: TCP\n' } },
      30: { rings: { 7: 'UserFiles:\t1\n    0: TCP\n' } },
    });
    const walk: FdWalk = {
      // pid, n, denied, n pairs (inode, fd)
      sockets: Float64Array.from([10, 2, 0, 100, 3, 101, 4, 20, 0, 0, 30, 1, 0, 300, 3, 40, -1, 0, 50, -2, 0, 60, 0, 2, 70, 1, 1, 700, 3]),
      ioUring: Float64Array.from([10, 7, 20, 7, 30, 7]),
    };
    expect(walkResults(walk, proc)).toEqual(new Map<number, unknown>([
      [10, [100, 101, 900]], [20, [RING_NOT_READ]], [30, [300, RING_NOT_READ]], [40, 'gone'], [50, 'unreadable'], [60, 'unreadable'], [70, [700]],
    ]));
    const wanted = new Set([101, 700]);
    expect(walkResults(walk, proc, wanted)).toEqual(new Map<number, unknown>([
      // a wanted set keeps RING_NOT_READ: a ring not read is said whatever the caller wants
      [10, [101]], [20, [RING_NOT_READ]], [30, [RING_NOT_READ]], [40, 'gone'], [50, 'unreadable'], [60, 'unreadable'], [70, [700]],
    ]));
    expect(walkResults({ sockets: new Float64Array(0), ioUring: new Float64Array(0) }, proc)).toEqual(new Map());
    // a record cut short is not read past its end
    expect(walkResults({ sockets: Float64Array.from([10, 0, 0, 20, 0]), ioUring: new Float64Array(0) }, proc)).toEqual(new Map([[10, []]]));
  });

  it('socketInodesOf and walkFdsJs agree on a tree with rings: ring-held sockets once, forged rings RING_NOT_READ', () => {
    const proc = tree({
      10: { fds: { 0: '/dev/null', 3: 'socket:[100]', 4: 'socket:[101]', x: 'socket:[102]', 99999999999: 'socket:[103]', 2147483648: 'socket:[104]', 2147483647: 'socket:[105]' },
        rings: { 5: table(3, '    0: socket:[101]', '    1: socket:[106]', '    2: /tmp/socket:[107]') } },
      20: { rings: { 5: 'UserFiles:\t1\n    0: TCP\n' } },
      30: { fds: { 3: 'socket:[300]' }, rings: { 5: 'UserFiles:\t1\n    0: TCP\n' } },
      40: { fds: { 3: 'anon_inode:[io_uring]x', 4: 'anon_inode:[eventfd]', 5: 'socket:[400]' } },
    });
    const of = (pid: number, wanted?: Set<number>) => socketInodesOf(fs, join(proc, String(pid), 'fd'), wanted);
    expect((of(10) as number[]).sort()).toEqual([100, 101, 105, 106]);
    expect(of(10, new Set([101, 106, 104]))).toEqual([101, 106]);
    expect(of(20)).toEqual([RING_NOT_READ]);
    expect(of(30)).toEqual([300, RING_NOT_READ]);
    expect(of(40)).toEqual([400]);
    expect(of(50)).toBe('gone');
    writeFileSync(join(proc, 'file'), '');
    expect(socketInodesOf(fs, join(proc, 'file'), undefined)).toBe('unreadable'); // ENOTDIR
    // the walk in JS: the same sockets through walkResults, rings listed as (pid, fd)
    const walk = walkFdsJs(proc, [10, 20, 30, 40, 50]);
    expect([...walk.ioUring]).toEqual([10, 5, 20, 5, 30, 5]);
    const results = walkResults(walk, proc);
    expect((results.get(10) as number[]).sort()).toEqual([100, 101, 105, 106]);
    expect([results.get(20), results.get(30), results.get(40), results.get(50)]).toEqual([[RING_NOT_READ], [300, RING_NOT_READ], [400], 'gone']);
    // pids that are no pid are not walked
    expect([...walkFdsJs(proc, [0, -1, 1.5, 0x80000000, NaN]).sockets]).toEqual([]);
    expect([...walkFdsJs(proc, [0x7fffffff]).sockets]).toEqual([0x7fffffff, -1, 0]);
  });

  it('socketFds: the lowest fd of each wanted inode', () => {
    const proc = tree({ 10: { fds: { 9: 'socket:[100]', 4: 'socket:[100]', 12: 'socket:[100]', 5: 'socket:[101]', 6: 'socket:[102]' } } });
    expect(socketFds(proc, 10, new Set([100, 101, 999]))).toEqual(new Map([[100, 4], [101, 5]]));
    expect(socketFds(proc, 11, new Set([100]))).toEqual(new Map());
  });
});
