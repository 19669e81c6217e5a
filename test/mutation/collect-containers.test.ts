// Container names from the runtimes' state on disk (src/collect/containers.ts), through the
// resolver itself: real directories and files in the layouts docker, podman, containerd and
// CRI-O use, made by root under a fresh temp directory, then made hostile one thing at a time.
// Whatever is not exactly what the runtime itself would have written keeps the id (null).
import { describe, expect, it } from 'vitest';
import { chownSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerNames, DEFAULT_CONTAINER_DIRS, type ContainerDirs } from '../../src/collect/containers.js';

const ID = '3f4e5d6c7b8a' + '0'.repeat(52);
const SHORT = ID.slice(0, 12);

function dirs(): ContainerDirs & { containerd: string; crio: string } {
  const root = mkdtempSync(join(tmpdir(), 'lsm-runtimes-'));
  return { docker: join(root, 'docker'), podman: join(root, 'podman'), containerd: join(root, 'containerd'), crio: join(root, 'crio') };
}
function docker(d: ContainerDirs, id: string, config: unknown): string {
  const dir = join(d.docker, 'containers', id);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'config.v2.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}
function podman(d: ContainerDirs, list: unknown): void {
  mkdirSync(join(d.podman, 'overlay-containers'), { recursive: true });
  writeFileSync(join(d.podman, 'overlay-containers', 'containers.json'), typeof list === 'string' ? list : JSON.stringify(list));
}
const CD = { ns: 'io.kubernetes.cri.sandbox-namespace', pod: 'io.kubernetes.cri.sandbox-name', c: 'io.kubernetes.cri.container-name', type: 'io.kubernetes.cri.container-type' };
const CRIO = { ns: 'io.kubernetes.pod.namespace', pod: 'io.kubernetes.pod.name', c: 'io.kubernetes.container.name', type: 'io.kubernetes.cri-o.ContainerType' };
function containerd(d: { containerd: string }, id: string, annotations: unknown): string {
  const dir = join(d.containerd, 'k8s.io', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations }));
  return dir;
}
function crio(d: { crio: string }, id: string, annotations: unknown): string {
  const dir = join(d.crio, 'overlay-containers', id, 'userdata');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ annotations }));
  return dir;
}
const name = (d: ContainerDirs, id = SHORT) => containerNames(d)(id);

describe('docker', () => {
  it("names a container by its config's Name, without docker's leading slash", () => {
    const d = dirs();
    docker(d, ID, { ID, Name: '/shop-web-1' });
    expect(name(d)).toEqual({ name: 'shop-web-1' });
    const e = dirs();
    docker(e, ID, { ID, Name: 'plain_name.v2-x' });
    expect(name(e)).toEqual({ name: 'plain_name.v2-x' });
  });

  it("a name as docker allows it: a letter or digit first, then letters, digits, '_', '.', '-', 128 at most", () => {
    const ok = ['a', '9', 'A.b_c-d', 'x'.repeat(128), '0' + 'y'.repeat(127)];
    const bad = ['', '/', '-a', '.a', '_a', 'a b', 'a/b', 'x'.repeat(129), 'é', 'a\nb', 'a\u0000', 'web\n0.0.0.0:22  sshd', '//a'];
    for (const n of ok) { const d = dirs(); docker(d, ID, { ID, Name: `/${n}` }); expect(name(d), n).toEqual({ name: n }); }
    for (const n of bad) { const d = dirs(); docker(d, ID, { ID, Name: `/${n}` }); expect(name(d), JSON.stringify(n)).toBeNull(); }
    for (const Name of [42, null, ['/a'], { a: 1 }, true]) { const d = dirs(); docker(d, ID, { ID, Name }); expect(name(d), JSON.stringify(Name)).toBeNull(); }
  });

  it('the config must be the one of that very id, a full id, unique for the short one', () => {
    const d = dirs();
    docker(d, ID, { ID: ID.toUpperCase(), Name: '/a' });
    expect(name(d)).toBeNull();
    const e = dirs();
    docker(e, ID, { Name: '/a' });
    expect(name(e)).toBeNull();
    // two full ids share the short one: ambiguous
    const f = dirs();
    docker(f, ID, { ID, Name: '/a' });
    docker(f, SHORT + '1'.repeat(52), { ID: SHORT + '1'.repeat(52), Name: '/b' });
    expect(name(f)).toBeNull();
    // directories that are no full id do not count, nor make it ambiguous
    const g = dirs();
    docker(g, ID, { ID, Name: '/a' });
    docker(g, ID + '0', { ID: ID + '0', Name: '/b' });
    docker(g, SHORT + 'A'.repeat(52), { ID: SHORT + 'A'.repeat(52), Name: '/c' });
    docker(g, SHORT, { ID: SHORT, Name: '/d' });
    expect(name(g)).toEqual({ name: 'a' });
    // a short id is 12 lower-case hex digits, nothing else is looked up
    for (const id of [SHORT.toUpperCase(), SHORT.slice(0, 11), SHORT + '0', ID, 'zzzzzzzzzzzz', '', `../${SHORT.slice(3)}`]) expect(name(g, id), id).toBeNull();
  });

  it('broken JSON, and a file that is not a regular file of root, at most 4 MiB, not reached through a link, keeps the id', () => {
    const cases: ((d: ContainerDirs) => void)[] = [
      (d) => docker(d, ID, '{"ID": "' + ID + '", "Name": '),
      (d) => docker(d, ID, ''),
      (d) => docker(d, ID, 'null'),
      (d) => { const f = docker(d, ID, { ID, Name: '/a' }); chownSync(f, 1000, 1000); },
      (d) => { const f = docker(d, ID, { ID, Name: '/a' }); chownSync(f, 0, 1000); chownSync(f, 1, 0); },
      (d) => { const dir = join(d.docker, 'containers', ID); mkdirSync(join(dir, 'config.v2.json'), { recursive: true }); },
      (d) => { const dir = join(d.docker, 'containers', ID); mkdirSync(dir, { recursive: true }); writeFileSync(join(dir, 'real.json'), JSON.stringify({ ID, Name: '/a' })); symlinkSync(join(dir, 'real.json'), join(dir, 'config.v2.json')); },
      (d) => docker(d, ID, JSON.stringify({ ID, Name: '/a', pad: '' }).replace('""', `"${'x'.repeat((4 << 20) - 35)}"`)),
      (d) => mkdirSync(d.docker, { recursive: true }), // no containers directory
    ];
    for (const [i, make] of cases.entries()) { const d = dirs(); make(d); expect(name(d), `case ${i}`).toBeNull(); }
  });

  it('a file of exactly 4 MiB is still read; a FIFO in its place is not waited on', () => {
    const d = dirs();
    const text = JSON.stringify({ ID, Name: '/big', pad: '' });
    docker(d, ID, text.replace('""', `"${'x'.repeat((4 << 20) - text.length)}"`));
    expect(name(d)).toEqual({ name: 'big' });
    const e = dirs();
    const dir = join(e.docker, 'containers', ID);
    mkdirSync(dir, { recursive: true });
    execFileSync('mkfifo', [join(dir, 'config.v2.json')]);
    expect(name(e)).toBeNull();
  });

  it("reads the runtime's state once per resolver, and remembers each answer", () => {
    const d = dirs();
    docker(d, ID, { ID, Name: '/first' });
    const resolve = containerNames(d);
    expect(resolve(SHORT)).toEqual({ name: 'first' });
    const other = 'aaaaaaaaaaaa' + '1'.repeat(52);
    docker(d, other, { ID: other, Name: '/second' }); // made after the listing was read
    docker(d, ID, { ID, Name: '/renamed' });
    expect(resolve(SHORT)).toEqual({ name: 'first' });
    expect(resolve('aaaaaaaaaaaa')).toBeNull();
    expect(containerNames(d)('aaaaaaaaaaaa')).toEqual({ name: 'second' }); // a new resolver sees it
  });
});

describe('podman', () => {
  it("names a container by the first of its names in containers.json", () => {
    const d = dirs();
    podman(d, [{ id: 'b'.repeat(64), names: ['other'] }, { id: ID, names: ['db', 'alias'] }]);
    expect(name(d)).toEqual({ name: 'db' });
    expect(name(d, 'bbbbbbbbbbbb')).toEqual({ name: 'other' });
    expect(name(d, 'cccccccccccc')).toBeNull();
  });

  it('entries that are not what podman writes are skipped; a list that is none gives nothing', () => {
    const d = dirs();
    podman(d, [null, 42, { id: ID }, { id: ID, names: 'db' }, { id: ID, names: [] }, { id: ID, names: ['-bad'] }, { id: ID.toUpperCase(), names: ['up'] },
      { id: 7, names: ['num'] }, { names: ['noid'] }, { id: 'c'.repeat(64), names: ['/ok'] }, { id: 'c'.repeat(63), names: ['short'] }]);
    const resolve = containerNames(d);
    expect(resolve(SHORT)).toBeNull();
    expect(resolve('cccccccccccc')).toEqual({ name: 'ok' });
    for (const list of ['{"id": 1}', '{', '"text"', JSON.stringify({ 0: { id: ID, names: ['db'] }, length: 1 })]) {
      const e = dirs();
      podman(e, list);
      expect(name(e), list).toBeNull();
    }
  });

  it('a short id that two entries share is ambiguous', () => {
    const d = dirs();
    podman(d, [{ id: ID, names: ['a'] }, { id: SHORT + 'f'.repeat(52), names: ['b'] }]);
    expect(name(d)).toBeNull();
  });

  it('docker is asked first, podman only when docker does not know the id', () => {
    const d = dirs();
    docker(d, ID, { ID, Name: '/from-docker' });
    podman(d, [{ id: ID, names: ['from-podman'] }, { id: 'd'.repeat(64), names: ['only-podman'] }]);
    const resolve = containerNames(d);
    expect(resolve(SHORT)).toEqual({ name: 'from-docker' });
    expect(resolve('dddddddddddd')).toEqual({ name: 'only-podman' });
  });
});

describe('Kubernetes: containerd and CRI-O bundles', () => {
  const appC = (ns = 'shop', pod = 'web-0', c = 'nginx') => ({ [CD.ns]: ns, [CD.pod]: pod, [CD.c]: c, [CD.type]: 'container' });

  it('a container of a pod: pod/<namespace>/<pod>/<container>; the sandbox: pod/<namespace>/<pod>', () => {
    const d = dirs();
    containerd(d, ID, appC());
    containerd(d, 'e'.repeat(64), { [CD.ns]: 'shop', [CD.pod]: 'web-0', [CD.type]: 'sandbox' });
    const resolve = containerNames(d);
    expect(resolve(SHORT)).toEqual({ name: 'pod/shop/web-0/nginx', pod: { namespace: 'shop', pod: 'web-0', container: 'nginx' } });
    expect(resolve('eeeeeeeeeeee')).toEqual({ name: 'pod/shop/web-0', pod: { namespace: 'shop', pod: 'web-0', container: null } });
  });

  it("CRI-O's keys and layout", () => {
    const d = dirs();
    crio(d, ID, { [CRIO.ns]: 'kube-system', [CRIO.pod]: 'cache-5d8f7c9b6-x2x9z', [CRIO.c]: 'redis', [CRIO.type]: 'container' });
    crio(d, 'e'.repeat(64), { [CRIO.ns]: 'kube-system', [CRIO.pod]: 'cache-5d8f7c9b6-x2x9z', [CRIO.type]: 'sandbox' });
    // containerd's keys in a CRI-O bundle are not CRI-O's
    crio(d, 'f'.repeat(64), appC());
    const resolve = containerNames(d);
    expect(resolve(SHORT)).toEqual({ name: 'pod/kube-system/cache-5d8f7c9b6-x2x9z/redis', pod: { namespace: 'kube-system', pod: 'cache-5d8f7c9b6-x2x9z', container: 'redis' } });
    expect(resolve('eeeeeeeeeeee')?.name).toBe('pod/kube-system/cache-5d8f7c9b6-x2x9z');
    expect(resolve('ffffffffffff')).toBeNull();
  });

  it('containerd is asked before CRI-O, both before docker', () => {
    const d = dirs();
    containerd(d, ID, appC('a', 'b', 'c'));
    crio(d, ID, { [CRIO.ns]: 'x', [CRIO.pod]: 'y', [CRIO.c]: 'z' });
    docker(d, ID, { ID, Name: '/docker' });
    expect(name(d)?.name).toBe('pod/a/b/c');
    const e = dirs();
    crio(e, ID, { [CRIO.ns]: 'x', [CRIO.pod]: 'y', [CRIO.c]: 'z' });
    docker(e, ID, { ID, Name: '/docker' });
    expect(name(e)?.name).toBe('pod/x/y/z');
    // a bundle that gives no name lets the next runtime answer
    const f = dirs();
    containerd(f, ID, { [CD.ns]: 'Bad' });
    docker(f, ID, { ID, Name: '/docker' });
    expect(name(f)?.name).toBe('docker');
    // no containerd or crio directory given: not looked for
    const g = dirs();
    containerd(g, ID, appC());
    docker(g, ID, { ID, Name: '/docker' });
    expect(containerNames({ docker: g.docker, podman: g.podman })(SHORT)?.name).toBe('docker');
    expect(containerNames({ docker: g.docker, podman: g.podman, containerd: '', crio: '' })(SHORT)?.name).toBe('docker');
  });

  it("names as Kubernetes allows them: DNS labels (63), a pod's DNS subdomain (253), nothing else", () => {
    const good: [string, string, string][] = [['a', 'b', 'c'], ['x'.repeat(63), 'p', 'c'.repeat(63)], ['0-9', 'a.b-c.d', 'a-1'], ['ns', 'p'.repeat(253), 'c'],
      ['ns', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, 'c']];
    for (const [ns, pod, c] of good) { const d = dirs(); containerd(d, ID, appC(ns, pod, c)); expect(name(d)?.name, `${ns} ${pod} ${c}`).toBe(`pod/${ns}/${pod}/${c}`); }
    const bad: [string, string, string][] = [
      ['x'.repeat(64), 'p', 'c'], ['-a', 'p', 'c'], ['a-', 'p', 'c'], ['A', 'p', 'c'], ['a.b', 'p', 'c'], ['', 'p', 'c'], ['a_b', 'p', 'c'], ['a\nb', 'p', 'c'],
      ['n', 'p'.repeat(254), 'c'], ['n', '-p', 'c'], ['n', 'p-', 'c'], ['n', 'a..b', 'c'], ['n', '.a', 'c'], ['n', 'a.', 'c'], ['n', 'a.-b', 'c'], ['n', 'a-.b', 'c'],
      ['n', 'P', 'c'], ['n', '', 'c'], ['n', 'a/b', 'c'], ['n', 'a\nb', 'c'],
      ['n', 'p', 'c'.repeat(64)], ['n', 'p', '-c'], ['n', 'p', 'c-'], ['n', 'p', 'C'], ['n', 'p', 'c.d'], ['n', 'p', ''], ['n', 'p', '../../etc'], ['n', 'p', 'nginx\n0.0.0.0:22'],
    ];
    for (const [ns, pod, c] of bad) { const d = dirs(); containerd(d, ID, appC(ns, pod, c)); expect(name(d), JSON.stringify([ns, pod, c])).toBeNull(); }
  });

  it('annotations that are missing or not strings give no name', () => {
    const cases: unknown[] = [undefined, null, 'text', 42, [], {}, { [CD.ns]: 'a' }, { [CD.pod]: 'b', [CD.c]: 'c' }, { [CD.ns]: 1, [CD.pod]: 'b', [CD.c]: 'c' },
      { [CD.ns]: 'a', [CD.pod]: ['b'], [CD.c]: 'c' }, { [CD.ns]: 'a', [CD.pod]: 'b' }, { [CD.ns]: 'a', [CD.pod]: 'b', [CD.c]: 3 }, { [CD.ns]: 'a', [CD.pod]: 'b', [CD.type]: 'Sandbox' }];
    for (const a of cases) { const d = dirs(); containerd(d, ID, a); expect(name(d), JSON.stringify(a)).toBeNull(); }
    // a config that is no object at all
    const d = dirs();
    const dir = containerd(d, ID, {});
    writeFileSync(join(dir, 'config.json'), 'null');
    expect(name(d)).toBeNull();
  });

  it('the bundle must be unique for the short id, and a directory only root could have made', () => {
    const d = dirs();
    containerd(d, ID, appC());
    containerd(d, SHORT + '9'.repeat(52), appC('a', 'b', 'c'));
    expect(name(d)).toBeNull();
    const e = dirs();
    const dir = containerd(e, ID, appC());
    chownSync(dir, 1000, 1000);
    expect(name(e)).toBeNull();
    const f = dirs();
    const cdir = crio(f, ID, { [CRIO.ns]: 'x', [CRIO.pod]: 'y', [CRIO.c]: 'z' });
    chownSync(join(cdir, 'config.json'), 1000, 0);
    expect(name(f)).toBeNull();
    // a bundle name that is no full id does not count
    const g = dirs();
    containerd(g, SHORT + 'X'.repeat(52), appC());
    expect(name(g)).toBeNull();
    // no k8s.io directory at all
    const h = dirs();
    mkdirSync(h.containerd, { recursive: true });
    expect(name(h)).toBeNull();
  });

  it("the runtimes' usual places are the defaults", () => {
    expect(DEFAULT_CONTAINER_DIRS).toEqual({
      docker: '/var/lib/docker', podman: '/var/lib/containers/storage',
      containerd: '/run/containerd/io.containerd.runtime.v2.task', crio: '/run/containers/storage',
    });
  });
});

describe('what the first run left alive (each checked against its mutant)', () => {
  const appC = { [CD.ns]: 'shop', [CD.pod]: 'web-0', [CD.c]: 'nginx', [CD.type]: 'container' };

  it("containerd's and CRI-O's listings and podman's containers.json are read once per resolver", () => {
    const d = dirs();
    containerd(d, ID, appC);
    podman(d, [{ id: 'b'.repeat(64), names: ['first'] }]);
    const resolve = containerNames(d);
    expect(resolve(SHORT)?.name).toBe('pod/shop/web-0/nginx');
    expect(resolve('bbbbbbbbbbbb')).toEqual({ name: 'first' });
    // made after the first look: this resolver does not see them, a new one does
    containerd(d, 'a'.repeat(64), appC);
    crio(d, 'c'.repeat(64), { [CRIO.ns]: 'x', [CRIO.pod]: 'y', [CRIO.c]: 'z' });
    podman(d, [{ id: 'b'.repeat(64), names: ['first'] }, { id: 'd'.repeat(64), names: ['later'] }]);
    expect(resolve('aaaaaaaaaaaa')).toBeNull();
    expect(resolve('cccccccccccc')).toBeNull();
    expect(resolve('dddddddddddd')).toBeNull();
    const again = containerNames(d);
    expect(again('aaaaaaaaaaaa')?.name).toBe('pod/shop/web-0/nginx');
    expect(again('cccccccccccc')?.name).toBe('pod/x/y/z');
    expect(again('dddddddddddd')).toEqual({ name: 'later' });
  });

  it('no bundle for the id is no name, whatever else the directory holds (an entry named "null")', () => {
    const d = dirs();
    containerd(d, 'null', appC);
    crio(d, 'null', { [CRIO.ns]: 'x', [CRIO.pod]: 'y', [CRIO.c]: 'z' });
    expect(name(d)).toBeNull();
  });

  it("podman's ids are exactly 64 hex digits: nothing before or after them", () => {
    for (const id of [`${SHORT}z${'c'.repeat(64)}`, `${ID}z`, `${ID}0`]) {
      const d = dirs();
      podman(d, [{ id, names: ['forged'] }]);
      expect(name(d), id).toBeNull();
    }
  });
});
