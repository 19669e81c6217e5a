import { describe, expect, it } from 'vitest';
import { formatIPv6, parseHexIPv4, parseHexIPv6 } from '../../src/collect/addresses.js';
import { containerFromCgroup } from '../../src/collect/processes.js';
import { parseInetTable, parseInterfaceNames, parsePacketTable, parseUnixTable } from '../../src/collect/tables.js';
import { FIXTURES, collectFixture } from './fixtures.js';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { buildSnapshot } from '../../src/snapshot/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../../src/collect/index.js';
import { LsmError } from '../../src/errors.js';

describe('addresses', () => {
  it('reads the kernel hex dump in host byte order', () => {
    expect(parseHexIPv4('0100007F')).toBe('127.0.0.1');
    expect(parseHexIPv4('00000000')).toBe('0.0.0.0');
    expect(parseHexIPv6('00000000000000000000000001000000')).toBe('::1');
    expect(parseHexIPv6('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(parseHexIPv6('000080FE00000000FF0000A02B0400FE')).toBe('fe80::a000:ff:fe00:42b');
    expect(parseHexIPv4('XYZ')).toBeNull();
    expect(parseHexIPv6('00')).toBeNull();
  });

  it('writes IPv6 as RFC 5952 says', () => {
    const b = (...g: number[]) => g.flatMap((x) => [x >> 8, x & 255]);
    expect(formatIPv6(b(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(b(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6(b(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
  });
});

describe('table parsers', () => {
  it('parse real tcp lines: listener, accepted and client sides', () => {
    const t = parseInetTable(
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
      '   0: 00000000:0016 00000000:0000 0A 00000000:00000001 00:00000000 00000000     0        0 9091 2 00000000018ad20e 100 0 0 10 0\n' +
      '   2: 0100007F:8956 0100007F:0016 01 00000000:00000000 00:00000000 00000000  1000        0 9111 2 000000006fbdbd5b 20 0 0 10 -1\n', 'tcp', false, 1);
    expect(t.malformed).toBe(0);
    expect(t.sockets.map((s) => [s.localAddress, s.localPort, s.state, s.remotePort, s.uid, s.inode])).toEqual([
      ['0.0.0.0', 22, 'LISTEN', 0, 0, 9091],
      ['127.0.0.1', 35158, 'ESTABLISHED', 22, 1000, 9111],
    ]);
  });

  it('keep a unix path that holds a newline in one record', () => {
    const t = parseUnixTable('Num RefCount Protocol Flags Type St Inode Path\n' +
      '00000000584eae78: 00000002 00000000 00010000 0001 01  7010 /tmp/a\nb c\n' +
      '00000000584eae79: 00000002 00000000 00000000 0002 01  7011 @x@y\n' +
      '00000000584eae7a: 00000003 00000000 00000000 0001 03  7012\n', 1);
    expect(t.sockets.map((s) => [s.localAddress, s.state, s.socketType, s.inode])).toEqual([
      ['/tmp/a\nb c', 'LISTEN', 'stream', 7010], ['@x@y', 'UNCONN', 'dgram', 7011], ['', 'CONN', 'stream', 7012],
    ]);
  });

  it('keep a path that ends with a newline', () => {
    const t = parseUnixTable('Num\n00000000584eae78: 00000002 00000000 00010000 0001 01  7010 /tmp/a\n\n', 1);
    expect(t.sockets[0].localAddress).toBe('/tmp/a\n');
  });

  it('name packet interfaces from the namespace tables', () => {
    const names = parseInterfaceNames('00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000001 03 40 20 80     eth0\n',
      'Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n4\twg0       :     1      V3\n', '5    br0             1     0 01005e000001\n');
    expect([...names]).toEqual([[1, 'lo'], [3, 'eth0'], [4, 'wg0'], [5, 'br0']]);
    const t = parsePacketTable('sk RefCnt Type Proto Iface R Rmem User Inode\n00000000f02f2a53 3 3 0003 0 1 0 0 9097\n00000000f02f2a54 3 2 88cc 3 1 0 0 9098\n00000000f02f2a55 3 2 0800 9 1 0 0 9099\n', 1, names);
    expect(t.sockets.map((s) => [s.localAddress, s.localPort, s.socketType])).toEqual([['*', 3, 'raw'], ['eth0', 0x88cc, 'dgram'], ['if9', 0x800, 'dgram']]);
  });

  it('count broken lines instead of failing', () => {
    const t = parseInetTable('header\n   1: 00000000:0017 00000000:0000 0A 00000000:00000000 00:000\nnonsense\n   2: ZZZZZZZZ:0018 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8003 1\n', 'tcp', false, 1);
    expect(t).toEqual({ sockets: [], malformed: 3 });
    expect(parseInetTable('', 'udp', false, 1)).toEqual({ sockets: [], malformed: 0 });
  });
});

describe('containers from cgroups', () => {
  const id = 'a'.repeat(64);
  it.each([
    [`0::/system.slice/docker-${id}.scope`, 'aaaaaaaaaaaa'],
    [`12:pids:/docker/${id}`, 'aaaaaaaaaaaa'],
    [`0::/machine.slice/libpod-${id}.scope/container`, 'aaaaaaaaaaaa'],
    [`0::/kubepods.slice/kubepods-burstable.slice/kubepods-pod1.slice/cri-containerd-${id}.scope`, 'aaaaaaaaaaaa'],
    ['0::/lxc.payload.web01/init.scope', 'lxc-web01'],
    ['0::/user.slice/user-1000.slice/session-2.scope', null],
  ])('%s', (cgroup, expected) => expect(containerFromCgroup(cgroup)).toBe(expected));
});

describe('collect on fixture trees', () => {
  it('finds every namespace, labels it, and attributes sockets to all their owners', () => {
    const c = collectFixture('basic');
    expect(c.namespaces.map((n) => n.label)).toEqual(['host', '3f4e5d6c7b8a', 'myapp-4026532600']);
    expect(c.stats).toMatchObject({ processes: 15, namespaces: 3, unreadable: 0, vanished: 0 });
    const ssh = c.sockets.find((s) => s.inode === 9091)!;
    expect(ssh.owners.map((o) => [o.pid, o.user, o.exe])).toEqual([[100, 'root', '/usr/sbin/sshd'], [101, 'sshd', '/usr/sbin/sshd']]);
    expect(ssh.owners[0].cmdline).toEqual(['sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups']);
    expect(ssh.owners[0].startedAt).toBe(1790000000_000 + 50_000); // btime + 5000 ticks at 100 Hz
    const nginx = c.sockets.find((s) => s.inode === 9500)!;
    expect(nginx.owners.map((o) => o.container)).toEqual(['3f4e5d6c7b8a', '3f4e5d6c7b8a']);
    expect(c.sockets.find((s) => s.inode === 9098)!.owners).toEqual([]); // nobody owns it: kept, owner unknown
  });

  it('treats vanished processes and broken entries as normal', () => {
    const c = collectFixture('broken');
    expect(c.stats).toMatchObject({ processes: 3, namespaces: 1, vanished: 2, unreadable: 1 });
    expect(c.sockets.filter((s) => s.kind === 'tcp').map((s) => [s.localPort, s.state])).toEqual([[22, 'LISTEN'], [25, 'UNKNOWN(0F)'], [26, 'LISTEN']]);
  });

  it('says what it could not see, in the stats and in host/unattributed (issue 18.4)', () => {
    const c = collectFixture('broken');
    expect(c.stats.unseen).toEqual({ processes: 1, namespaces: 0, reason: 'not a namespace link' });
    expect(buildSnapshot(c).get('host/unattributed')).toEqual(['processes not readable: not a namespace link: a namespace only they are in is not recorded']);
    expect(collectFixture('basic').stats.unseen).toBeUndefined();
    expect(buildSnapshot(collectFixture('basic')).has('host/unattributed')).toBe(false);
  });

  it('refuses a root that is not a proc file system, in one line', () => {
    const empty = mkdtempSync(join(tmpdir(), 'lsm-noproc-'));
    expect(() => collect({ procRoot: empty })).toThrow(new LsmError(`${empty} holds no processes: not a proc file system`));
    expect(() => collect({ procRoot: join(empty, 'missing') })).toThrow(/^cannot read .*missing: ENOENT$/);
  });
});

describe('container names', () => {
  const id = '3f4e5d6c7b8a' + '0'.repeat(52); // the container of the basic fixture
  const root = join(FIXTURES, 'basic');
  const withDocker = (write: (dir: string) => void) => {
    const dirs = { docker: mkdtempSync(join(tmpdir(), 'lsm-docker-')), podman: mkdtempSync(join(tmpdir(), 'lsm-podman-')) };
    mkdirSync(join(dirs.docker, 'containers', id), { recursive: true });
    write(join(dirs.docker, 'containers', id));
    return collect({ procRoot: join(root, 'proc'), passwdPath: join(root, 'etc', 'passwd'), netnsDir: join(root, 'run', 'netns'), containerDirs: dirs });
  };
  const labels = (c: ReturnType<typeof collect>) => c.namespaces.map((n) => n.label);

  it("labels a container's namespace by its name, keeping the id on its owners", () => {
    const c = withDocker((d) => writeFileSync(join(d, 'config.v2.json'), JSON.stringify({ ID: id, Name: '/shop-web-1', Config: { Labels: { 'com.docker.compose.service': 'web' } } })));
    expect(labels(c)).toEqual(['host', 'shop-web-1', 'myapp-4026532600']);
    expect(c.sockets.find((s) => s.inode === 9500)!.owners.map((o) => o.container)).toEqual(['3f4e5d6c7b8a', '3f4e5d6c7b8a']);
    expect([...buildSnapshot(c).keys()]).toContain('netns/shop-web-1/tcp');
  });

  it('keeps the id when the runtime state is hostile or odd', () => {
    const hostile: ((d: string) => void)[] = [
      (d) => writeFileSync(join(d, 'config.v2.json'), JSON.stringify({ ID: id, Name: '/web\n0.0.0.0:22  sshd' })),
      (d) => writeFileSync(join(d, 'config.v2.json'), JSON.stringify({ ID: id, Name: '/../../etc' })),
      (d) => writeFileSync(join(d, 'config.v2.json'), JSON.stringify({ ID: 'f'.repeat(64), Name: '/other' })),
      (d) => writeFileSync(join(d, 'config.v2.json'), '{"ID": "' + id + '", "Name": '),
      (d) => writeFileSync(join(d, 'config.v2.json'), JSON.stringify({ ID: id, Name: ['/x'] })),
      (d) => { writeFileSync(join(d, 'real.json'), JSON.stringify({ ID: id, Name: '/web' })); symlinkSync(join(d, 'real.json'), join(d, 'config.v2.json')); },
      (d) => writeFileSync(join(d, 'config.v2.json'), JSON.stringify({ ID: id, Name: '/web', pad: 'x'.repeat(5 << 20) })),
    ];
    for (const write of hostile) expect(labels(withDocker(write))).toEqual(['host', '3f4e5d6c7b8a', 'myapp-4026532600']);
  });

  it("reads podman's names too", () => {
    const dirs = { docker: mkdtempSync(join(tmpdir(), 'lsm-docker-')), podman: mkdtempSync(join(tmpdir(), 'lsm-podman-')) };
    mkdirSync(join(dirs.podman, 'overlay-containers'));
    writeFileSync(join(dirs.podman, 'overlay-containers', 'containers.json'), JSON.stringify([{ id, names: ['db'] }, { id: 'b'.repeat(64), names: ['other'] }]));
    const c = collect({ procRoot: join(root, 'proc'), passwdPath: join(root, 'etc', 'passwd'), netnsDir: join(root, 'run', 'netns'), containerDirs: dirs });
    expect(labels(c)).toEqual(['host', 'db', 'myapp-4026532600']);
  });
});

describe('sockets in no table, looked at through a copy of the fd', () => {
  it("a holder that cannot be looked at (exited meanwhile; here a thread id, which pidfd_open refuses) does not stop the look at the next holder's sockets", async () => {
    const { spawn } = await import('node:child_process');
    const { readdirSync, readlinkSync, statSync } = await import('node:fs');
    const { lookAtStrays } = await import('../../src/collect/index.js');
    const child = spawn('python3', ['-c', "import socket,sys,threading,time\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\nprint('ready', flush=True)\nsys.stdin.read()"], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => { child.stdout!.once('data', () => resolve()); child.once('exit', () => reject(new Error('holder exited'))); });
      const pid = child.pid!;
      // its own socket, not the stdio socketpairs node gives it (fds 0-2)
      const inodes = readdirSync(`/proc/${pid}/fd`).filter((fd) => Number(fd) > 2).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } })
        .filter((l) => l.startsWith('socket:[')).map((l) => Number(l.slice(8, -1)));
      expect(inodes).toHaveLength(1);
      // the thread's /proc/<tid>/fd lists the same socket, but pidfd_open(tid) fails: as for a holder gone meanwhile
      const tid = Number(readdirSync(`/proc/${pid}/task`).find((t) => Number(t) !== pid));
      expect(tid).toBeGreaterThan(0);
      const strays = new Map<number, number[]>([[tid, inodes], [pid, inodes]]);
      const seen = lookAtStrays(strays, new Set([statSync('/proc/self/ns/net').ino]));
      try {
        expect([...seen.noEndpoint]).toEqual(inodes); // never bound: no line to record
      } finally {
        const { closeSync } = await import('node:fs');
        for (const fd of seen.fds) closeSync(fd);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
