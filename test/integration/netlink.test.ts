// Issue 7, an unambiguous socket source: sockets come from sock_diag over netlink (the native
// reader), so a name cannot forge a record and the line shows what /proc/net/* does not print
// (the bound device, IPv6-only vs dual-stack); the /proc fallback (LSM_NETLINK=off) detects the
// forgery instead of recording it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOLDER, ROOT, World, type SocketSpec } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const FALLBACK = { LSM_NETLINK: 'off' };

describe('sockets from netlink', () => {
  let world: World;
  let tmp: string;
  let n = 0;
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-netlink-'));
    chmodSync(tmp, 0o755);
  });
  afterAll(async () => { await world?.stop(); });

  /** A fresh repository, one scan, and the snapshot file `name` of the host namespace. */
  async function snapshot(name: string, env: Record<string, string> = {}, repo = join(tmp, `repo-${++n}`)): Promise<string[]> {
    // each repository its own config and spool
    const r = await world.lsm(['scan', '--repo', repo], { LSM_CONFIG: testConfig(`${repo}-etc`), ...env });
    expect([r.code, r.stderr]).toEqual([0, expect.not.stringMatching(/error|warn/i)]);
    const path = join(repo, 'host', name);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
  }

  it('the native reader is built (npm ci ran node-gyp) and loads', () => {
    expect(existsSync(join(ROOT, 'build', 'Release', 'sockdiag.node'))).toBe(true);
  });

  it('reads a namespace only through a file that still is that namespace', async () => {
    const { readNetlinkTables } = await import('../../dist/collect/netlink/index.js');
    const own = statSync('/proc/self/ns/net').ino;
    expect(readNetlinkTables('/proc/self/ns/net', own)?.sockets.length).toBeGreaterThan(0);
    expect(readNetlinkTables('/proc/self/ns/net', own + 1)).toBeNull(); // a pid reused by another namespace
    const file = join(tmp, 'not-a-namespace');
    writeFileSync(file, '');
    expect(readNetlinkTables(file, statSync(file).ino)).toBeNull(); // setns refuses it: the /proc text is read
    expect(readNetlinkTables(join(tmp, 'missing'), 1)).toBeNull();
  });

  it('a dump of every state for `saw` tells it every inode but makes sockets only of the kept states', async () => {
    const h = await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: 1040 }, { kind: 'tcp4-conn', addr: '127.0.0.1', port: 1040 }], 'pair');
    try {
      const script = `
        import { statSync } from 'node:fs';
        const { readNetlinkTables } = await import(${JSON.stringify(join(ROOT, 'dist', 'collect', 'netlink', 'index.js'))});
        const made = [], seen = [];
        const r = readNetlinkTables('/proc/self/ns/net', statSync('/proc/self/ns/net').ino,
          (s) => { made.push(s.kind + ' ' + s.state); return true; }, (kind, state) => state === 'LISTEN', (i) => seen.push(i));
        console.log(JSON.stringify({ made: [...new Set(made)].sort(), seen, kept: r.sockets.map((s) => s.kind + ' ' + s.state + ' ' + s.inode) }));`;
      const r = await world.run([process.execPath, '--input-type=module', '-e', script]);
      expect([r.code, r.stderr]).toEqual([0, '']);
      const { made, seen, kept } = JSON.parse(r.stdout);
      const established = (await world.run(['ss', '-Htne', 'state', 'established', '( sport = :1040 or dport = :1040 )'])).stdout.match(/ino:(\d+)/g)!.map((m) => Number(m.slice(4)));
      expect(established).toHaveLength(2); // both ends of the connection
      for (const ino of established) expect(seen).toContain(ino); // known, so never taken for a socket in no table
      expect(made.filter((k: string) => !k.startsWith('unix') && !k.startsWith('packet'))).toEqual(['tcp LISTEN']); // no object for them
      expect(kept.some((k: string) => k.startsWith('tcp LISTEN'))).toBe(true);
    } finally {
      await world.kill(h.pid);
    }
  });

  it('a listener bound to a device and one on every interface make different lines; rebinding changes the snapshot', async () => {
    const lo = await world.hold([{ kind: 'tcp4', addr: '0.0.0.0', port: 1030, device: 'lo' }, { kind: 'udp4', addr: '0.0.0.0', port: 1031, device: 'lo' }], 'bound');
    const repo = join(tmp, 'rebind');
    const first = await snapshot('tcp', {}, repo);
    expect(first).toEqual([expect.stringMatching(/^0\.0\.0\.0%lo:1030 {2}bound {2}root {2}/)]);
    expect(readFileSync(join(repo, 'host', 'udp'), 'utf8')).toMatch(/^0\.0\.0\.0%lo:1031 {2}bound /m);
    await world.kill(lo.pid);
    const all = await world.hold([{ kind: 'tcp4', addr: '0.0.0.0', port: 1030 }], 'bound');
    const second = await snapshot('tcp', {}, repo);
    expect(second).toEqual([expect.stringMatching(/^0\.0\.0\.0:1030 {2}bound {2}root {2}/)]);
    const log = await world.run(['git', '-C', repo, 'log', '--oneline']);
    expect(log.stdout.trim().split('\n')).toHaveLength(2); // the rebinding is a commit
    await world.kill(all.pid);
  });

  it('IPv6-only and dual-stack listeners differ, as ss writes them', async () => {
    const h = await world.hold([
      { kind: 'tcp6', addr: '::', port: 1004, v6only: true },
      { kind: 'tcp6', addr: '::', port: 1005, v6only: false },
      { kind: 'tcp6', addr: '::1', port: 1006, v6only: true, device: 'lo' },
    ], 'six');
    const lines = await snapshot('tcp');
    expect(lines.map((l) => l.split('  ')[0])).toEqual(['[::]:1004', '*:1005', '[::1]%lo:1006']);
    const ss = await world.run(['ss', '-Htln']);
    for (const e of ['[::]:1004', '*:1005', '[::1]%lo:1006']) expect(ss.stdout).toContain(` ${e} `);
    await world.kill(h.pid);
  });

  it('netlink and the /proc text agree on a namespace of several hundred sockets of every kind', async () => {
    const range = (n: number, f: (i: number) => SocketSpec) => Array.from({ length: n }, (_, i) => f(i));
    const dir = join(tmp, 'many');
    await world.run(['mkdir', '-p', dir]);
    const holders = [
      await world.hold([
        ...range(80, (i) => ({ kind: 'tcp4', addr: i % 2 ? '127.0.0.1' : '0.0.0.0', port: 3000 + i })),
        ...range(40, (i) => ({ kind: 'tcp6', addr: '::', port: 3100 + i, v6only: i % 2 === 0 })),
        ...range(60, (i) => ({ kind: 'udp4', addr: '127.0.0.1', port: 3200 + i })),
        ...range(40, (i) => ({ kind: 'udp6', addr: '::1', port: 3300 + i })),
        ...range(10, (i) => ({ kind: 'raw4', proto: [1, 6, 17, 47, 50][i % 5] })),
        ...range(10, () => ({ kind: 'raw6' })),
        ...range(10, (i) => ({ kind: 'packet', proto: [3, 0x806, 0x800][i % 3] })),
      ], 'inet'),
      await world.hold([
        ...range(60, (i) => ({ kind: 'unix', path: join(dir, `s${i}.sock`) })),
        ...range(60, (i) => ({ kind: 'unix-dgram', path: join(dir, `d${i}.sock`) })),
        ...range(60, (i) => ({ kind: 'abstract', name: `lsm-many-${i}\0tail` })),
      ], 'unix'),
    ];
    try {
      const viaNetlink = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'collect-view.mjs')]);
      const viaProc = await world.run([process.execPath, join(ROOT, 'test', 'helpers', 'collect-view.mjs')], { env: FALLBACK });
      expect([viaNetlink.code, viaNetlink.stderr, viaProc.code, viaProc.stderr]).toEqual([0, '', 0, '']);
      // the holders' sockets (each run of the helper makes sockets of its own: its stdio)
      const held = (s: any) => s.owners.some((pid: number) => holders.some((h) => h.pid === pid));
      const nl: any[] = JSON.parse(viaNetlink.stdout).filter(held);
      const proc: any[] = JSON.parse(viaProc.stdout).filter(held);
      expect(nl.length).toBeGreaterThanOrEqual(430);
      // what only netlink knows: the device (none here), v6-only per socket, NULs inside names
      const v6 = nl.filter((s) => s.family === 'inet6' && s.kind === 'tcp' && s.localPort >= 3100 && s.localPort < 3140);
      expect(v6.map((s) => [s.localPort, s.v6only])).toEqual(range(40, (i) => [3100 + i, i % 2 === 0]));
      expect(nl.filter((s) => s.kind === 'tcp' || s.kind === 'udp').every((s) => s.device === null)).toBe(true);
      expect(proc.every((s) => s.device === undefined && s.v6only === undefined)).toBe(true);
      const common = (s: any) => ({ ...s, device: undefined, v6only: undefined,
        local: s.kind === 'unix' ? s.local.replace(/\0/g, '@') : s.local }); // /proc prints a NUL as '@'
      expect(nl.map(common)).toEqual(proc.map(common));
    } finally {
      for (const h of holders) await world.kill(h.pid);
    }
  });

  describe('an abstract name that imitates a record of /proc/net/unix', () => {
    let admin: number;
    let intruder: number;
    let inode: number;
    beforeAll(async () => {
      const path = join(tmp, 'admin.sock');
      admin = (await world.hold([{ kind: 'unix', path }], 'admind')).pid;
      const table = (await world.run(['cat', '/proc/net/unix'])).stdout;
      inode = Number(table.split('\n').find((l) => l.endsWith(` ${path}`))!.trim().split(/ +/)[6]);
      const name = `X\n0000000000000000: 00000002 00000000 00010000 0001 01 ${inode} ${path}`;
      const spec = JSON.stringify({ comm: 'intruder', sockets: [{ kind: 'abstract', name }] });
      intruder = (await world.spawn(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', HOLDER, spec])).pid;
    });
    afterAll(async () => { await world.kill(intruder); await world.kill(admin); });

    function check(lines: string[]): void {
      const admins = lines.filter((l) => l.startsWith(join(tmp, 'admin.sock')));
      // the root socket keeps its owner; nothing else claims its path
      expect(admins).toEqual([expect.stringMatching(/^\S+admin\.sock {2}stream {2}admind {2}root {2}/)]);
      expect(lines.some((l) => l.includes('admin.sock') && /\?|nobody/.test(l) && !l.startsWith('@X'))).toBe(false);
    }

    it('netlink: the intruder is recorded with its whole, escaped name; no forged line', async () => {
      const lines = await snapshot('unix');
      check(lines);
      const own = lines.filter((l) => l.startsWith('@X'));
      expect(own).toEqual([expect.stringMatching(/^@X\\x0a0000000000000000:.*admin\.sock {2}stream {2}intruder {2}nobody {2}/)]);
      expect(lines).toHaveLength(2);
    });

    it('/proc fallback: the forged record is never recorded; the duplicate inode resolves or alerts', async () => {
      const lines = await snapshot('unix', FALLBACK);
      const doubt = lines.filter((l) => l.startsWith('! '));
      if (doubt.length === 0) {
        // the real record could not be part of a name: the copy is the intruder's name
        check(lines);
        expect(lines.filter((l) => l.startsWith('@X'))).toEqual([expect.stringMatching(/admin\.sock {2}stream {2}intruder {2}nobody {2}/)]);
      } else {
        // both records could be part of a name: the doubt is the line, owned by the inode's holder
        expect(doubt).toEqual([expect.stringMatching(new RegExp(`^! /proc/net/unix: inode ${inode} in 2 records {2}admind {2}root {2}`))]);
        expect(lines.some((l) => l.startsWith(join(tmp, 'admin.sock')))).toBe(false);
      }
    });
  });
});
