// Issue 7: no name can hide or forge a line, and every namespace is found. Real sockets in a world
// the test makes; lsm reads them through the real /proc.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1'); // as holder.py takes names

// A process that listens in another namespace and comes back: by setns into a named namespace, or
// in a namespace of its own (unshare) that only its socket keeps alive.
const HIDER = `
import ctypes, os, select, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
with open('/proc/self/comm', 'w') as f: f.write(sys.argv[1])
home = os.open('/proc/self/ns/net', os.O_RDONLY)
held = []
for ns, port in zip(sys.argv[2::2], sys.argv[3::2]):
    if ns == 'unshare':
        assert libc.unshare(CLONE_NEWNET) == 0
    else:
        assert libc.setns(os.open(ns, os.O_RDONLY), CLONE_NEWNET) == 0
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(port)))
    s.listen(8)
    held.append(s)
    assert libc.setns(home, CLONE_NEWNET) == 0
print('ready', os.getpid(), flush=True)
select.select([sys.stdin], [], [], 300)
`;

describe('names from the system, escaped the same everywhere', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  const cgroup = `/sys/fs/cgroup/pids/lxc.payload.e\x1b[31mx\x07${process.pid}`;
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-names-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc')) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.run(['rmdir', cgroup]);
    await world?.stop();
  });

  it("status --json: a non-ASCII path comes out right; a cgroup's ESC/BEL container name is escaped in the table and JSON", async () => {
    const path = join(tmp, 'ü.sock');
    const holder = await world.hold([{ kind: 'unix', path: bytes(path) }, { kind: 'tcp4', addr: '0.0.0.0', port: 4711 }], 'svc');
    pids.push(holder.pid);
    expect((await world.run(['mkdir', cgroup])).code).toBe(0);
    expect((await world.run(['sh', '-c', `echo ${holder.pid} > '${cgroup}/cgroup.procs'`])).code).toBe(0);
    const json = await world.lsm(['status', '--json', '--repo', join(tmp, 'repo')]);
    expect(json.stderr).toBe('');
    const sockets = (JSON.parse(json.stdout) as { sockets: { kind: string; endpoint: string; address: string; owners: { container: string }[] }[] }).sockets;
    const unix = sockets.find((s) => s.kind === 'unix')!;
    expect(unix.endpoint).toBe(path);
    expect(unix.address).toBe(path);
    const tcp = sockets.find((s) => s.kind === 'tcp')!;
    expect(tcp.owners[0].container).toBe(`lxc-e\\x1b[31mx\\x07${process.pid}`);
    const table = await world.lsm(['status', '--repo', join(tmp, 'repo')]);
    expect(table.stdout).toContain(`container=lxc-e\\x1b[31mx\\x07${process.pid}`);
    expect(table.stdout + json.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});

describe('namespace labels', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  // /run/netns is the host's directory: names unique to this run
  const id = process.pid;
  const long = 'n'.repeat(150) + id;
  const names = [`a b${id}`, `a_b${id}`, `${long}1`, `${long}2`, `x${id}\\..`, `.hidden${id}`, `git~${1 + (id % 9)}`, `x${id}.`];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-labels-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    for (const name of names) await world?.run(['ip', 'netns', 'del', name]);
    await world?.stop();
  });

  it('gives distinct namespaces distinct directories, escaped reversibly, long names kept apart', async () => {
    for (const name of names) expect((await world.run(['ip', 'netns', 'add', name])).stderr).toBe('');
    // one process for 'a b', one for the rest (each listener made inside its namespace by setns)
    pids.push((await world.spawn(['python3', '-c', HIDER, 'svc0', `/run/netns/${names[0]}`, '7000'])).pid);
    pids.push((await world.spawn(['python3', '-c', HIDER, 'svcN', ...names.slice(1).flatMap((n, i) => [`/run/netns/${n}`, String(7001 + i)])])).pid);
    const repo = join(tmp, 'repo');
    const g = await world.lsm(['-g', '--repo', repo]);
    expect(g.stderr).toBe('');
    const files = git(repo, 'ls-tree', '-r', '-z', '--name-only', 'HEAD').split('\0').filter((f) => f.startsWith('netns/'));
    const dirs = files.map((f) => f.slice('netns/'.length, f.lastIndexOf('/')));
    expect(new Set(dirs).size).toBe(names.length);
    expect(dirs).toContain(`a%x20b${id}`);
    expect(dirs).toContain(`a_b${id}`);
    expect(dirs).toContain(`x${id}%%.%x2e`);
    expect(dirs).toContain(`git%x7e${1 + (id % 9)}`);
    expect(dirs).toContain(`x${id}%x2e`);
    expect(dirs).toContain(`%x2ehidden${id}`);
    for (const [i] of names.entries()) {
      const file = files.find((f) => git(repo, 'show', `HEAD:${f}`).startsWith(`0.0.0.0:${7000 + i}  svc${i ? 'N' : '0'}  `));
      expect(file, names[i]).toBeDefined();
    }
    expect(dirs.filter((d) => d.startsWith(long)).every((d) => Buffer.byteLength(d) < 255)).toBe(true);
    // killing one of the two look-alikes changes exactly its file
    await world.kill(pids[0]);
    pids.shift();
    const c = await world.lsm(['scan', '--repo', repo]);
    expect(c.stderr).toBe('');
    const changed = git(repo, 'diff', '--name-only', 'HEAD~1', 'HEAD').trim().split('\n');
    expect(changed).toContain(`netns/a%x20b${id}/tcp`);
    expect(changed.every((f) => f.startsWith(`netns/a%x20b${id}/`))).toBe(true);
    expect(git(repo, 'show', `HEAD:netns/a_b${id}/tcp`)).toMatch(/^0\.0\.0\.0:7001  svcN  /);
  }, 180_000); // eight namespaces made and read: slow on a loaded machine
});


describe('namespaces without a process', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  const ns = `hidden${process.pid}`;
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-hidden-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.run(['ip', 'netns', 'del', ns]);
    await world?.stop();
  });

  it('reads a namespace only a mount holds, and one only a socket holds (found through the socket), each with its owner', async () => {
    expect((await world.run(['ip', 'netns', 'add', ns])).code).toBe(0);
    // also bound elsewhere, as runtimes do: one namespace, one directory
    expect((await world.run(['sh', '-c', `mkdir -p ${tmp}/rt && touch ${tmp}/rt/x && mount --bind /run/netns/${ns} ${tmp}/rt/x`])).code).toBe(0);
    pids.push((await world.spawn(['python3', '-c', HIDER, 'hider', `/run/netns/${ns}`, '31337'])).pid);
    pids.push((await world.spawn(['python3', '-c', HIDER, 'ghost', 'unshare', '31338'])).pid);
    const repo = join(tmp, 'repo');
    const g = await world.lsm(['-g', '--repo', repo]);
    expect(g.stderr).toBe('');
    const files = git(repo, 'ls-tree', '-r', '--name-only', 'HEAD').trim().split('\n');
    const kinds = ['packet', 'raw', 'tcp', 'udp', 'unix'];
    // the namespace only ghost's socket holds is labelled by its holder and its own inode
    const ghost = files.find((f) => /^netns\/ghost-\d+\/tcp$/.test(f))!.slice(0, -'/tcp'.length);
    expect(files.filter((f) => f.startsWith('netns/'))).toEqual([...kinds.map((k) => `${ghost}/${k}`), ...kinds.map((k) => `netns/${ns}/${k}`)]);
    expect(git(repo, 'show', `HEAD:netns/${ns}/tcp`)).toMatch(/^0\.0\.0\.0:31337  hider  root  \/\S+python3\S*\n$/);
    expect(git(repo, 'show', `HEAD:${ghost}/tcp`)).toMatch(/^0\.0\.0\.0:31338  ghost  root  \/\S+python3\S*\n$/);
    expect(files).not.toContain('host/unattributed');
    const blame = await world.lsm(['blame', '31337', '--repo', repo]);
    expect(blame.stdout).toContain(`netns/${ns}/tcp`);
    const status = await world.lsm(['status', '--repo', repo]);
    expect(status.stdout).toMatch(new RegExp(`netns/${ns} +tcp +LISTEN +0\\.0\\.0\\.0:31337 +hider\\[${pids[0]}\\]`));
    await world.run(['umount', `${tmp}/rt/x`]);
  });

  it('reads at most 32 namespaces through sockets in a scan (each costs a process start, and any user can make thousands); the rest alert as unattributed', async () => {
    for (const pid of pids.splice(0)) await world.kill(pid); // the ghost above held one such namespace too
    const args: string[] = [];
    for (let i = 0; i < 34; i++) args.push('unshare', String(32000 + i));
    const p = await world.spawn(['python3', '-c', HIDER, 'many', ...args]);
    pids.push(p.pid);
    const status = await world.lsm(['status', '--all', '--json', '--repo', join(tmp, 'repo')]);
    expect(status.code).toBe(0);
    const mine = (JSON.parse(status.stdout) as { sockets: { kind: string; namespace: string; owners: { pid: number }[] }[] }).sockets.filter((s) => s.owners.some((o) => o.pid === p.pid));
    const listeners = mine.filter((s) => s.kind === 'tcp');
    expect(listeners).toHaveLength(32);
    expect(new Set(listeners.map((s) => s.namespace)).size).toBe(32); // each its own namespace, labelled after its holder
    expect(listeners.map((s) => s.namespace).filter((n) => !/^many-\d+$/.test(n))).toEqual([]);
    expect(mine.filter((s) => s.kind === 'unattributed').map((s) => s.namespace)).toEqual(['host', 'host']);
    await world.kill(p.pid);
  });

  it('a socket of a family with no table lsm reads (a vsock listener, an AF_XDP socket) is an unattributed line that says what it is', async () => {
    const script = `
import select, socket, sys
with open('/proc/self/comm', 'w') as f: f.write('famous')
v = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
v.bind((socket.VMADDR_CID_ANY, 5555))
v.listen(1)
x = socket.socket(44, socket.SOCK_RAW)  # AF_XDP
print('ready', flush=True)
select.select([sys.stdin], [], [], 300)
`;
    const p = await world.spawn(['python3', '-c', script]);
    pids.push(p.pid);
    const repo = join(tmp, 'fam-repo');
    expect((await world.lsm(['-g', '--repo', repo])).code).toBe(0);
    expect(git(repo, 'show', 'HEAD:host/unattributed')).toMatch(/^vsock\/stream\/\*:5555  famous  root  \/\S+python3\S*\nxdp\/raw  famous  root  \/\S+python3\S*\n$/);
  });

  it('records no line for TCP/UDP sockets that have no endpoint (never bound), as ss shows none; the /proc fallback, which cannot tell, keeps them as unattributed', async () => {
    const script = `
import select, socket, sys
with open('/proc/self/comm', 'w') as f: f.write('ioctler')
held = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET6, socket.SOCK_STREAM), socket.socket(socket.AF_INET, socket.SOCK_STREAM)]
print('ready', flush=True)
select.select([sys.stdin], [], [], 300)
`;
    const p = await world.spawn(['python3', '-c', script]);
    pids.push(p.pid);
    const status = await world.lsm(['status', '--all', '--json', '--repo', join(tmp, 'repo')]);
    expect(status.code).toBe(0);
    const mine = (JSON.parse(status.stdout) as { sockets: { kind: string; owners: { pid: number }[] }[] }).sockets.filter((s) => s.kind === 'unattributed' && s.owners.some((o) => o.pid === p.pid));
    expect(mine).toEqual([]); // its stdio socketpair (unix, in the table) is no concern here
    const fallback = await world.lsm(['status', '--all', '--json', '--repo', join(tmp, 'repo')], { LSM_NETLINK: 'off' });
    expect(fallback.code).toBe(0);
    const kept = (JSON.parse(fallback.stdout) as { sockets: { kind: string; owners: { pid: number }[] }[] }).sockets.filter((s) => s.kind === 'unattributed' && s.owners.some((o) => o.pid === p.pid));
    expect(kept.map((s) => s.kind)).toEqual(['unattributed', 'unattributed', 'unattributed']);
  });
});

describe('recorded facts', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-facts-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc')) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it('records bound unix stream sockets, ping sockets, and no client port of a QUIC-style server with --established', async () => {
    expect((await world.run(['sysctl', '-qw', 'net.ipv4.ping_group_range=0 2147483647'])).code).toBe(0);
    pids.push((await world.hold([
      { kind: 'unix-bound', path: join(tmp, 'bound.sock') }, { kind: 'unix', path: join(tmp, 'listen.sock') },
      { kind: 'ping4' }, { kind: 'ping6' }, { kind: 'quic', port: 4433, client: 54321 } as never,
    ], 'facts')).pid);
    const repo = join(tmp, 'repo');
    const scan = await world.lsm(['scan', '--established', '--repo', repo]);
    expect(scan.stderr).not.toMatch(/^lsm: (?!no mail)/m);
    const show = (f: string) => git(repo, 'show', `HEAD:host/${f}`);
    expect(show('unix')).toMatch(new RegExp(`^${tmp}/bound\\.sock  stream bound  facts  root  \\S+\n${tmp}/listen\\.sock  stream  facts  root  \\S+\n$`));
    expect(show('raw')).toMatch(/^0\.0\.0\.0:ping  facts  root  \S+\n\[::\]:ping  facts  root  \S+\n$/);
    expect(show('udp')).toMatch(/^127\.0\.0\.1:4433  facts  root  \S+\n127\.0\.0\.1:4433 <- 127\.0\.0\.1  facts  root  \S+\n$/);
    expect(git(repo, 'show', 'HEAD')).not.toContain('54321');
  });
});
