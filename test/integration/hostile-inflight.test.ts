// Hostile review of issue 18.3: a local user (nobody) hides a listener from every fd link, in two
// ways test/helpers/hider.c builds with raw syscalls: sent by SCM_RIGHTS into a unix socket's queue
// and closed (in flight: only the queue holds it), and registered in an io_uring whose own fd was
// closed after IORING_REGISTER_RING_FDS (no fdinfo names the ring any more). Neither ss nor lsof
// names an owner; lsm must still record the listener, with its socket's user and no owner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

// in-flight.ts run inside the world (its own pid namespace and /proc): the code after it sees pid,
// walkFds, inf (in-flight.ts) and fds (the unix socket fds of pid, or any socket's), and prints JSON
const IN_FLIGHT = `const pid = Number(process.argv[1]);
const { walkFds } = await import('${ROOT}/dist/collect/fds.js');
const inf = await import('${ROOT}/dist/collect/in-flight.js');
const fds = inf.unixFds(walkFds('/proc', [pid]), { has: () => true });`;

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });

describe('a listener no fd names, hidden by a local user', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string, hider: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-inflight-'));
    chmodSync(tmp, 0o755);
    hider = join(tmp, 'hider');
    execFileSync('cc', ['-O', '-Wall', '-pthread', '-o', hider, join(ROOT, 'test', 'helpers', 'hider.c')]);
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'ops@example.org' }) };
  });
  const inWorld = async (pid: number, code: string): Promise<unknown> => {
    const r = await world.run([process.execPath, '--input-type=module', '-e', `${IN_FLIGHT}\n${code}`, String(pid)]);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  };
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.run(['rm', '-rf', join(tmp, 'deep')]);
    await world?.stop();
  });

  it('records a listener in flight in a unix socket queue and one behind a registered ring, as ss sees them, never dropped', async (ctx) => {
    const inflight = await world.spawn(['runuser', '-u', 'nobody', '--', hider, 'inflight', '7611']);
    pids.push(inflight.pid);
    expect(inflight.ready).toMatch(/^ready \d+/);
    const ring = await world.spawn(['runuser', '-u', 'nobody', '--', hider, 'regring', '7612']);
    pids.push(ring.pid);
    if (!/^ready \d+/.test(ring.ready)) ctx.skip(`io_uring unavailable: ${ring.ready}`);
    // no process holds either listener: ss lists them without an owner
    const ss = (await world.run(['ss', '-tlnp'])).stdout;
    for (const port of [7611, 7612]) expect(ss).toMatch(new RegExp(`LISTEN .*0\\.0\\.0\\.0:${port} +0\\.0\\.0\\.0:\\*\\s*\\n`));
    const repo = join(tmp, 'repo');
    const r = await world.lsm(['scan', '--repo', repo]);
    // the queue that holds the first is named too (its inode: the socketpair's, as the next test checks)
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^lsm: fds in flight in 1 unix socket queue \(unix socket inode \d+ held by hider nobody\): what they carry is not read\n$/);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toBe('0.0.0.0:7611  ?  nobody  ?\n0.0.0.0:7612  ?  nobody  ?\n');
    await world.kill(inflight.pid); // its queue would be named in every scan below
  });

  it('names a unix listener queue whose waiting connection carries a listener (listeners with none waiting: no fdinfo read)', async () => {
    // scans read no fdinfo for a unix listener whose accept queue netlink says is empty: only a
    // waiting connection's messages can carry fds there
    const backlog = await world.spawn(['runuser', '-u', 'nobody', '--', hider, 'backlog', '7621']);
    pids.push(backlog.pid);
    expect(backlog.ready).toMatch(/^ready \d+/);
    const pid = Number(backlog.ready.split(' ')[1]);
    const queue = await inWorld(pid, 'console.log(JSON.stringify(inf.queuesCarryingFds("/proc", fds)))') as { pid: number; inode: number }[];
    expect(queue.map((q) => q.pid)).toEqual([pid]);
    const repo = join(tmp, 'backlog');
    const r = await world.lsm(['scan', '--repo', repo], { LSM_CONFIG: testConfig(join(tmp, 'etc-backlog'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'ops@example.org' }) });
    expect(r.code).toBe(0);
    // named by its (autobound) abstract name
    expect(r.stderr).toMatch(/^lsm: fds in flight in 1 unix socket queue \(unix socket @[0-9a-f]{5} held by hider nobody\): what they carry is not read\n$/);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toContain('0.0.0.0:7621  ?  nobody  ?\n');
    await world.kill(backlog.pid);
  });

  it("says where a ring's table is too big to read, also when the socket's namespace only the ring keeps alive", async (ctx) => {
    // 512 slots of a file ~20 KiB of escaped path deep beside the listener: ~10 MiB of fdinfo, past
    // any bound a reader sets (or the kernel's own allocation); the listener made in a namespace of
    // its own by a thread that is gone
    const deep = join(tmp, 'deep');
    mkdirSync(deep);
    chownSync(deep, 65534, 65534);
    const big = await world.spawn(['runuser', '-u', 'nobody', '--', 'sh', '-c', `cd ${deep} && exec ${hider} bigring 7631 away`]);
    pids.push(big.pid);
    if (!/^ready \d+/.test(big.ready)) ctx.skip(`io_uring or a user namespace unavailable: ${big.ready}`);
    const pid = big.ready.split(' ')[1];
    const size = await world.run(['sh', '-c', `for f in /proc/${pid}/fd/*; do [ "$(readlink $f)" != 'anon_inode:[io_uring]' ] || wc -c < /proc/${pid}/fdinfo/\${f##*/}; done`]);
    expect(size.stdout.trim()).toMatch(/^\d{8,}$/); // over 10 MB
    const repo = join(tmp, 'big');
    const r = await world.lsm(['scan', '--repo', repo], { LSM_CONFIG: testConfig(join(tmp, 'etc-big'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'ops@example.org' }) });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(git(repo, 'show', 'HEAD:host/unattributed')).toBe(`io_uring/unreadable  hider  nobody  ${hider}\n`);
  });

  it('names a queue that hides a listener in a namespace no process is in (hider inflight away): stderr, snapshot, status', async (ctx) => {
    const hid = await world.spawn(['runuser', '-u', 'nobody', '--', hider, 'inflight', '7641', 'away']);
    pids.push(hid.pid);
    if (!/^ready \d+/.test(hid.ready)) ctx.skip(`a user namespace unavailable: ${hid.ready}`);
    const pid = Number(hid.ready.split(' ')[1]);
    // the one socket whose queue carries the listener: the socketpair's end it kept
    const queue = await inWorld(pid, 'console.log(JSON.stringify(inf.queuesCarryingFds("/proc", fds)))') as { pid: number; inode: number }[];
    expect(queue.map((q) => q.pid)).toEqual([pid]);
    // no process is in the listener's namespace and no fd holds it: ss does not see it
    expect((await world.run(['ss', '-tlnp'])).stdout).not.toMatch(/:7641 /);
    const line = `fds in flight: unix socket inode ${queue[0].inode} held by hider nobody: what they carry is not read`;
    const repo = join(tmp, 'away');
    const env = { LSM_CONFIG: testConfig(join(tmp, 'etc-away'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'ops@example.org' }) };
    const r = await world.lsm(['scan', '--repo', repo], env);
    // as unseen: said, recorded, and the exit stays 0 (what could be seen was recorded)
    expect(r.code).toBe(0);
    // (the first test's hider holds a queue too, while it runs)
    expect(r.stderr).toMatch(/^lsm: fds in flight in \d+ unix socket queues? \(.*\): what they carry is not read\n$/);
    expect(r.stderr).toContain(`unix socket inode ${queue[0].inode} held by hider nobody`);
    expect(git(repo, 'show', 'HEAD:host/unattributed').split('\n')).toContain(line);
    // stable: a second scan finds the same, so records nothing new
    const commits = git(repo, 'rev-list', '--count', 'HEAD');
    const again = await world.lsm(['scan', '--repo', repo], env);
    expect([again.code, git(repo, 'rev-list', '--count', 'HEAD')]).toEqual([0, commits]);
    const status = await world.lsm(['status', '--repo', repo], env);
    expect(status.stdout).toContain(`unix socket inode ${queue[0].inode} held by hider nobody`);
    expect(status.stdout).toMatch(/fds in flight in \d+ unix socket queues? \(/);
    await world.kill(hid.pid);
  });

  it('does not name a pass that ends: read again later, the queue is empty', async () => {
    const once = await world.spawn(['runuser', '-u', 'nobody', '--', hider, 'passonce', '7651']);
    pids.push(once.pid);
    const pid = Number(once.ready.split(' ')[1]);
    // seen at the first read, and still there 100 ms later: named
    const [first, later] = await inWorld(pid, 'const first = inf.queuesCarryingFds("/proc", fds); console.log(JSON.stringify([first, inf.stillCarrying("/proc", first, Date.now())]))') as unknown[][];
    expect(first).toHaveLength(1);
    expect(later).toEqual(first);
    // the same first read, then the holder receives it (SIGUSR1) before the read again: not named
    const [before, after] = await inWorld(pid, `const first = inf.queuesCarryingFds("/proc", fds);
const { execFileSync } = await import('node:child_process');
for (let i = 0; i < 100 && inf.queuesCarryingFds('/proc', first).length > 0; i++) { execFileSync('kill', ['-USR1', String(pid)]); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); }
console.log(JSON.stringify([first, inf.stillCarrying("/proc", first, Date.now())]))`) as unknown[][];
    expect([before, after]).toEqual([first, []]);
    await world.kill(once.pid);
  });

  it('a program that passes fds all the time (received at once) gives no line', async () => {
    const busy = await world.spawn(['runuser', '-u', 'nobody', '--', hider, 'passing', '7661']);
    pids.push(busy.pid);
    expect(busy.ready).toMatch(/^ready \d+/);
    const mine = (await inWorld(Number(busy.ready.split(' ')[1]), 'console.log(JSON.stringify(fds))') as { inode: number }[]).map((q) => `unix socket inode ${q.inode} `);
    expect(mine.length).toBeGreaterThanOrEqual(3); // the socketpair and the listener (and stdio, when sockets)
    const repo = join(tmp, 'passing');
    const env = { LSM_CONFIG: testConfig(join(tmp, 'etc-passing'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'ops@example.org' }) };
    for (let i = 0; i < 3; i++) {
      const r = await world.lsm(['scan', '--repo', repo], env);
      expect(r.code).toBe(0);
      for (const m of mine) expect(r.stderr).not.toContain(m);
    }
    const recorded = git(repo, 'ls-tree', '--name-only', 'HEAD', 'host/').includes('unattributed') ? git(repo, 'show', 'HEAD:host/unattributed') : '';
    for (const m of mine) expect(recorded).not.toContain(m);
    await world.kill(busy.pid);
  });
});
