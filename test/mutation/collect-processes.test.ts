// Per-process facts (src/collect/processes.ts) read from fixture /proc trees built here: pids,
// namespace links, cgroups and the containers they may claim, the boot clock, executables that
// were replaced, owners and user names, each with the forms the kernel really prints and the
// forms a hostile process name or a broken entry gives.
import { describe, expect, it } from 'vitest';
import { chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cgroupContainers, containerFromCgroup, listPids, nsInode, readBootClock, readExe, readNetns, readOwner, readUsers,
} from '../../src/collect/processes.js';
import { LsmError } from '../../src/errors.js';

const ID = 'ab'.repeat(32);
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lsm-${name}-`));

describe('pids and namespace links', () => {
  it('lists the numeric entries in numeric order; a root with none, or none at all, is an error', () => {
    const proc = tmp('pids');
    for (const name of ['10', '9', '100', '1', 'self', 'net', '1a', ':1', '/0'.slice(1), 'sys']) mkdirSync(join(proc, name), { recursive: true });
    expect(listPids(proc)).toEqual([0, 1, 9, 10, 100]);
    const empty = tmp('nopids');
    mkdirSync(join(empty, 'self'));
    expect(() => listPids(empty)).toThrow(new LsmError(`${empty} holds no processes: not a proc file system`));
    try { listPids(join(empty, 'none')); } catch (e) { expect((e as LsmError).message).toBe(`cannot read ${join(empty, 'none')}: ENOENT`); expect((e as LsmError).exitCode).toBe(1); }
    expect(() => listPids(join(empty, 'none'))).toThrow(LsmError);
  });

  it("nsInode: the number in brackets at the end", () => {
    expect(nsInode('net:[4026531840]')).toBe(4026531840);
    expect(nsInode('mnt:[1]')).toBe(1);
    for (const bad of ['net:[]', 'net:[12]x', 'net:[x]', 'net:4026531840', '']) expect(nsInode(bad), bad).toBeNull();
  });

  it('readNetns: the inode, gone (ENOENT), or not a namespace link (and why)', () => {
    const proc = tmp('ns');
    mkdirSync(join(proc, '5', 'ns'), { recursive: true });
    symlinkSync('net:[4026532500]', join(proc, '5', 'ns', 'net'));
    symlinkSync('mnt:[4026531841]', join(proc, '5', 'ns', 'mnt'));
    mkdirSync(join(proc, '6', 'ns'), { recursive: true });
    symlinkSync('garbage', join(proc, '6', 'ns', 'net'));
    mkdirSync(join(proc, '7', 'ns'), { recursive: true });
    writeFileSync(join(proc, '7', 'ns', 'net'), ''); // no link: EINVAL
    expect(readNetns(proc, 5)).toEqual({ ok: true, value: 4026532500 });
    expect(readNetns(proc, 5, 'mnt')).toEqual({ ok: true, value: 4026531841 });
    expect(readNetns(proc, 6)).toEqual({ ok: false, gone: false });
    expect(readNetns(proc, 7)).toEqual({ ok: false, gone: false, code: 'EINVAL' });
    expect(readNetns(proc, 8)).toEqual({ ok: false, gone: true, code: 'ENOENT' });
    expect(readNetns('/proc', 'self').ok).toBe(true);
  });
});

describe('containers from cgroup paths', () => {
  it('each runtime, v1 and v2 forms; ids shortened to 12', () => {
    const short = ID.slice(0, 12);
    for (const path of [`0::/system.slice/docker-${ID}.scope`, `12:pids:/docker/${ID}`, `0::/machine.slice/libpod-${ID}.scope`, `0::/crio-${ID}.scope`,
      `0::/system.slice/containerd-${ID}.scope`, `0::/a/cri-containerd:${ID}`, `3:cpu:/kubepods/burstable/pod1/${ID}`, `0::/kubepods.slice/x/${ID}`])
      expect(containerFromCgroup(path), path).toBe(short);
    expect(containerFromCgroup('0::/lxc/web01')).toBe('lxc-web01');
    expect(containerFromCgroup('0::/lxc.payload.web01/init.scope')).toBe('lxc-web01');
    expect(containerFromCgroup('0::/lxc.payload/web02')).toBe('lxc-web02');
    // LXC's (and LXD's) monitor runs on the host beside its container, in lxc.monitor.<name>
    // (lxc.monitor/<name> in LXC 3), and lxc.pivot is where it waits: no container, and above all
    // not one container 'lxc-monitor' shared by the monitors of every container
    for (const host of ['0::/lxc.monitor.web01', '0::/lxc.monitor/web01', '0::/lxc.pivot', '12:pids:/lxc.monitor.web01', '0::/lxc.web01'])
      expect(containerFromCgroup(host), host).toBeNull();
    for (const none of [`0::/docker-${ID.slice(1)}.scope`, `0::/podman-${ID}`, `0::/docker-${ID.toUpperCase()}`, '0::/user.slice', `0::/kubepods/${ID.slice(2)}`,
      '0::/lxc/', '0::/lxcfoo/bar', `0::/kube/${ID}`, ''])
      expect(containerFromCgroup(none), none).toBeNull();
    // the kubepods form stays on its line
    expect(containerFromCgroup(`0::/kubepods/x\n1:cpu:/${ID}`)).toBeNull();
  });
});

/** A cgroup hierarchy under <root>/cgroup: path -> pids in its cgroup.procs. */
function cgroups(dirs: Record<string, number[]>, owner: Record<string, number> = {}) {
  const root = join(tmp('cg'), 'cgroup');
  for (const [path, pids] of Object.entries(dirs)) {
    mkdirSync(join(root, path), { recursive: true });
    writeFileSync(join(root, path, 'cgroup.procs'), pids.map((p) => `${p}\n`).join(''));
  }
  for (const [path, uid] of Object.entries(owner)) chownSync(join(root, path), uid, uid);
  return root;
}

describe('cgroupContainers: a claim counts only in root-owned cgroups that list the process', () => {
  const v2 = `system.slice/docker-${ID}.scope`;

  it('v2: believed when every directory down to it is root\'s and it lists the pid', () => {
    const root = cgroups({ [v2]: [10, 11] });
    const of = cgroupContainers(root);
    expect(of(10, `0::/${v2}\n`)).toBe(ID.slice(0, 12));
    expect(of(11, `0::/${v2}`)).toBe(ID.slice(0, 12));
    expect(of(12, `0::/${v2}\n`)).toBeNull(); // not listed
    expect(of(10, '0::/user.slice\n')).toBeNull(); // no claim
    expect(of(10, '')).toBeNull();
  });

  it('v1 by its controllers, name= hierarchies, and v2 under unified/', () => {
    const root = cgroups({ [`pids/docker/${ID}`]: [10], [`systemd/docker/${ID}`]: [11], [`unified/${v2}`]: [12], [`cpu,cpuacct/docker/${ID}`]: [13] });
    const of = cgroupContainers(root);
    expect(of(10, `12:pids:/docker/${ID}\n`)).toBe(ID.slice(0, 12));
    expect(of(11, `1:name=systemd:/docker/${ID}\n`)).toBe(ID.slice(0, 12));
    expect(of(12, `0::/${v2}\n`)).toBe(ID.slice(0, 12));
    expect(of(13, `4:cpu,cpuacct:/docker/${ID}\n`)).toBe(ID.slice(0, 12));
    expect(of(10, `12:memory:/docker/${ID}\n`)).toBeNull(); // no such hierarchy here
  });

  it("a user's directory anywhere on the way, a link, '..' or '.', or a missing cgroup.procs: no container", () => {
    expect(cgroupContainers(cgroups({ [v2]: [10] }, { 'system.slice': 1000 }))(10, `0::/${v2}`)).toBeNull();
    expect(cgroupContainers(cgroups({ [v2]: [10] }, { [v2]: 1000 }))(10, `0::/${v2}`)).toBeNull();
    expect(cgroupContainers(cgroups({ [v2]: [10] }, { '.': 1000 }))(10, `0::/${v2}`)).toBeNull(); // the hierarchy's own root
    const linked = cgroups({ [`real/docker-${ID}.scope`]: [10] });
    symlinkSync(join(linked, 'real'), join(linked, 'system.slice'));
    expect(cgroupContainers(linked)(10, `0::/${v2}`)).toBeNull();
    const root = cgroups({ [v2]: [10], [`a/${v2}`]: [10] });
    expect(cgroupContainers(root)(10, `0::/a/../${v2}`)).toBeNull();
    expect(cgroupContainers(root)(10, `0::/./${v2}`)).toBeNull();
    rmSync(join(root, v2, 'cgroup.procs'));
    expect(cgroupContainers(root)(10, `0::/${v2}`)).toBeNull();
    // a file where a directory should be
    const file = cgroups({ 'system.slice': [] });
    writeFileSync(join(file, 'system.slice', `docker-${ID}.scope`), '10\n');
    expect(cgroupContainers(file)(10, `0::/${v2}`)).toBeNull();
  });

  it('the first line with a claim decides; a claim on a line that is no cgroup line gives none', () => {
    const root = cgroups({ [v2]: [10], [`pids/docker/${'cd'.repeat(32)}`]: [10] });
    const of = cgroupContainers(root);
    expect(of(10, `12:pids:/docker/${'cd'.repeat(32)}\n0::/${v2}\n`)).toBe('cdcdcdcdcdcd');
    expect(of(10, `x:/docker-${ID}\n0::/${v2}\n`)).toBeNull();
    expect(of(10, `0::system.slice/docker-${ID}.scope`)).toBeNull(); // not absolute
    expect(of(10, `a0::/${v2}`)).toBeNull();
  });

  it("cgroup.procs: pids one per line, other lines ignored; answers cached per directory for the resolver's life", () => {
    const root = cgroups({ [v2]: [] });
    writeFileSync(join(root, v2, 'cgroup.procs'), ' 10\n11x\n12\n\n13');
    const of = cgroupContainers(root);
    expect([10, 11, 12, 13].map((pid) => of(pid, `0::/${v2}`))).toEqual([null, null, ID.slice(0, 12), ID.slice(0, 12)]);
    writeFileSync(join(root, v2, 'cgroup.procs'), '10\n');
    chownSync(join(root, v2), 1000, 1000);
    expect(of(12, `0::/${v2}`)).toBe(ID.slice(0, 12)); // cached
    expect(cgroupContainers(root)(10, `0::/${v2}`)).toBeNull(); // a new resolver looks again
  });
});

describe('boot clock, executables, owners, users', () => {
  it('readBootClock: btime on a line of its own', () => {
    const proc = tmp('stat');
    writeFileSync(join(proc, 'stat'), 'cpu  1 2 3\nbtime 1790000000\nprocesses 5\n');
    expect(readBootClock(proc)).toEqual({ bootMs: 1790000000_000, hz: 100 });
    for (const bad of ['xbtime 1\n', 'btime 1x\n', 'btime\n', 'btime  1\n', '']) {
      writeFileSync(join(proc, 'stat'), bad);
      expect(readBootClock(proc), bad).toBeNull();
    }
    expect(readBootClock(join(proc, 'none'))).toBeNull();
  });

  it("readExe: the link; ' (deleted)' means replaced unless a file of that very name is the running one", () => {
    const dir = tmp('exe');
    const bin = join(dir, 'bin');
    writeFileSync(bin, 'x');
    const base = join(dir, 'p');
    mkdirSync(base);
    symlinkSync(bin, join(base, 'exe'));
    expect(readExe(base)).toEqual({ exe: bin, replaced: false });
    // the kernel's form for a deleted image: the link target gains ' (deleted)' (here: a link to the same file under that name)
    const named = `${bin} (deleted)`;
    copyFileSync(bin, named);
    const p2 = join(dir, 'p2');
    mkdirSync(p2);
    symlinkSync(named, join(p2, 'exe'));
    expect(readExe(p2)).toEqual({ exe: named, replaced: false }); // a file really named so, and it is the running one
    const p3 = join(dir, 'p3');
    mkdirSync(p3);
    symlinkSync(`${join(dir, 'gone')} (deleted)`, join(p3, 'exe'));
    expect(readExe(p3)).toEqual({ exe: join(dir, 'gone'), replaced: true });
    expect(readExe(join(dir, 'none'))).toEqual({ exe: null, replaced: false });
    const p4 = join(dir, 'p4');
    mkdirSync(p4);
    symlinkSync(Buffer.from(`${dir}/\xff (deleted)`, 'latin1'), join(p4, 'exe'));
    expect(readExe(p4)).toEqual({ exe: `${dir}/\xff`, replaced: true });
  });

  it('readOwner: comm, effective uid and its user, arguments, container, start time; a vanished process is null', () => {
    const proc = tmp('owner');
    const p = join(proc, '42');
    mkdirSync(p);
    writeFileSync(join(p, 'comm'), 'we) ird\n');
    writeFileSync(join(p, 'status'), 'Name:\twe) ird\nUmask:\t0022\nUid:\t1000\t1001\t1002\t1003\nGid:\t0\t0\t0\t0\n');
    writeFileSync(join(p, 'cmdline'), 'prog\0-a\0\0b\0');
    writeFileSync(join(p, 'cgroup'), '0::/x\n');
    // comm in parentheses holds ') ': fields start after the last ')'
    writeFileSync(join(p, 'stat'), '42 (we) ird) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5000 1000 100 0\n');
    const seen: [number, string][] = [];
    const users = new Map([[1001, 'bob']]);
    const o = readOwner(proc, 42, users, { bootMs: 1_000_000, hz: 100 }, (pid, cg) => { seen.push([pid, cg]); return 'c1'; });
    expect(o).toEqual({ pid: 42, comm: 'we) ird', exe: null, uid: 1001, user: 'bob', cmdline: ['prog', '-a', '', 'b'], container: 'c1', startedAt: 1_000_000 + 50_000 });
    expect(seen).toEqual([[42, '0::/x\n']]);
    // no clock: no start time; an unknown uid is its number; no trailing NUL: all arguments kept
    writeFileSync(join(p, 'cmdline'), 'a\0b');
    const o2 = readOwner(proc, 42, new Map(), null, () => null)!;
    expect([o2.startedAt, o2.user, o2.cmdline, o2.container]).toEqual([null, '1001', ['a', 'b'], null]);
    // a stat without a start time
    writeFileSync(join(p, 'stat'), '42 (x) S 1\n');
    expect(readOwner(proc, 42, users, { bootMs: 0, hz: 100 }, () => null)!.startedAt).toBeNull();
    // only status: comm '?'; only comm: no uid; a comm without its newline kept whole
    rmSync(join(p, 'comm'));
    rmSync(join(p, 'cgroup'));
    const o3 = readOwner(proc, 42, users, null, () => 'never')!;
    expect([o3.comm, o3.uid, o3.container]).toEqual(['?', 1001, null]);
    writeFileSync(join(p, 'comm'), 'nonl');
    rmSync(join(p, 'status'));
    const o4 = readOwner(proc, 42, users, null, () => null)!;
    expect([o4.comm, o4.uid, o4.user]).toEqual(['nonl', null, null]);
    writeFileSync(join(p, 'status'), 'Uid:\tx\t1\n');
    expect(readOwner(proc, 42, users, null, () => null)!.uid).toBeNull();
    writeFileSync(join(p, 'cmdline'), '');
    expect(readOwner(proc, 42, users, null, () => null)!.cmdline).toEqual([]);
    expect(readOwner(proc, 43, users, null, () => null)).toBeNull();
  });

  it('readUsers: the first name of each uid; broken lines skipped; no file, no names', () => {
    const file = join(tmp('passwd'), 'passwd');
    writeFileSync(file, 'root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\ntoor:x:0:0::/:/bin/sh\nbad:x:12a:0\nshort:x\n:x:7:7\nneg:x:-1:0\n');
    expect(readUsers(file)).toEqual(new Map([[0, 'root'], [1000, 'bob'], [7, '']]));
    expect(readUsers(join(file, 'none'))).toEqual(new Map());
    writeFileSync(file, '');
    expect(readUsers(file)).toEqual(new Map());
  });
});
