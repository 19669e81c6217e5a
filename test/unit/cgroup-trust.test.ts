// Issue 18.1: a container's label comes only from what users cannot write. The 'delegated' fixture:
// a running docker container, and in a user's delegated cgroup subtree (systemd's user@1000.service)
// three processes of that user claiming the container's id, an LXC name, and, through a cgroup name
// holding a newline, a forged line naming the container's real cgroup. Git keeps no owners: each
// test copies the tree and gives the user's subtree to uid 1000, as systemd's delegation does.
import { describe, expect, it } from 'vitest';
import { chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../../src/collect/index.js';
import { buildSnapshot } from '../../src/snapshot/index.js';
import { FIXTURES } from './fixtures.js';

const ID = '3f4e5d6c7b8a' + '0'.repeat(52);
const USER_TREE = 'sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service';

const chownTree = (p: string, uid: number) => {
  chownSync(p, uid, uid);
  if (lstatSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(join(p, e), uid);
};

/** The fixture copied, the user's subtree given to `owner` (1000: delegated; 0: as if root had made it), then `edit`. */
function tree(owner = 1000, edit: (root: string) => void = () => {}) {
  const root = mkdtempSync(join(tmpdir(), 'lsm-delegated-'));
  cpSync(join(FIXTURES, 'delegated'), root, { recursive: true, verbatimSymlinks: true });
  chownTree(join(root, USER_TREE), owner);
  edit(root);
  // the docker container's name, from its root-owned state
  const docker = join(root, 'var', 'lib', 'docker');
  mkdirSync(join(docker, 'containers', ID), { recursive: true });
  writeFileSync(join(docker, 'containers', ID, 'config.v2.json'), JSON.stringify({ ID, Name: '/shop-web-1' }));
  return collect({
    procRoot: join(root, 'proc'), passwdPath: join(root, 'etc', 'passwd'), netnsDir: join(root, 'run', 'netns'),
    containerDirs: { docker, podman: join(root, 'none') },
  });
}
const labels = (c: ReturnType<typeof collect>) => c.namespaces.map((n) => n.label);
const containerOf = (c: ReturnType<typeof collect>, port: number) => c.sockets.find((s) => s.localPort === port)!.owners.map((o) => o.container);

describe("a user's delegated cgroups give no container identity", () => {
  it("claims of a running container's id, an LXC name and a forged line: the container keeps its label, the user's processes are no container", () => {
    const c = tree();
    expect(labels(c)).toEqual(['host', 'shop-web-1', 'evil-docker-4026532800', 'evil-lxc-4026532810', 'evil-forge-4026532820', 'shop-web-1-4026532830']);
    expect(containerOf(c, 80)).toEqual(['3f4e5d6c7b8a']);
    for (const port of [8080, 8081, 8082]) expect(containerOf(c, port)).toEqual([null]);
    const files = [...buildSnapshot(c).keys()];
    expect(files).toContain('netns/shop-web-1/tcp');
    expect(files.filter((f) => /^netns\/(lxc-|shop-web-1-4026532[5-7]|3f4e5d6c7b8a)/.test(f))).toEqual([]);
  });

  it("a namespace a process of the container made itself takes '-<inode>'; the container's own (its oldest process's) keeps the label", () => {
    const c = tree();
    expect(c.namespaces.find((n) => n.inode === 4026532500)!.label).toBe('shop-web-1');
    expect(c.namespaces.find((n) => n.inode === 4026532830)!.label).toBe('shop-web-1-4026532830');
    expect(containerOf(c, 8090)).toEqual(['3f4e5d6c7b8a']);
  });

  it('the same directories made by root are believed (the check is who owns them), except the forged line', () => {
    const c = tree(0);
    expect(containerOf(c, 8080)).toEqual(['3f4e5d6c7b8a']);
    expect(containerOf(c, 8081)).toEqual(['lxc-web01']);
    expect(containerOf(c, 8082)).toEqual([null]); // its cgroup.procs is not the container's
  });

  it('a user-owned directory anywhere above, a link on the way, or no directory at all: no identity', () => {
    const system = (root: string) => join(root, 'sys', 'fs', 'cgroup', 'system.slice');
    const cases: ((root: string) => void)[] = [
      (root) => chownSync(system(root), 1000, 1000),
      (root) => chownSync(join(system(root), `docker-${ID}.scope`), 1000, 1000),
      (root) => { renameSync(system(root), join(root, 'sys', 'fs', 'cgroup', 'real.slice')); symlinkSync('real.slice', system(root)); },
      (root) => renameSync(system(root), join(root, 'sys', 'fs', 'cgroup', 'gone.slice')),
      (root) => writeFileSync(join(system(root), `docker-${ID}.scope`, 'cgroup.procs'), '1\n'),
    ];
    for (const [i, edit] of cases.entries()) {
      const c = tree(1000, edit);
      expect([i, containerOf(c, 80)]).toEqual([i, [null]]);
      expect([i, labels(c)[1]]).toEqual([i, 'nginx-4026532500']);
    }
  });
});
