// vsock sockets: no table lsm reads lists them (vsock_diag, their sock_diag module, is often not
// built: CONFIG_VSOCKETS_DIAG), and their ports are one space for the whole host, whatever network
// namespace made them (a listener on a port in one namespace makes EADDRINUSE in every other). Each
// listener is looked at through a copy of its holder's fd (getsockname): its own line in
// host/unattributed with CID, port and owner, so a second listener on a new port is a change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });
// vsock ports are the machine's, shared with every other test run: a range of this run's own
const BASE = 20000 + (process.pid % 2000) * 10;
const listener = (comm: string, ports: number[]) => `
import select, socket, sys
with open('/proc/self/comm', 'w') as f: f.write('${comm}')
held = []
for port in ${JSON.stringify(ports)}:
    v = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    v.bind((socket.VMADDR_CID_ANY, port))
    if port % 10 != 9: v.listen(1)
    held.append(v)
u = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)  # never bound: nothing to reach
print('ready', flush=True)
select.select([sys.stdin], [], [], 300)
`;

describe('vsock listeners', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  let unavailable = '';
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-vsock-'));
    const probe = await world.run(['python3', '-c', 'import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)']);
    if (probe.code !== 0) unavailable = probe.stderr.trim().split('\n').pop() ?? 'no AF_VSOCK';
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it('each listener is a line of its own with its port and owner; one in another namespace is in host/, a second one alerts', async (ctx) => {
    if (unavailable !== '') { console.warn(`vsock test SKIPPED: ${unavailable}`); ctx.skip(); }
    const a = await world.spawn(['python3', '-c', listener('vmhost', [BASE + 1, BASE + 9])]);
    pids.push(a.pid);
    // a listener made in a network namespace of its own, as a user can with unshare -rn
    const b = await world.spawn(['unshare', '-n', 'python3', '-c', listener('guestd', [BASE + 2])]);
    pids.push(b.pid);
    const repo = join(tmp, 'repo');
    const first = await world.lsm(['-g', '--repo', repo]);
    expect([first.code, first.stderr]).toEqual([0, '']);
    expect(git(repo, 'show', 'HEAD:host/unattributed').split('\n').filter((l) => l.startsWith('vsock'))).toEqual([
      expect.stringMatching(/^vsock\/stream  guestd  root  \/\S+$/), // the unbound ones: one line a program
      expect.stringMatching(/^vsock\/stream  vmhost  root  \/\S+$/),
      expect.stringMatching(new RegExp(`^vsock/stream/\\*:${BASE + 1}  vmhost  root  /\\S+$`)),
      expect.stringMatching(new RegExp(`^vsock/stream/\\*:${BASE + 2}  guestd  root  /\\S+$`)),
      expect.stringMatching(new RegExp(`^vsock/stream/\\*:${BASE + 9}/bound  vmhost  root  /\\S+$`)),
    ]);
    expect(git(repo, 'ls-tree', '-r', '--name-only', 'HEAD')).not.toMatch(/^netns\//m);
    // a second listener on a new port is a change
    const c = await world.spawn(['python3', '-c', listener('vmhost', [BASE + 3])]);
    pids.push(c.pid);
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    expect((await world.lsm(['scan', '--repo', repo])).code).toBe(0);
    expect(git(repo, 'rev-parse', 'HEAD').trim()).not.toBe(head);
    expect(git(repo, 'diff', '--stat', head, 'HEAD')).toMatch(/host\/unattributed \| 1 \+\n/);
    expect(git(repo, 'show', 'HEAD:host/unattributed')).toMatch(new RegExp(`^vsock/stream/\\*:${BASE + 3}  vmhost  root  /\\S+$`, 'm'));
  });
});
