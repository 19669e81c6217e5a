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
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(git(repo, 'show', 'HEAD:host/tcp')).toBe('0.0.0.0:7611  ?  nobody  ?\n0.0.0.0:7612  ?  nobody  ?\n');
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
});
