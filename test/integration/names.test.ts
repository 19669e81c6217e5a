// Issue 7: no name can hide or forge a line, and every namespace is found. Real sockets in a world
// the test makes; lsm reads them through the real /proc.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1'); // as holder.py takes names

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
    const sockets = JSON.parse(json.stdout).sockets as { kind: string; endpoint: string; address: string; owners: { container: string }[] }[];
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
  const long = 'n'.repeat(150);
  const names = ['a b', 'a_b', `${long}1`, `${long}2`, 'x/..'.replace('/', '\\'), '.hidden', 'git~1', 'x.'];
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
    for (const [i, name] of names.entries()) {
      expect((await world.run(['ip', 'netns', 'add', name])).code).toBe(0);
      pids.push((await world.spawn(['ip', 'netns', 'exec', name, 'python3', HOLDER, JSON.stringify({ comm: `svc${i}`, sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port: 7000 + i }] })])).pid);
    }
    const repo = join(tmp, 'repo');
    const g = await world.lsm(['-g', '--repo', repo]);
    expect(g.stderr).toBe('');
    const files = git(repo, 'ls-tree', '-r', '-z', '--name-only', 'HEAD').split('\0').filter((f) => f.startsWith('netns/'));
    const dirs = files.map((f) => f.slice('netns/'.length, f.lastIndexOf('/')));
    expect(new Set(dirs).size).toBe(names.length);
    expect(dirs).toContain('a%x20b');
    expect(dirs).toContain('a_b');
    expect(dirs).toContain('x%%.%x2e');
    expect(dirs).toContain('git%x7e1');
    expect(dirs).toContain('x%x2e');
    expect(dirs).toContain('%x2ehidden');
    for (const [i] of names.entries()) {
      const file = files.find((f) => git(repo, 'show', `HEAD:${f}`).startsWith(`0.0.0.0:${7000 + i}  svc${i}  `));
      expect(file, names[i]).toBeDefined();
    }
    expect(dirs.filter((d) => d.startsWith(long)).every((d) => Buffer.byteLength(d) < 255)).toBe(true);
    // killing one of the two look-alikes changes exactly its file
    await world.kill(pids[0]);
    pids.shift();
    const c = await world.lsm(['scan', '--repo', repo]);
    expect(c.stderr).toBe('');
    const changed = git(repo, 'diff', '--name-only', 'HEAD~1', 'HEAD').trim().split('\n');
    expect(changed).toContain('netns/a%x20b/tcp');
    expect(changed.every((f) => f.startsWith('netns/a%x20b/'))).toBe(true);
    expect(git(repo, 'show', 'HEAD:netns/a_b/tcp')).toMatch(/^0\.0\.0\.0:7001  svc1  /);
  });
});
