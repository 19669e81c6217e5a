// The addon drops the sockets of unwanted states to bare inodes during the dump (sockdiag.c
// query's keep): collect's netlink read gives the same sockets and the same seen inodes as when
// every state is parsed in JS, for real listeners and established connections in a namespace the
// test makes. A scan dumps TCP sockets of states it does not record (connections) only when some
// socket fd is in no table read (collect/index.ts tellUnkept), since each such dump walks every
// namespace's connections: connections held in their own namespace, and connections of another
// namespace passed by SCM_RIGHTS to a process here (that namespace's process holding only its
// listener), are in a table all the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { World } from '../helpers/world.js';

describe('netlink dumps with unwanted states dropped in the addon', () => {
  let world: World;
  const pids: number[] = [];
  beforeAll(async () => { world = await World.start(); });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it('give the same sockets and inodes as a dump parsed whole', async () => {
    const h = await world.hold([{ kind: 'tcp4', port: 2301 }, { kind: 'tcp4-conn', port: 2301 }, { kind: 'tcp6', port: 2302 }], 'dropper');
    pids.push(h.pid);
    const r = await world.run([process.execPath, join(__dirname, '..', 'helpers', 'netlink-dropped.mjs')]);
    expect(r.stderr).toBe('');
    const { filtered, whole, messages, dropped } = JSON.parse(r.stdout);
    expect(filtered).toEqual(whole);
    expect(filtered.sockets.map((s: string) => s.split(' ').slice(0, 2).join(' '))).toEqual(['127.0.0.1:2301 LISTEN', '::1:2302 LISTEN']);
    for (const s of filtered.sockets) expect(filtered.saw).toContain(Number(s.split(' ')[2]));
    // the raw reply: only the IPv4 listener whole, both ends of the connection as bare inodes, seen
    expect(dropped).toHaveLength(2);
    expect(messages).toBeLessThan(200);
    for (const inode of dropped) expect(filtered.saw).toContain(inode);
  });

  it('leave connections to a later dump that still finds those held here and those passed from another namespace', async () => {
    const here = await world.hold([{ kind: 'tcp4', port: 2401 }, { kind: 'tcp4-conn', port: 2401 }], 'connholder');
    pids.push(here.pid);
    const passer = await world.spawn(['python3', join(__dirname, '..', 'helpers', 'conn-passer.py'), '2402']);
    pids.push(passer.pid);
    const [, , child] = passer.ready.split(' ').map(Number);
    const collect = (env: Record<string, string>) => world.run([process.execPath, join(__dirname, '..', 'helpers', 'collect-recorded.mjs')], { env });
    const [netlink, text] = [await collect({}), await collect({ LSM_NETLINK: 'off' })];
    expect(netlink.stderr).toBe('');
    const sockets = JSON.parse(netlink.stdout);
    // no connection taken for a socket in no table
    expect(sockets.filter((s: { kind: string }) => s.kind === 'unattributed')).toEqual([]);
    const listener = sockets.find((s: { local: string }) => s.local === '127.0.0.1:2402');
    expect(listener).toMatchObject({ kind: 'tcp', state: 'LISTEN', owners: [child] });
    expect(listener.netns).not.toBe(sockets.find((s: { local: string }) => s.local === '127.0.0.1:2401').netns);
    // the same as the /proc text, which reads every state at once
    expect(sockets).toEqual(JSON.parse(text.stdout));
  });

  it('close every namespace fd a look at strays was handed, also when an earlier stray changed meanwhile', async () => {
    const churn = await world.spawn(['python3', join(__dirname, '..', 'helpers', 'nsfd-churn.py')]);
    pids.push(churn.pid);
    const r = await world.run([process.execPath, join(__dirname, '..', 'helpers', 'collect-fds.mjs'), '8']);
    expect([r.stderr, r.stdout.trim()]).toEqual(['', '0']);
  });
});
