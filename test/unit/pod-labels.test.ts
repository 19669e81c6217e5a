// Issue 9, less noise: a Kubernetes pod's namespace is labelled pod/<namespace>/<pod>[/<container>]
// from its runtime's state (containerd's task bundles, CRI-O's run root), found through the
// kubelet's cgroup paths; the container ids stay on the owners (status, mail). The runtime state
// is hostile input: anything but what Kubernetes allows, in files only root could have written,
// keeps the old label.
import { describe, expect, it } from 'vitest';
import { chmodSync, chownSync, cpSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../../src/collect/index.js';
import { containerFromCgroup } from '../../src/collect/processes.js';
import { buildSnapshot } from '../../src/snapshot/index.js';
import { FIXTURES } from './fixtures.js';

const ROOT = join(FIXTURES, 'k8s');
const SANDBOX_A = 'a1'.repeat(32);
const APP_A = 'a2'.repeat(32);
const APP_B1 = 'b1'.repeat(32);
const CNI = 'cni-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';

/** The fixture's runtime state copied where only root may write (as /run is), changed by `edit`. */
function runtimeState(edit: (run: string) => void = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-k8s-'));
  cpSync(join(ROOT, 'run'), join(dir, 'run'), { recursive: true });
  edit(join(dir, 'run'));
  return {
    docker: join(dir, 'none'), podman: join(dir, 'none'),
    containerd: join(dir, 'run', 'containerd', 'io.containerd.runtime.v2.task'), crio: join(dir, 'run', 'containers', 'storage'),
  };
}
const scan = (dirs: ReturnType<typeof runtimeState>) =>
  collect({ procRoot: join(ROOT, 'proc'), passwdPath: join(ROOT, 'etc', 'passwd'), netnsDir: join(ROOT, 'run', 'netns'), containerDirs: dirs });
const labels = (dirs: ReturnType<typeof runtimeState>) => scan(dirs).namespaces.map((n) => n.label);
const bundle = (run: string, id: string) => join(run, 'containerd', 'io.containerd.runtime.v2.task', 'k8s.io', id);
const annotate = (run: string, id: string, change: (a: Record<string, unknown>) => void) => {
  const file = join(bundle(run, id), 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  change(config.annotations);
  writeFileSync(file, JSON.stringify(config));
};

describe('pod labels', () => {
  it("the kubelet's cgroup paths name the container (systemd and cgroupfs drivers, containerd and CRI-O)", () => {
    const slice = '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c3d4e_5f60_4a7b_8c9d_0e1f2a3b4c5d.slice';
    expect(containerFromCgroup(`0::${slice}/cri-containerd-${APP_A}.scope\n`)).toBe(APP_A.slice(0, 12));
    expect(containerFromCgroup(`0::${slice}/crio-${APP_B1}.scope\n`)).toBe(APP_B1.slice(0, 12));
    expect(containerFromCgroup(`4:memory:/kubepods/besteffort/pod1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d/${APP_A}\n`)).toBe(APP_A.slice(0, 12));
  });

  it('labels a pod by namespace, pod and its one container, or namespace and pod; ids stay on the owners', () => {
    const c = scan(runtimeState());
    // pod A's namespace is also bound at /run/netns/cni-<uuid>: a name the runtime made up, the pod's own wins
    expect(c.namespaces.map((n) => n.label)).toEqual(['host', 'pod/shop/web-0/nginx', 'pod/kube-system/cache-5d8f7c9b6-x2x9z']);
    expect(c.sockets.find((s) => s.inode === 9700)!.owners.map((o) => o.container)).toEqual([APP_A.slice(0, 12)]);
    expect(c.sockets.find((s) => s.inode === 9711)!.owners.map((o) => o.container)).toEqual(['b2'.repeat(6)]);
    const files = [...buildSnapshot(c).keys()];
    expect(files).toContain('netns/pod%x2fshop%x2fweb-0%x2fnginx/tcp'); // escaped, one directory, reversible
    expect(files).toContain('netns/pod%x2fkube-system%x2fcache-5d8f7c9b6-x2x9z/tcp');
  });

  it('without the runtime state: the cni name, else the first process (as before)', () => {
    expect(labels(runtimeState((run) => rmSync(run, { recursive: true })))).toEqual(['host', CNI, 'pause-4026532710']);
  });

  it('hostile or broken runtime state keeps the old label', () => {
    const hostile: ((run: string) => void)[] = [
      // names Kubernetes never allows: a line break and a forged column, a slash, upper case, too long, not a string
      (run) => annotate(run, APP_A, (a) => { a['io.kubernetes.cri.container-name'] = 'nginx\n0.0.0.0:22  sshd'; }),
      (run) => annotate(run, APP_A, (a) => { a['io.kubernetes.cri.container-name'] = '../../etc'; }),
      (run) => annotate(run, SANDBOX_A, (a) => { a['io.kubernetes.cri.sandbox-namespace'] = 'Shop'; }),
      (run) => { for (const id of [SANDBOX_A, APP_A]) annotate(run, id, (a) => { a['io.kubernetes.cri.sandbox-name'] = 'w'.repeat(254); }); },
      (run) => annotate(run, APP_A, (a) => { a['io.kubernetes.cri.container-name'] = ['nginx']; }),
      (run) => annotate(run, APP_A, (a) => { a['io.kubernetes.cri.container-name'] = 'nginx\u202e'; }),
      // the sandbox and the container disagree on the pod
      (run) => annotate(run, APP_A, (a) => { a['io.kubernetes.cri.sandbox-name'] = 'other-0'; }),
      // a symlink instead of the file; the bundle a user's symlink; not root's; writable by others; too big
      (run) => { const f = join(bundle(run, APP_A), 'config.json'); renameSync(f, `${f}.real`); symlinkSync(`${f}.real`, f); },
      (run) => { const d = bundle(run, APP_A); renameSync(d, `${d}.real`); symlinkSync(`${d}.real`, d); lchownSync(d, 1000, 1000); },
      (run) => chownSync(join(bundle(run, APP_A), 'config.json'), 1000, 1000),
      (run) => chownSync(bundle(run, APP_A), 1000, 1000),
      (run) => chmodSync(bundle(run, APP_A), 0o777),
      (run) => chmodSync(join(run, 'containerd', 'io.containerd.runtime.v2.task', 'k8s.io'), 0o777),
      (run) => annotate(run, APP_A, (a) => { a.pad = 'x'.repeat(5 << 20); }),
      // broken: cut short, not JSON, no annotations, two bundles the short id could mean
      (run) => writeFileSync(join(bundle(run, APP_A), 'config.json'), '{"annotations": {"io.kubernetes.cri.sandbox-name": "web-0"'),
      (run) => writeFileSync(join(bundle(run, APP_A), 'config.json'), ''),
      (run) => writeFileSync(join(bundle(run, APP_A), 'config.json'), '{"ociVersion": "1.1.0"}'),
      (run) => cpSync(bundle(run, APP_A), bundle(run, APP_A.slice(0, 12) + 'f'.repeat(52)), { recursive: true }),
      (run) => { rmSync(join(bundle(run, APP_A), 'config.json')); mkdirSync(join(bundle(run, APP_A), 'config.json')); },
    ];
    for (const [i, edit] of hostile.entries()) expect([i, labels(runtimeState(edit))[1]]).toEqual([i, CNI]);
    // CRI-O's side alike
    const crio = (run: string) => join(run, 'containers', 'storage', 'overlay-containers', APP_B1, 'userdata', 'config.json');
    expect(labels(runtimeState((run) => writeFileSync(crio(run), JSON.stringify({ annotations: { 'io.kubernetes.pod.name': 'cache\u0007', 'io.kubernetes.pod.namespace': 'kube-system', 'io.kubernetes.container.name': 'redis' } }))))[2]).toBe('pause-4026532710');
    expect(labels(runtimeState((run) => chownSync(crio(run), 65534, 65534)))[2]).toBe('pause-4026532710');
  });
});
