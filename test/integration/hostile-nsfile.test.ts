// A network namespace that only an open namespace file keeps alive: a process opened
// /proc/<pid>/ns/net of another, which then exited. No process is in it, no mount binds it, no
// socket of a process leads there (a kernel socket: a vxlan device's UDP port), so ss, lsof and
// ip netns miss it; lsm read nothing there either. The fd's link ('net:[inode]') is the way in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });
// a namespace with a vxlan device (the kernel's UDP socket on 4789), then only `sleep`'s fd 7 holds it
// (its file opened once unshare has made the namespace: a fixed sleep opened the world's own under load)
const HOLD = 'me=$(readlink /proc/self/ns/net); unshare -n sleep 1000 & c=$!; n=0; '
  + 'while [ "$(readlink /proc/$c/ns/net)" = "$me" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done; exec 7</proc/$c/ns/net; '
  + 'nsenter --net=/proc/$c/ns/net sh -c "ip link set lo up && ip link add v0 type vxlan id 7 dstport 4789 local 127.0.0.1 && ip link set v0 up" || exit 2; '
  + 'kill $c; wait $c; echo ready $$ $(readlink /proc/self/fd/7); exec sleep 1000';

// the holder says ready, then execs sleep: its label is sleep's only once it has (under load, a
// scan can come first and find bash)
const sleeping = async (world: World, pid: number) => {
  for (let i = 0; i < 500; i++) {
    if ((await world.run(['cat', `/proc/${pid}/comm`])).stdout === 'sleep\n') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the holder ${pid} did not exec sleep`);
};

describe('a namespace only an open namespace file holds', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  let inode = '';
  let unavailable = '';
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-nsfile-'));
    const probe = await world.run(['unshare', '-n', 'ip', 'link', 'add', 'v0', 'type', 'vxlan', 'id', '7', 'dstport', '4789', 'local', '127.0.0.1']);
    if (probe.code !== 0) { unavailable = probe.stderr.trim(); return; }
    const h = await world.spawn(['bash', '-c', HOLD]);
    pids.push(h.pid);
    inode = /net:\[(\d+)\]/.exec(h.ready)![1];
    await sleeping(world, h.pid);
    // no process is in it, and ss sees nothing of it
    const inside = await world.run(['sh', '-c', `for p in /proc/[0-9]*; do readlink $p/ns/net; done | grep -c ${inode}`]);
    expect(inside.stdout.trim()).toBe('0');
    expect((await world.run(['ss', '-uanH'])).stdout).not.toContain('4789');
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  const scan = async (env: Record<string, string>) => {
    const repo = join(tmp, `repo-${Object.keys(env).length}`);
    const r = await world.lsm(['scan', '--repo', repo], env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    return git(repo, 'show', `HEAD:netns/sleep-${inode}/udp`);
  };
  const needVxlan = (ctx: { skip: (note?: string) => void }) => {
    if (unavailable !== '') { console.warn(`nsfile test SKIPPED: no vxlan here (${unavailable})`); ctx.skip(unavailable); }
  };

  it('reads it through the holder\'s fd, from the /proc text (no addon)', async (ctx) => {
    needVxlan(ctx);
    expect(await scan({ LSM_NETLINK: 'off' })).toBe('0.0.0.0:4789  ?  root  ?\n');
  });

  it('says the namespaces past the 32 a scan reads so, on stderr and in host/unattributed', { timeout: 240_000 }, async (ctx) => {
    needVxlan(ctx);
    // 34 more such namespaces, all held by one process's fds (any user can make thousands)
    const many = 'me=$(readlink /proc/self/ns/net); for i in $(seq 1 34); do unshare -n sleep 1000 & c=$!; n=0; '
      + 'while [ "$(readlink /proc/$c/ns/net)" = "$me" ] && [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done; exec {f}</proc/$c/ns/net; '
      + 'nsenter --net=/proc/$c/ns/net ip link add v0 type vxlan id 7 dstport 4789 local 127.0.0.1 || exit 2; '
      + 'nsenter --net=/proc/$c/ns/net ip link set v0 up; kill $c; wait $c; done; echo ready $$; exec sleep 1000';
    const h = await world.spawn(['bash', '-c', many], {});
    pids.push(h.pid);
    try {
      await sleeping(world, h.pid);
      const repo = join(tmp, 'repo-many');
      const r = await world.lsm(['scan', '--repo', repo], { LSM_NETLINK: 'off' });
      expect(r.code).toBe(0);
      // 35 namespaces found, 32 read (the first one's too, or another: which ones is the walk's order)
      const read = git(repo, 'ls-files').split('\n').filter((f) => /^netns\/sleep-\d+\/udp$/.test(f));
      expect(read).toHaveLength(32);
      expect(r.stderr).toMatch(/^lsm: 3 namespaces not readable \(over 32 held by open files\)/m);
      expect(git(repo, 'show', 'HEAD:host/unattributed')).toContain('3 namespaces not readable: over 32 held by open files');
    } finally {
      await world.kill(h.pid); // the next case counts the namespaces again
    }
  });

  it('reads it through the holder\'s fd, found by the native walk', async (ctx) => {
    needVxlan(ctx);
    let addon: { walkFds?: (root: string, pids: number[]) => unknown[] } | null = null;
    try { addon = createRequire(import.meta.url)(join(ROOT, 'build', 'Release', 'sockdiag.node')); } catch { /* not built */ }
    if (!addon?.walkFds || addon.walkFds('/proc', [process.pid]).length < 3) {
      console.warn('nsfile test SKIPPED: the addon\'s walkFds gives no namespace files (rebuild it: npm run install)');
      ctx.skip('addon without namespace files');
    }
    expect(await scan({})).toBe('0.0.0.0:4789  ?  root  ?\n');
  });
});
