// The fd links of every process, read natively (sockdiag.c walkFds), in a worker thread or in line
// (JS, without the addon): all three give the same owners for real sockets in a namespace the test makes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';

describe('socket owners from /proc/<pid>/fd', () => {
  let world: World;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it('are the same read natively, by a worker thread and in line', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'lsm-fds-'));
    const a = await world.hold([{ kind: 'tcp4', port: 2201 }, { kind: 'udp6', port: 2202 }, { kind: 'unix', path: join(tmp, 'a.sock') }], 'holder-a');
    const b = await world.hold([{ kind: 'tcp6', port: 2203 }, { kind: 'abstract', name: 'lsm-fds-test' }], 'holder-b');
    pids.push(a.pid, b.pid);
    const r = await world.run([process.execPath, join(__dirname, '..', 'helpers', 'collect-both.mjs'), String(a.pid), String(b.pid), '999999']);
    expect(r.stderr).toBe('');
    const { native, parallel, inline, worker } = JSON.parse(r.stdout);
    expect(parallel).toEqual(inline);
    expect(native).toEqual(inline);
    // bound sockets only: the world's pipes to each holder are unnamed unix sockets
    const ownedBy = (pid: number) => inline.filter((s: { owners: number[]; local: string }) => s.owners.includes(pid) && s.local !== ':0')
      .map((s: { local: string }) => s.local).sort();
    expect(ownedBy(a.pid)).toEqual([`${tmp}/a.sock:0`, '127.0.0.1:2201', '::1:2202']);
    expect(ownedBy(b.pid)).toEqual(['::1:2203', '@lsm-fds-test:0']);
    // the worker itself ran: it found every socket the holders own (and the stdio socketpairs they
    // inherited from outside the world), and a pid that does not exist is 'gone'
    expect(worker).not.toBeNull();
    const inodesOf = (pid: number) => inline.filter((s: { owners: number[] }) => s.owners.includes(pid)).map((s: { inode: number }) => s.inode);
    expect(inodesOf(a.pid)).toHaveLength(5);
    expect(worker[a.pid]).toEqual(expect.arrayContaining(inodesOf(a.pid)));
    expect(worker[b.pid]).toEqual(expect.arrayContaining(inodesOf(b.pid)));
    expect(worker['999999']).toBe('gone');
  });
});
