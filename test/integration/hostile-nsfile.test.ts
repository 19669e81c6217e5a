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
const HOLD = 'unshare -n sleep 1000 & c=$!; sleep 0.3; exec 7</proc/$c/ns/net; '
  + 'nsenter --net=/proc/$c/ns/net sh -c "ip link set lo up && ip link add v0 type vxlan id 7 dstport 4789 local 127.0.0.1 && ip link set v0 up" || exit 2; '
  + 'kill $c; wait $c; echo ready $$ $(readlink /proc/self/fd/7); exec sleep 1000';

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
