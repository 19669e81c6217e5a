// Issue 9, pod labels with a real process: a holder placed in a cgroup of the form the kubelet
// makes (kubepods-*-pod<uid>.slice/cri-containerd-<id>.scope), alone in a network namespace of
// its own, is found through /proc/<pid>/cgroup and labelled from containerd-style runtime state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, ROOT, World } from '../helpers/world.js';

/** Where a cgroup v2 hierarchy is mounted (else a v1 one's), or null. */
function cgroupRoot(): string | null {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => {
    const f = l.split(' ');
    const dash = f.indexOf('-');
    return { point: f[4], type: f[dash + 1], options: f[dash + 3] ?? '' };
  });
  return mounts.find((m) => m.type === 'cgroup2')?.point ?? mounts.find((m) => m.type === 'cgroup' && m.options.split(',').includes('pids'))?.point ?? null;
}

describe('a real process in a pod-shaped cgroup', () => {
  let world: World;
  const base = cgroupRoot();
  const top = base && join(base, `lsm-test-${process.pid}-${randomBytes(3).toString('hex')}`);
  const uid = randomUUID();
  const id = randomBytes(32).toString('hex');
  const scope = top && join(top, 'kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice`, `cri-containerd-${id}.scope`);
  const state = mkdtempSync(join(tmpdir(), 'lsm-pod-'));
  beforeAll(async () => {
    world = await World.start();
    if (scope) mkdirSync(scope, { recursive: true });
  });
  afterAll(async () => {
    await world?.stop();
    // the cgroups go once empty (the holder was killed with the world), leaf first
    for (let dir = scope, i = 0; dir && top && dir.startsWith(top) && i < 6; dir = join(dir, '..'), i++) {
      for (let tries = 0; tries < 50 && existsSync(dir); tries++) {
        try { rmdirSync(dir); } catch { await new Promise((r) => setTimeout(r, 100)); }
      }
    }
    rmSync(state, { recursive: true, force: true });
  });

  it.skipIf(!scope)('is labelled pod/<namespace>/<pod>/<container>, its container id on the owner', async () => {
    const bundle = join(state, 'task', 'k8s.io', id);
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.1.0', annotations: {
      'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.container-name': 'api',
      'io.kubernetes.cri.sandbox-name': 'orders-0', 'io.kubernetes.cri.sandbox-namespace': 'shop',
    } }));
    const spec = JSON.stringify({ comm: 'api', sockets: [{ kind: 'tcp4', addr: '0.0.0.0', port: 8443 }] });
    // into the cgroup first, then a network namespace of its own, then the sockets
    const h = await world.spawn(['sh', '-c', `echo $$ > '${scope}/cgroup.procs' && exec unshare --net python3 '${HOLDER}' '${spec}'`]);
    const script = `
      const { collect } = await import(${JSON.stringify(join(ROOT, 'dist', 'collect', 'index.js'))});
      const c = collect({ containerDirs: { docker: '/nonexistent', podman: '/nonexistent', containerd: ${JSON.stringify(join(state, 'task'))}, crio: '/nonexistent' } });
      const s = c.sockets.find((x) => x.kind === 'tcp' && x.localPort === 8443 && x.owners.some((o) => o.pid === ${h.pid}));
      console.log(JSON.stringify({ label: c.namespaces.find((n) => n.inode === s?.netns)?.label, containers: s?.owners.map((o) => o.container) }));`;
    const r = await world.run([process.execPath, '--input-type=module', '-e', script]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(readFileSync(`/proc/self/cgroup`, 'utf8')).not.toContain(id); // (the test itself is elsewhere)
    expect(JSON.parse(r.stdout)).toEqual({ label: 'pod/shop/orders-0/api', containers: [id.slice(0, 12)] });
    await world.kill(h.pid);
  });
});
