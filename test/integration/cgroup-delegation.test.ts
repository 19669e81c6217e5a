// Issue 18.1 on real cgroups: a cgroup subtree given to a user (as systemd's delegation does), in
// which that user makes `docker-<id of a running container>.scope` and `lxc.payload.<name>` and moves
// processes of its own namespaces into them. The real container (a cgroup root made) keeps its label;
// the user's processes are no container. cgroup v1's pids hierarchy, where this machine lets a test
// make and chown a cgroup directory (checked first: skipped with the reason where it cannot).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const PIDS = '/sys/fs/cgroup/pids';
const writable = (() => { try { const d = `${PIDS}/lsm-probe-${process.pid}`; mkdirSync(d); rmdirSync(d); return true; } catch { return false; } })();

describe.skipIf(!writable)(`a user's delegated cgroups on a real hierarchy (${PIDS}: needs a writable cgroup v1 pids hierarchy)`, () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  const id = `${process.pid.toString(16).padStart(8, '0')}${'c'.repeat(56)}`; // a 64-hex container id
  const real = `${PIDS}/docker-${id}.scope`; // root's: the running container
  const delegated = `${PIDS}/lsm-user-${process.pid}`; // given to nobody
  const lxcName = `web${process.pid}`;
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-deleg-'));
    world.defaults = { LSM_CONFIG: testConfig(join(tmp, 'etc'), { SENDMAIL: fakeSendmail(tmp).path, USER: 'admin@example.org' }) };
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    // a cgroup can go once its processes have: bounded retries
    for (const dir of [`${delegated}/docker-${id}.scope`, `${delegated}/lxc.payload.${lxcName}`, delegated, real]) {
      for (let i = 0; i < 50; i++) { if ((await world.run(['sh', '-c', `[ ! -d '${dir}' ] || rmdir '${dir}'`])).code === 0) break; await new Promise((r) => setTimeout(r, 100)); }
    }
    await world?.stop();
  });

  const holder = (port: number, comm: string) => JSON.stringify({ comm, sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port }] });
  const sh = async (script: string, user?: string) => {
    const r = await world.run(user ? ['runuser', '-u', user, '--', 'sh', '-c', script] : ['sh', '-c', script]);
    expect([script, r.code, r.stderr]).toEqual([script, 0, '']);
  };

  it("the user's docker-<id>.scope and lxc.payload.<name> give no container identity; the real container keeps its label", async () => {
    // the real container: root's cgroup, its own namespace
    const container = await world.spawn(['unshare', '-n', 'python3', HOLDER, holder(7401, 'nginx')]);
    pids.push(container.pid);
    await sh(`mkdir ${real} && echo ${container.pid} > ${real}/cgroup.procs`);
    // delegation: a subtree the user owns; in it, the user's own names and processes (namespaces of its own)
    await sh(`mkdir ${delegated} && chown -R nobody ${delegated}`);
    const docker = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-rn', 'python3', HOLDER, holder(7402, 'evil-docker')]);
    const lxc = await world.spawn(['runuser', '-u', 'nobody', '--', 'unshare', '-rn', 'python3', HOLDER, holder(7403, 'evil-lxc')]);
    pids.push(docker.pid, lxc.pid);
    const [dockerPid, lxcPid] = [docker, lxc].map((p) => p.ready.trim().split(' ')[1]); // the holder's own pid (runuser forks)
    await sh(`mkdir ${delegated}/docker-${id}.scope && echo ${dockerPid} > ${delegated}/docker-${id}.scope/cgroup.procs`, 'nobody');
    await sh(`mkdir ${delegated}/lxc.payload.${lxcName} && echo ${lxcPid} > ${delegated}/lxc.payload.${lxcName}/cgroup.procs`, 'nobody');

    const status = await world.lsm(['status', '--json', '--repo', join(tmp, 'repo')]);
    expect([status.code, status.stderr]).toEqual([0, '']);
    const sockets = (JSON.parse(status.stdout) as { sockets: { namespace: string; port: number; owners: { container: string | null }[] }[] }).sockets;
    const at = (port: number) => sockets.find((s) => s.port === port)!;
    expect(at(7401)).toMatchObject({ namespace: id.slice(0, 12), owners: [{ container: id.slice(0, 12) }] });
    expect(at(7402)).toMatchObject({ owners: [{ container: null }] });
    expect(at(7402).namespace).toMatch(/^evil-docker-\d+$/);
    expect(at(7403)).toMatchObject({ owners: [{ container: null }] });
    expect(at(7403).namespace).toMatch(/^evil-lxc-\d+$/);
    const table = await world.lsm(['status', '--repo', join(tmp, 'repo')]);
    expect(table.stdout.split('\n').filter((l) => /:740[23] /.test(l) && l.includes('container='))).toEqual([]);
  }, 60_000);
});
