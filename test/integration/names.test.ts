// Issue 7: no name can hide or forge a line, and every namespace is found. Real sockets in a world
// the test makes; lsm reads them through the real /proc.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

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
    const sockets = JSON.parse(json.stdout) as { kind: string; local: string; localAddress: string; owners: { container: string }[] }[];
    const unix = sockets.find((s) => s.kind === 'unix')!;
    expect(unix.local).toBe(path);
    expect(unix.localAddress).toBe(path);
    const tcp = sockets.find((s) => s.kind === 'tcp')!;
    expect(tcp.owners[0].container).toBe(`lxc-e\\x1b[31mx\\x07${process.pid}`);
    const table = await world.lsm(['status', '--repo', join(tmp, 'repo')]);
    expect(table.stdout).toContain(`container=lxc-e\\x1b[31mx\\x07${process.pid}`);
    expect(table.stdout + json.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});
