// A unix socket's path is the text bind() was given, resolved in the binder's mount namespace. In a
// mount namespace of their own (runuser -u nobody, unshare -rm: no privilege) a user mounts a tmpfs
// at /run and binds /run/dbus/system_bus_socket: `ss -xlp` and lsm showed it as the system bus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], { encoding: 'utf8' });
const listen = (path: string) => `import socket, time
s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)}); s.listen(); print("ready", flush=True); time.sleep(300)`;

describe('unix socket paths', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-paths-'));
    chmodSync(tmp, 0o755);
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  it("a path bound in a user's own mount namespace is not taken for the host's; root's private mounts keep theirs", async () => {
    const forged = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-rm', 'sh', '-c',
      `mount -t tmpfs none /run && mkdir -p /run/dbus && exec python3 -c '${listen('/run/dbus/system_bus_socket')}'`]);
    pids.push(forged.pid);
    // root's: one in the host's mount namespace, one in a private mount namespace (as systemd's PrivateTmp)
    const real = await world.spawn(['python3', '-c', listen(join(tmp, 'real.sock'))]);
    pids.push(real.pid);
    const priv = await world.spawn(['unshare', '-m', 'sh', '-c', `mount -t tmpfs none ${tmp} && exec python3 -c '${listen(join(tmp, 'private.sock'))}'`]);
    pids.push(priv.pid);
    expect((await world.run(['ss', '-xlH'])).stdout).toMatch(/\/run\/dbus\/system_bus_socket /);
    const repo = join(tmp, 'repo');
    const r = await world.lsm(['scan', '--repo', repo]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const unix = git(repo, 'show', 'HEAD:host/unix');
    expect(unix).toMatch(/^\/run\/dbus\/system_bus_socket\\x20\(not\\x20at\\x20this\\x20path\)  stream  python3  nobody  \/\S+$/m);
    expect(unix).not.toMatch(/^\/run\/dbus\/system_bus_socket  /m);
    expect(unix).toContain(`${join(tmp, 'real.sock')}  stream  python3  root  `);
    expect(unix).toContain(`${join(tmp, 'private.sock')}  stream  python3  root  `);
  });
});
