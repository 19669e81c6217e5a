// Issue 18.2: a namespace's label depends on that namespace alone. Two namespaces of one program
// (two `unshare -n` runs): the second starting or stopping never moves the first's lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const twin = (port: number) => ['unshare', '-n', 'python3', HOLDER, JSON.stringify({ comm: 'ae-twin', sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port }] })];

describe('namespace labels are stable', () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-twins-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it("two runs of one program: the second starting and stopping never moves the first's lines", async () => {
    const repo = join(tmp, 'repo');
    const netnsDirs = () => git(repo, 'ls-tree', '-d', '--name-only', 'HEAD:netns').trim().split('\n').filter(Boolean);
    const scan = async () => { const r = await world.lsm(['scan', '--repo', repo]); expect([r.code, r.stderr]).toEqual([0, '']); };
    pids.push((await world.spawn(twin(7101))).pid);
    await scan();
    const [first] = netnsDirs();
    expect(git(repo, 'show', `HEAD:netns/${first}/tcp`)).toMatch(/^0\.0\.0\.0:7101  ae-twin  root  /);

    const second = (await world.spawn(twin(7102))).pid;
    pids.push(second);
    await scan();
    const both = netnsDirs();
    expect(both).toHaveLength(2);
    expect(both).toContain(first);
    const other = both.find((d) => d !== first)!;
    expect(git(repo, 'show', `HEAD:netns/${other}/tcp`)).toMatch(/^0\.0\.0\.0:7102  ae-twin  root  /);

    await world.kill(pids.pop()!);
    await scan();
    expect(netnsDirs()).toEqual([first]);
    // three commits, and only the first touched the first's files
    expect(git(repo, 'rev-list', '--count', 'HEAD')).toBe('3\n');
    expect(git(repo, 'log', '--format=%H', '--', `netns/${first}`).trim().split('\n')).toEqual([git(repo, 'rev-list', '--max-parents=0', 'HEAD').trim()]);
    expect(git(repo, 'log', '--format=%H', '--', `netns/${other}`).trim().split('\n')).toHaveLength(2); // added, removed
    expect(first).toMatch(/^ae-twin-\d+$/); // its own inode: the same whoever else runs
  }, 60_000);
});
