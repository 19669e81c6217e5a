// Namespaces beyond processes and their labels (src/collect/namespaces.ts): mountinfo text as the
// kernel prints it (octal escapes, optional fields) and lines built to look like nsfs mounts; the
// opening of a mount that must still be that namespace; and the labels, which must be stable and
// unique whatever names users, runtimes and programs choose.
import { describe, expect, it } from 'vitest';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hiddenProcesses, labelNamespaces, nsfsMounts, openNsfs, parseNsfsMounts, type NsfsMount } from '../../src/collect/namespaces.js';
import type { ContainerName } from '../../src/collect/containers.js';
import type { Owner } from '../../src/types.js';

const mi = (root: string, mountpoint: string, fstype = 'nsfs', optional = 'shared:300') =>
  `545 29 0:4 ${root} ${mountpoint} rw,nosuid,nodev,noexec,relatime${optional ? ' ' + optional : ''} - ${fstype} ${fstype} rw`;

describe('parseNsfsMounts', () => {
  it('finds the network namespace mounts, with and without optional fields, mountpoints unescaped', () => {
    const text = [
      '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/root rw',
      mi('net:[4026532500]', '/run/netns/blue'),
      mi('net:[4026532600]', '/run/docker/netns/0a1b2c3d4e5f', 'nsfs', ''),
      mi('mnt:[4026532700]', '/run/mnt-ns'), // not a network namespace
      mi('net:[4026532800]', '/run/x', 'proc'), // not nsfs
      mi('net:[4026532801]', '/run/y', 'nsfsx'),
      mi('net:[4026532900]', '/run/my\\040ns\\012with\\134odd\\377'),
      mi('net:[4026532901]', '/run/not\\08octal\\1234'),
      mi('net:[x]', '/run/z'), mi('net:[]', '/run/z'), mi('xnet:[1]', '/run/z'), mi('net:[1]x', '/run/z'),
      'nsfs - nsfs',
      '1 2 3 net:[4026533000] - nsfs nsfs rw', // too few fields before the separator
      '',
    ].join('\n');
    expect(parseNsfsMounts(text, 42)).toEqual([
      { netns: 4026532500, pid: 42, mountpoint: '/run/netns/blue' },
      { netns: 4026532600, pid: 42, mountpoint: '/run/docker/netns/0a1b2c3d4e5f' },
      { netns: 4026532900, pid: 42, mountpoint: '/run/my ns\nwith\\odd\xff' },
      { netns: 4026532901, pid: 42, mountpoint: '/run/not\\08octalS4' },
    ]);
    expect(parseNsfsMounts('', 1)).toEqual([]);
  });

  it("reads each process's mountinfo; one gone is skipped", () => {
    const proc = mkdtempSync(join(tmpdir(), 'lsm-mountinfo-'));
    for (const [pid, text] of [[10, mi('net:[1]', '/a')], [20, mi('net:[2]', '/b') + '\n' + mi('net:[3]', '/c')]] as const) {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(join(proc, String(pid), 'mountinfo'), text + '\n');
    }
    expect(nsfsMounts(proc, [10, 99, 20])).toEqual([
      { netns: 1, pid: 10, mountpoint: '/a' }, { netns: 2, pid: 20, mountpoint: '/b' }, { netns: 3, pid: 20, mountpoint: '/c' },
    ]);
    expect(nsfsMounts(proc, [])).toEqual([]);
  });
});

describe('openNsfs', () => {
  it('opens the mount through the process root, only while it is still that inode', () => {
    const proc = mkdtempSync(join(tmpdir(), 'lsm-nsfs-'));
    mkdirSync(join(proc, '7', 'root', 'run', 'netns'), { recursive: true });
    const file = join(proc, '7', 'root', 'run', 'netns', 'bl\xffue');
    writeFileSync(Buffer.from(file, 'latin1'), '');
    const ino = statSync(Buffer.from(file, 'latin1')).ino;
    const fd = openNsfs(proc, { netns: ino, pid: 7, mountpoint: '/run/netns/bl\xffue' });
    expect(fd).not.toBeNull();
    expect(fstatSync(fd!).ino).toBe(ino);
    closeSync(fd!);
    expect(openNsfs(proc, { netns: ino + 1, pid: 7, mountpoint: '/run/netns/bl\xffue' })).toBeNull(); // swapped for another file
    expect(openNsfs(proc, { netns: ino, pid: 8, mountpoint: '/run/netns/bl\xffue' })).toBeNull(); // another process's root
    expect(openNsfs(proc, { netns: ino, pid: 7, mountpoint: '/run/netns/gone' })).toBeNull();
  });

  it('a held fd is opened again through /proc/self/fd', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lsm-held-')), 'ns');
    writeFileSync(file, '');
    const held = openSync(file, 'r');
    try {
      const ino = fstatSync(held).ino;
      const m: NsfsMount = { netns: ino, pid: process.pid, mountpoint: '', held };
      const fd = openNsfs('/nonexistent', m);
      expect(fd).not.toBeNull();
      expect(fd).not.toBe(held);
      expect(fstatSync(fd!).ino).toBe(ino);
      closeSync(fd!);
      expect(openNsfs('/nonexistent', { ...m, netns: ino + 1 })).toBeNull();
    } finally {
      closeSync(held);
    }
  });
});

// labels -------------------------------------------------------------------------------------

const owner = (pid: number, comm: string, startedAt: number | null = pid * 10): Owner =>
  ({ pid, comm, exe: null, uid: 0, user: 'root', cmdline: [], container: null, startedAt });

/**
 * A /proc root whose processes have cgroups (pid -> container id, or none) and a netns
 * directory of files standing for namespaces: their inodes are the namespaces' inodes.
 */
function world(names: string[] = []) {
  const root = mkdtempSync(join(tmpdir(), 'lsm-labels-'));
  const proc = join(root, 'proc');
  const netns = join(root, 'netns');
  mkdirSync(proc);
  mkdirSync(netns);
  const ino: Record<string, number> = {};
  for (const n of names) { writeFileSync(Buffer.from(join(netns, n), 'latin1'), ''); ino[n] = statSync(Buffer.from(join(netns, n), 'latin1')).ino; }
  const containers = new Map<number, string>();
  const process = (pid: number, container: string | null) => {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cgroup'), container ? `0::/docker/${container}\n` : '0::/user.slice\n');
    if (container) containers.set(pid, container);
  };
  const containerOf = (pid: number, cgroup: string) => (cgroup.includes('/docker/') ? containers.get(pid) ?? null : null);
  return { proc, netns, ino, process, containerOf };
}
type World = ReturnType<typeof world>;
const HOST = 1;
function label(w: World, nsPids: [number, number[]][], opts: { mounts?: NsfsMount[]; owners?: Owner[]; names?: Record<string, ContainerName>; host?: boolean } = {}) {
  const owners = new Map((opts.owners ?? []).map((o) => [o.pid, o]));
  const inodes = nsPids.map(([i]) => i);
  return labelNamespaces(w.proc, opts.host === false ? inodes : [HOST, ...inodes], HOST, new Map(nsPids), w.netns, opts.mounts ?? [],
    (pid) => owners.get(pid) ?? null, w.containerOf, (id) => opts.names?.[id] ?? null);
}
const labels = (ns: { inode: number; label: string }[]) => ns.map((n) => [n.inode, n.label]);

describe('labelNamespaces', () => {
  it("host first, then by inode; an ip netns name; a container's name or id; a mount's name; a process's comm; else ns-<inode>", () => {
    const w = world(['blue']);
    const blue = w.ino.blue;
    w.process(10, 'c0ffee000001');
    w.process(11, 'c0ffee000002');
    w.process(12, null);
    const got = label(w, [[900, [12]], [blue, []], [800, [11]], [700, [10]], [600, []], [500, []]], {
      owners: [owner(12, 'nginx')],
      names: { c0ffee000002: { name: 'shop-web-1' } },
      mounts: [{ netns: 600, pid: 1, mountpoint: '/run/docker/netns/0a1b2c' }],
    });
    expect(got[0]).toEqual({ inode: HOST, label: 'host', host: true });
    expect(got.slice(1).every((n) => n.host === false)).toBe(true);
    expect(labels(got)).toEqual([[HOST, 'host'], [500, 'ns-500'], [600, '0a1b2c-600'], [700, 'c0ffee000001'], [800, 'shop-web-1'], [900, 'nginx-900'], [blue, 'blue']].sort((a, b) => (a[0] === HOST ? -1 : b[0] === HOST ? 1 : (a[0] as number) - (b[0] as number))));
    // the host is left out when it was not read
    expect(labels(label(w, [[500, []]], { host: false }))).toEqual([[500, 'ns-500']]);
  });

  it('ip netns names: from the directory and from mounts under /run/netns or /var/run/netns; the first in order when several', () => {
    const w = world(['zeta', 'alpha']);
    const ns = w.ino.zeta;
    const got = label(w, [[ns, []], [w.ino.alpha, []], [300, []], [400, []], [450, []]], {
      mounts: [
        { netns: ns, pid: 1, mountpoint: '/run/netns/mid' },
        { netns: 300, pid: 1, mountpoint: '/var/run/netns/green' }, { netns: 300, pid: 1, mountpoint: '/srv/aaa' },
        { netns: 400, pid: 1, mountpoint: '/run/netns/' }, { netns: 400, pid: 1, mountpoint: '/run/netnsx/red' },
        { netns: 450, pid: 1, mountpoint: '/run/netns/..' }, { netns: 450, pid: 1, mountpoint: '/run/netns/.' },
      ],
    });
    const byInode = new Map(labels(got) as [number, string][]);
    expect(byInode.get(w.ino.alpha)).toBe('alpha');
    expect(byInode.get(ns)).toBe('mid'); // 'mid' < 'zeta'
    expect(byInode.get(300)).toBe('green');
    expect(byInode.get(400)).toBe('red-400'); // not the ip netns directory: another mount's name
    expect(byInode.get(450)).toBe('ns-450'); // no name in '.', '..'
  });

  it("the runtime's made-up pod namespace name gives way to the pod's own label, and stays when there is none", () => {
    const uuid = 'cni-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
    const plain = '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
    const w = world([uuid, plain, 'cni-not-a-uuid']);
    w.process(10, 'aaaaaaaaaaaa');
    w.process(11, 'bbbbbbbbbbbb');
    w.process(12, 'cccccccccccc');
    const pod = (container: string | null) => ({ name: `pod/shop/web-0${container ? `/${container}` : ''}`, pod: { namespace: 'shop', pod: 'web-0', container } });
    const got = new Map(labels(label(w, [[w.ino[uuid], [10, 11]], [w.ino[plain], [12]], [w.ino['cni-not-a-uuid'], [12]]], {
      names: { aaaaaaaaaaaa: pod(null), bbbbbbbbbbbb: pod('nginx'), cccccccccccc: { name: 'db' } },
    })) as [number, string][]);
    expect(got.get(w.ino[uuid])).toBe('pod/shop/web-0/nginx');
    expect(got.get(w.ino[plain])).toBe('db');
    expect(got.get(w.ino['cni-not-a-uuid'])).toBe('cni-not-a-uuid'); // an ip netns name a user chose wins
    const v = world([uuid, `${uuid}x`]);
    v.process(10, null);
    expect(new Map(labels(label(v, [[v.ino[uuid], [10]], [v.ino[`${uuid}x`], []]])) as [number, string][]))
      .toEqual(new Map([[HOST, 'host'], [v.ino[uuid], uuid], [v.ino[`${uuid}x`], `${uuid}x`]]));
  });

  it("a pod's label: every container of one pod; with one named container it is named; mixed or unknown ones give none", () => {
    const w = world();
    for (const [pid, id] of [[10, 'a00000000000'], [11, 'a00000000001'], [12, 'a00000000002'], [13, 'b00000000000'], [14, 'f00000000000']] as const) w.process(pid, id);
    w.process(20, null);
    w.process(21, null);
    const p = (ns: string, pod: string, container: string | null): ContainerName => ({ name: 'unused', pod: { namespace: ns, pod, container } });
    const names = { a00000000000: p('shop', 'web-0', null), a00000000001: p('shop', 'web-0', 'nginx'), a00000000002: p('shop', 'web-0', 'sidecar'),
      b00000000000: p('shop', 'web-1', 'nginx'), f00000000000: p('other', 'web-0', 'nginx') };
    const one = (pids: number[]) => label(w, [[500, pids]], { names, owners: pids.map((pid) => owner(pid, `p${pid}`)) })[1].label;
    expect(one([10, 11])).toBe('pod/shop/web-0/nginx');
    expect(one([10, 11, 12])).toBe('pod/shop/web-0'); // two containers: the pod
    expect(one([11, 12])).toBe('pod/shop/web-0');
    expect(one([10, 13])).toBe('p10-500'); // two pods
    expect(one([11, 14])).toBe('p11-500'); // another namespace's pod of that name
    expect(one([10, 11, 20])).toBe('p10-500'); // a process in no container
    expect(one([20, 21])).toBe('p20-500');
    expect(one([10, 99])).toBe('p10-500'); // 99: no cgroup to read
    // a single container: its name, else its id; a process outside containers: no label from them
    expect(one([13])).toBe('unused');
    expect(label(w, [[500, [13]]])[1].label).toBe('b00000000000');
    expect(label(w, [[500, [13, 13]]])[1].label).toBe('b00000000000');
    // containers without pods, or some of them unknown
    expect(label(w, [[500, [13, 14]]], { owners: [owner(13, 'x')] })[1].label).toBe('x-500');
    expect(label(w, [[500, [10, 13]]], { names: { a00000000000: p('shop', 'web-0', null) }, owners: [owner(10, 'y')] })[1].label).toBe('y-500');
  });

  it('names from mounts and processes carry the inode; the first owner that is known names it', () => {
    const w = world();
    const got = labels(label(w, [[500, [30, 31]], [600, []], [700, [32]]], {
      owners: [owner(31, 'sshd'), owner(32, 'ssh d\n')],
      mounts: [{ netns: 600, pid: 1, mountpoint: '/b/zz' }, { netns: 600, pid: 1, mountpoint: '/a/yy' }, { netns: 500, pid: 1, mountpoint: '/m/mnt' }],
    }));
    expect(labels(label(w, [[500, [30, 31]]], { owners: [owner(31, 'sshd')] }))).toEqual([[HOST, 'host'], [500, 'sshd-500']]);
    expect(got).toEqual([[HOST, 'host'], [500, 'mnt-500'], [600, 'yy-600'], [700, 'ssh d\n-700']]);
  });

  it('a label several namespaces claim gets the inode on all of them; a better-ranked claim keeps it', () => {
    const w = world(['web']);
    w.process(10, 'aaaaaaaaaaaa');
    w.process(11, 'bbbbbbbbbbbb');
    // two containers named alike (rank 1), and an ip netns name equal to one (rank 0)
    const got = labels(label(w, [[500, [10]], [600, [11]], [w.ino.web, []]], {
      names: { aaaaaaaaaaaa: { name: 'web' }, bbbbbbbbbbbb: { name: 'web' } },
      owners: [owner(10, 'a', 100), owner(11, 'b', 100)],
    }));
    expect(new Map(got as [number, string][])).toEqual(new Map([[HOST, 'host'], [500, 'web-500'], [600, 'web-600'], [w.ino.web, 'web']]));
    // two namespaces of mounts of one name: both get their inode (they do anyway), comm clashes too
    const v = world();
    expect(labels(label(v, [[500, [1]], [600, [2]]], { owners: [owner(1, 'x'), owner(2, 'x')] }))).toEqual([[HOST, 'host'], [500, 'x-500'], [600, 'x-600']]);
  });

  it("of a container's namespaces, the one holding its oldest process keeps the label; a tie keeps it for none", () => {
    const w = world();
    w.process(10, 'aaaaaaaaaaaa');
    w.process(11, 'aaaaaaaaaaaa');
    w.process(12, 'aaaaaaaaaaaa');
    const names = { aaaaaaaaaaaa: { name: 'web' } };
    const run = (owners: Owner[]) => new Map(labels(label(w, [[500, [11]], [600, [10, 12]]], { names, owners })) as [number, string][]);
    expect(run([owner(10, 'init', 5), owner(11, 'child', 50), owner(12, 'late', 500)])).toEqual(new Map([[HOST, 'host'], [500, 'web-500'], [600, 'web']]));
    expect(run([owner(10, 'init', 50), owner(11, 'child', 5), owner(12, 'late', 500)])).toEqual(new Map([[HOST, 'host'], [500, 'web'], [600, 'web-600']]));
    expect(run([owner(10, 'init', 50), owner(11, 'child', 50), owner(12, 'late', 500)])).toEqual(new Map([[HOST, 'host'], [500, 'web-500'], [600, 'web-600']]));
    // owners unknown (gone) or without a start time count as the youngest
    expect(run([owner(11, 'child', 50)])).toEqual(new Map([[HOST, 'host'], [500, 'web'], [600, 'web-600']]));
    expect(run([owner(10, 'init', null), owner(11, 'child', 7)])).toEqual(new Map([[HOST, 'host'], [500, 'web'], [600, 'web-600']]));
    // the keeper rule is the containers' only: two ip netns names never share (they cannot), two mounts' names carry inodes anyway
  });

  it('a name chosen to collide with an inode-suffixed label gets a counter, never a duplicate', () => {
    const w = world(['web-600', 'web-600-2']);
    w.process(10, 'aaaaaaaaaaaa');
    w.process(11, 'bbbbbbbbbbbb');
    w.process(12, 'cccccccccccc');
    const got = labels(label(w, [[w.ino['web-600'], []], [w.ino['web-600-2'], []], [600, [10]], [700, [11]], [800, [12]]], {
      names: { aaaaaaaaaaaa: { name: 'web' }, bbbbbbbbbbbb: { name: 'web' }, cccccccccccc: { name: 'web-600' } },
      owners: [owner(10, 'a', 1), owner(11, 'b', 1), owner(12, 'c', 1)],
    }));
    const all = got.map(([, l]) => l);
    expect(new Set(all).size).toBe(all.length);
    expect(new Map(got as [number, string][])).toEqual(new Map([[HOST, 'host'], [w.ino['web-600'], 'web-600'], [w.ino['web-600-2'], 'web-600-2'],
      [600, 'web-600-3'], [700, 'web-700'], [800, 'web-600-800']]));
  });

  it('a netns directory that cannot be read, and entries that vanish, leave the other names', () => {
    const w = world(['a']);
    const got = labelNamespaces(w.proc, [HOST, w.ino.a], HOST, new Map(), join(w.netns, 'missing'), [], () => null, w.containerOf);
    expect(labels(got)).toEqual([[HOST, 'host'], [w.ino.a, `ns-${w.ino.a}`]]);
    // a dangling link in the directory (unbound meanwhile)
    symlinkSync(join(w.netns, 'nothing'), join(w.netns, 'b'));
    expect(labels(labelNamespaces(w.proc, [HOST, w.ino.a], HOST, new Map(), w.netns, [], () => null, w.containerOf))).toEqual([[HOST, 'host'], [w.ino.a, 'a']]);
  });
});

describe('mounts seen through a user namespace of their own name nothing', () => {
  const userNs = (w: World, pid: number | 'self', ino: number) => {
    mkdirSync(join(w.proc, String(pid), 'ns'), { recursive: true });
    symlinkSync(`user:[${ino}]`, join(w.proc, String(pid), 'ns', 'user'));
  };
  const mounts: NsfsMount[] = [
    { netns: 600, pid: 50, mountpoint: '/run/netns/real' }, // pid 50: the host's user namespace
    { netns: 700, pid: 60, mountpoint: '/run/netns/fake' }, // pid 60: a user's (unshare -rm)
    { netns: 710, pid: 60, mountpoint: '/run/docker/netns/fake2' },
    { netns: 800, pid: 70, mountpoint: '/run/docker/netns/x' }, // pid 70: its link cannot be read
    { netns: 900, pid: 50, mountpoint: '/run/docker/netns/y', held: 5 }, // a namespace lsm holds: no mount
  ];
  const nsPids: [number, number[]][] = [[600, []], [700, []], [710, []], [800, []], [900, []]];

  it("believed only through a process in pid 1's user namespace; a held namespace never has a name", () => {
    const w = world();
    userNs(w, 1, 4026531837);
    userNs(w, 50, 4026531837);
    userNs(w, 60, 4026532999);
    userNs(w, 'self', 4026532999); // lsm's own would trust pid 60: pid 1's is asked first
    expect(labels(label(w, nsPids, { mounts }))).toEqual([[HOST, 'host'], [600, 'real'], [700, 'ns-700'], [710, 'ns-710'], [800, 'ns-800'], [900, 'ns-900']]);
  });

  it("without pid 1's link, lsm's own user namespace is the host's", () => {
    const w = world();
    userNs(w, 'self', 4026532999);
    userNs(w, 50, 4026531837);
    userNs(w, 60, 4026532999);
    expect(labels(label(w, nsPids, { mounts }))).toEqual([[HOST, 'host'], [600, 'ns-600'], [700, 'fake'], [710, 'fake2-710'], [800, 'ns-800'], [900, 'ns-900']]);
  });

  it('a fixture tree without user namespace links trusts every mount, but still not a held one', () => {
    const w = world();
    expect(labels(label(w, nsPids, { mounts }))).toEqual([[HOST, 'host'], [600, 'real'], [700, 'fake'], [710, 'fake2-710'], [800, 'x-800'], [900, 'ns-900']]);
  });
});

describe('hiddenProcesses: what a hidepid proc mount hides from a run that is not root', () => {
  const procWith = (...lines: string[]) => {
    const root = mkdtempSync(join(tmpdir(), 'lsm hidepid-')); // a space: mountinfo writes it as \040
    mkdirSync(join(root, 'self'));
    writeFileSync(join(root, 'self', 'mountinfo'), lines.map((l) => l.replaceAll('@', root.replaceAll(' ', '\\040'))).join('\n') + '\n');
    return root;
  };
  const procLine = (options: string, mountpoint = '@', fstype = 'proc') => `22 1 0:21 / ${mountpoint} rw,nosuid,nodev,noexec,relatime shared:12 - ${fstype} proc ${options}`;
  const other = '23 22 0:22 / /sys rw,nosuid - sysfs sysfs rw';

  it('hidepid=invisible or ptraceable (2, 4) hide; the other values, or none, do not', () => {
    for (const v of ['2', 'invisible', '4', 'ptraceable']) {
      const root = procWith(other, procLine(`rw,hidepid=${v}`));
      expect(hiddenProcesses(root, 1000, []), v).toBe(`${root} hidepid=${v}`);
    }
    for (const o of ['rw,hidepid=1', 'rw,hidepid=noaccess', 'rw,hidepid=0', 'rw,hidepid=off', 'rw', 'rw,hidepid=22', 'rw,xhidepid=2', 'rw,hidepid', 'rw,subset=pid'])
      expect(hiddenProcesses(procWith(procLine(o)), 1000, []), o).toBeNull();
  });

  it('root, a member of its gid=, and a tree with no such mount see every process', () => {
    const root = procWith(procLine('rw,hidepid=2,gid=1001'));
    expect(hiddenProcesses(root, 0, [])).toBeNull();
    expect(hiddenProcesses(root, 1000, [5, 1001])).toBeNull();
    expect(hiddenProcesses(root, 1000, [5])).toBe(`${root} hidepid=2`);
    // the default groups are this process's own (root's: gid 0)
    expect(hiddenProcesses(procWith(procLine('rw,hidepid=2,gid=0')), 1000)).toBeNull();
    const stranger = procWith(procLine('rw,hidepid=2,gid=4242'));
    expect(hiddenProcesses(stranger, 1000)).toBe(`${stranger} hidepid=2`);
    expect(hiddenProcesses(mkdtempSync(join(tmpdir(), 'lsm-noproc-')), 1000, [])).toBeNull();
  });

  it("only a proc mount at that very place counts, and the last one mounted there is the one seen", () => {
    expect(hiddenProcesses(procWith(procLine('rw,hidepid=2', '@/sub')), 1000, [])).toBeNull();
    expect(hiddenProcesses(procWith(procLine('rw,hidepid=2', '/proc')), 1000, [])).toBeNull();
    expect(hiddenProcesses(procWith(procLine('rw,hidepid=2', '@', 'sysfs')), 1000, [])).toBeNull();
    expect(hiddenProcesses(procWith(procLine('rw,hidepid=2'), procLine('rw')), 1000, [])).toBeNull();
    const root = procWith(procLine('rw'), procLine('rw,hidepid=4'));
    expect(hiddenProcesses(root, 1000, [])).toBe(`${root} hidepid=4`);
    // a line that is no mount line (no ' - '), however its words fall, names nothing
    expect(hiddenProcesses(procWith('xxproc 1 hidepid=2 y @ z'), 1000, [])).toBeNull();
    // fewer fields before ' - ' than a mount line has: five are enough (the mountpoint is the fifth), three are not
    const five = procWith('22 1 0:21 / @ - proc proc rw,hidepid=2');
    expect(hiddenProcesses(five, 1000, [])).toBe(`${five} hidepid=2`);
    expect(hiddenProcesses(procWith('1 2 3 - proc proc rw,hidepid=2'), 1000, [])).toBeNull();
    // a proc mount line without its options
    expect(hiddenProcesses(procWith('22 1 0:21 / @ rw - proc'), 1000, [])).toBeNull();
  });
});
