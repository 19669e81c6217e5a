// Issue 18.4: a non-root scan says what it could not see: on stderr, in lsm status, and in the
// history (lines of host/unattributed that stay the same from scan to scan). A real namespace made
// by root in the test (unshare -n, bound to a file as ip netns does), scanned as nobody.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, LSM, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const NOBODY = 65534;
const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });
const chownTree = (p: string) => { chownSync(p, NOBODY, NOBODY); if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(join(p, e)); };

describe('a scan as nobody says what it could not see', () => {
  let world: World;
  let tmp: string;
  let mine: string; // nobody's: repository and config
  let conf: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-unseen-'));
    chmodSync(tmp, 0o755);
    mine = join(tmp, 'nobody');
    mkdirSync(mine);
    conf = testConfig(join(mine, 'etc'), { SENDMAIL: fakeSendmail(mine).path, USER: 'admin@example.org' });
    chownTree(mine);
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    await world?.run(['umount', join(tmp, 'nsfile')]);
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  const asNobody = (...args: string[]) => world.run(['runuser', '-u', 'nobody', '--', 'env', 'NO_COLOR=1', `LSM_CONFIG=${conf}`, `HOME=${mine}`, process.execPath, LSM, ...args]);

  it('names the namespaces and processes it could not read on stderr, in status and in host/unattributed, and the lines do not churn', async () => {
    const spec = (port: number) => JSON.stringify({ comm: 'rootsvc', sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port }] });
    const hidden = await world.spawn(['unshare', '-n', 'python3', HOLDER, spec(7301)]);
    pids.push(hidden.pid);
    pids.push((await world.spawn(['python3', HOLDER, spec(7302)])).pid);
    const nsfile = join(tmp, 'nsfile');
    expect((await world.run(['sh', '-c', `touch ${nsfile} && mount --bind /proc/${hidden.pid}/ns/net ${nsfile}`])).code).toBe(0);

    // root sees both listeners
    const rootRepo = join(tmp, 'rootrepo');
    const root = await world.lsm(['scan', '--repo', rootRepo]);
    expect([root.code, root.stderr]).toEqual([0, '']);
    expect(git(rootRepo, 'ls-tree', '-r', '--name-only', 'HEAD')).not.toContain('host/unattributed');
    expect(git(rootRepo, 'ls-tree', '-r', '--name-only', 'HEAD')).toMatch(/^netns\/nsfile-\d+\/tcp$/m);

    const repo = join(mine, 'repo');
    const scan = await asNobody('scan', '--repo', repo);
    expect(scan.code).toBe(0);
    expect(scan.stderr).toMatch(/^lsm: 1 namespace and the namespaces of \d+ processes not readable \(permission denied\): sockets only there are not recorded\n$/);
    expect(git(repo, 'show', 'HEAD:host/unattributed')).toBe(
      '1 namespace not readable: permission denied\n' +
      'processes not readable: permission denied: a namespace only they are in is not recorded\n');
    expect(git(repo, 'show', 'HEAD:host/tcp')).toMatch(/^0\.0\.0\.0:7302  \?  root  \?\n$/); // seen, owner unknown
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'HEAD')).not.toContain('netns/');

    // a process more or less does not rewrite the record
    pids.push((await world.spawn(['python3', HOLDER, JSON.stringify({ sockets: [] })])).pid);
    const again = await asNobody('scan', '--repo', repo);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/not readable \(permission denied\)/);
    expect(git(repo, 'log', '--format=%H', '--', 'host/unattributed').trim().split('\n')).toHaveLength(1);

    const status = await asNobody('status', '--repo', repo);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^1 namespace and the namespaces of \d+ processes not readable \(permission denied\): sockets only there are not recorded$/m);
  }, 60_000);
});
