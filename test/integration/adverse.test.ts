// What a serious tool meets on real hosts: a full disk, a run without root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

describe('adverse conditions', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-adverse-'));
    chmodSync(tmp, 0o755);
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc')) };
    pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 2000 }], 'daemon')).pid);
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.run(['umount', join(tmp, 'small')]);
    await world?.stop();
  });

  it('a full disk fails the scan with one line and leaves the history intact', async () => {
    const small = join(tmp, 'small');
    expect((await world.run(['mkdir', small])).code).toBe(0);
    // a tiny file system, mounted only inside the world's mount namespace (mode 755: a fresh tmpfs is
    // 1777, and lsm refuses to create its repository right under a world-writable directory)
    expect((await world.run(['mount', '-t', 'tmpfs', '-o', 'size=400k,mode=755', 'tmpfs', small])).code).toBe(0);
    const repo = join(small, 'repo');
    expect((await world.lsm(['scan', '--repo', repo])).code).toBe(0);
    const before = (await world.run(['git', '-C', repo, 'rev-parse', 'HEAD'])).stdout;
    // fill the disk (keeping two pages in reserve), then make a change that needs new objects
    expect((await world.run(['dd', 'if=/dev/zero', `of=${join(small, 'reserve')}`, 'bs=4k', 'count=2'])).code).toBe(0);
    const fill = await world.run(['dd', 'if=/dev/zero', `of=${join(small, 'filler')}`, 'bs=4k', 'count=1000']);
    expect([fill.code, fill.stderr]).toEqual([1, expect.stringContaining('No space left on device')]); // the disk is full
    const h = await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 2001 }, { kind: 'tcp4', addr: '127.0.0.1', port: 2002 }], 'newcomer');
    const r = await world.lsm(['scan', '--repo', repo]);
    expect(r.stderr).toMatch(/^lsm: cannot lock .*: no space left on device\n$/);
    expect(r.code).toBe(1);
    const fsck = await world.run(['git', '-C', repo, 'fsck', '--strict', '--no-dangling']);
    expect([fsck.code, fsck.stderr]).toEqual([0, '']);
    expect((await world.run(['git', '-C', repo, 'rev-parse', 'HEAD'])).stdout).toBe(before);
    // a little space: the lock fits, the new objects do not
    expect((await world.run(['rm', join(small, 'reserve')])).code).toBe(0);
    const r2 = await world.lsm(['scan', '--repo', repo]);
    expect(r2.stderr).toMatch(/^lsm: cannot commit to .*: no space left on device\n$/);
    expect(r2.code).toBe(1);
    expect((await world.run(['git', '-C', repo, 'fsck', '--strict', '--no-dangling'])).code).toBe(0);
    expect((await world.run(['git', '-C', repo, 'rev-parse', 'HEAD'])).stdout).toBe(before);
    // space again: the next scan records the change
    expect((await world.run(['rm', join(small, 'filler')])).code).toBe(0);
    const ok = await world.lsm(['scan', '--repo', repo]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('127.0.0.1:2001  newcomer');
    expect((await world.run(['git', '-C', repo, 'fsck', '--strict', '--no-dangling'])).code).toBe(0);
    await world.kill(h.pid);
  });

  it('without root: sockets are all listed, owners of other users unknown and counted', async () => {
    const repo = join(tmp, 'nobody-repo');
    const r = await world.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath,
      join(__dirname, '..', '..', 'dist', 'cli', 'main.js'), 'status', '--repo', repo], { env: { NO_COLOR: '1', HOME: tmp, XDG_CONFIG_HOME: '', XDG_STATE_HOME: '', LSM_CONFIG: '' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/127\.0\.0\.1:2000\s+\? root/);
    expect(r.stdout).toMatch(/\d+ unreadable \(owners unknown: run as root\)/);
  });
});
