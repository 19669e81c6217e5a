// A namespace's label cannot be taken or moved by a local user (issue 18.2, hostile review). In a
// user and mount namespace of their own (`unshare -rm`, no privilege needed) a user binds their own
// network namespace at /run/netns/<the name of root's ip netns>: that name must stay root's, the
// real namespace's lines must not move. And a process that joins a namespace later (with a lower
// pid, as after pids wrap) must not rename it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const listen = (comm: string, port: number) => JSON.stringify({ comm, sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port }] });

describe('hostile namespace labels', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  const ns = `prod${process.pid}`;
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-hostile-labels-'));
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.run(['ip', 'netns', 'del', ns]);
    await world?.stop();
  });
  // each test its own repository and config (a spool belongs to one repository)
  const scan = async (repo: string) => {
    const r = await world.lsm(['scan', '--repo', repo], { LSM_CONFIG: testConfig(`${repo}-etc`, { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) });
    expect([r.code, r.stderr]).toEqual([0, '']);
  };

  it("a user's own mount at /run/netns/<root's name> neither takes the name nor moves root's lines", async () => {
    const repo = join(tmp, 'steal');
    expect((await world.run(['ip', 'netns', 'add', ns])).stderr).toBe('');
    pids.push((await world.spawn(['ip', 'netns', 'exec', ns, 'python3', HOLDER, listen('realsvc', 7801)])).pid);
    await scan(repo);
    expect(git(repo, 'show', `HEAD:netns/${ns}/tcp`)).toMatch(/^0\.0\.0\.0:7801  realsvc  root  /);
    const evil = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-rm', '--net', 'sh', '-c',
      `mount -t tmpfs lsm /run/netns && touch /run/netns/${ns} && mount --bind /proc/self/ns/net /run/netns/${ns} && exec python3 ${HOLDER} '${listen('evil', 7802)}'`]);
    pids.push(evil.pid);
    await scan(repo);
    // the user's namespace is recorded, under a label of its own; root's lines did not move
    const changed = git(repo, 'diff', '--name-status', 'HEAD~1', 'HEAD').trim().split('\n');
    expect(changed).toContainEqual(expect.stringMatching(/^A\tnetns\/evil-\d+\/tcp$/));
    expect(changed.filter((c) => !/^A\tnetns\/evil-\d+\/(packet|raw|tcp|udp|unix)$/.test(c))).toEqual([]);
    expect(git(repo, 'show', `HEAD:netns/${ns}/tcp`)).toMatch(/^0\.0\.0\.0:7801  realsvc  root  /);
  }, 60_000);

  it('a process joining a namespace later, with a lower pid, does not rename it', async () => {
    const repo = join(tmp, 'join');
    const first = await world.spawn(['unshare', '-n', 'python3', HOLDER, listen('ae-first', 7811)]);
    pids.push(first.pid);
    await scan(repo);
    const dirs = () => git(repo, 'ls-tree', '-d', '--name-only', 'HEAD:netns').trim().split('\n');
    const [label] = dirs().filter((d) => d.startsWith('ae-first-'));
    expect(label).toMatch(/^ae-first-\d+$/);
    // the next pid in this pid namespace is 2 (as after a wrap): below the first process's
    expect((await world.run(['sh', '-c', 'echo 1 > /proc/sys/kernel/ns_last_pid'])).code).toBe(0);
    const later = await world.spawn(['nsenter', `--net=/proc/${first.pid}/ns/net`, 'python3', HOLDER, listen('aa-later', 7812)]);
    pids.push(later.pid);
    expect(later.pid).toBeLessThan(first.pid);
    await scan(repo);
    expect(dirs()).toContain(label);
    expect(git(repo, 'show', `HEAD:netns/${label}/tcp`)).toMatch(/^0\.0\.0\.0:7811  ae-first  root  .*\n0\.0\.0\.0:7812  aa-later  root  /);
    expect(git(repo, 'diff', '--name-status', 'HEAD~1', 'HEAD').trim()).toBe(`M\tnetns/${label}/tcp`);
  }, 60_000);
});
