// Hostile review of issue 18.1 on real cgroups: in a subtree delegated to a user (as systemd's
// Delegate= gives one), every container claim lsm reads from a cgroup path is forged by that user:
// cgroupfs kubepods/<pod>/<id>, systemd's kubepods-*.slice/cri-containerd-<id>.scope, crio-,
// libpod-, lxc/<name>, and the real container's own id. None gives a container identity, and the
// real container keeps its label. (A name with a newline, which would imitate a second line of
// /proc/<pid>/cgroup, is refused by the kernel: EINVAL.) cgroup v1's pids hierarchy, as cgroup-delegation.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const PIDS = '/sys/fs/cgroup/pids';
const writable = (() => { try { const d = `${PIDS}/lsm-probe-${process.pid}`; mkdirSync(d); rmdirSync(d); return true; } catch { return false; } })();

describe.skipIf(!writable)(`forged container cgroups in a user's delegated subtree (${PIDS})`, () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  const hex = (c: string) => `${process.pid.toString(16).padStart(8, '0')}${c.repeat(56)}`;
  const realId = hex('d');
  const real = `${PIDS}/docker-${realId}.scope`;
  const delegated = `${PIDS}/lsm-hostile-${process.pid}`;
  // each forged claim: the directories the user makes, the process goes into the last
  const forged: Record<string, string[]> = {
    kubepods: ['kubepods', 'kubepods/besteffort', `kubepods/besteffort/pod${process.pid}`, `kubepods/besteffort/pod${process.pid}/${hex('e')}`],
    systemd: [`kubepods-besteffort-pod${process.pid}.slice`, `kubepods-besteffort-pod${process.pid}.slice/cri-containerd-${hex('f')}.scope`],
    crio: [`crio-${hex('a')}.scope`],
    libpod: [`libpod-${hex('b')}.scope`],
    lxc: ['lxc', `lxc/web${process.pid}`],
    // a name claiming the real container's id in a directory of the user's (no newline: the kernel refuses one in a cgroup's name)
    twin: [`docker-${realId}.scope`],
  };
  const made: string[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-hostile-cg-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    for (const dir of [...made.reverse(), delegated, real]) {
      for (let i = 0; i < 50; i++) { if ((await world.run(['sh', '-c', '[ ! -d "$1" ] || rmdir "$1"', 'rm', dir])).code === 0) break; await new Promise((r) => setTimeout(r, 100)); }
    }
    await world?.stop();
  });

  const holder = (port: number, comm: string) => JSON.stringify({ comm, sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port }] });
  const sh = async (user: string | null, script: string, ...args: string[]) => {
    const argv = ['sh', '-c', script, 'sh', ...args];
    const r = await world.run(user ? ['runuser', '-u', user, '--', ...argv] : argv);
    expect([script, args, r.code, r.stderr]).toEqual([script, args, 0, '']);
  };

  it('no forged claim names a container; the real one keeps its label', async () => {
    const container = await world.spawn(['unshare', '-n', 'python3', HOLDER, holder(7411, 'nginx')]);
    pids.push(container.pid);
    await sh(null, 'mkdir "$1" && echo "$2" > "$1/cgroup.procs"', real, String(container.pid));
    await sh(null, 'mkdir "$1" && chown nobody "$1"', delegated);
    const ports = new Map<string, number>();
    let port = 7412;
    for (const [name, dirs] of Object.entries(forged)) {
      const p = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-rn', 'python3', HOLDER, holder(port, `evil-${name}`)]);
      pids.push(p.pid);
      const pid = p.ready.trim().split(' ')[1]; // the holder's own pid (runuser forks)
      for (const dir of dirs) { made.push(`${delegated}/${dir}`); await sh('nobody', 'mkdir "$1"', `${delegated}/${dir}`); }
      await sh('nobody', 'echo "$2" > "$1/cgroup.procs"', `${delegated}/${dirs[dirs.length - 1]}`, pid);
      ports.set(name, port++);
    }
    const status = await world.lsm(['status', '--json', '--repo', join(tmp, 'repo')]);
    expect([status.code, status.stderr]).toEqual([0, '']);
    const sockets = (JSON.parse(status.stdout) as { sockets: { namespace: string; port: number; owners: { container: string | null }[] }[] }).sockets;
    const at = (p: number) => sockets.find((s) => s.port === p)!;
    expect(at(7411)).toMatchObject({ namespace: realId.slice(0, 12), owners: [{ container: realId.slice(0, 12) }] });
    for (const [name, p] of ports) {
      expect([name, at(p).owners[0].container]).toEqual([name, null]);
      expect([name, at(p).namespace]).toEqual([name, expect.stringMatching(new RegExp(`^evil-${name}-\\d+$`))]);
    }
  }, 90_000);
});
