// Socket fds read by the kernel's BPF task_file iterator (collect/bpf/owners.c) and by the /proc
// walk give the same owners and the same snapshot, for real sockets in a world the test makes:
// TCP/UDP over IPv4 and IPv6, a unix path, an abstract name, a listener passed by SCM_RIGHTS (only
// the receiver holds it), a listener in a thread's own fd table (CLONE_FILES), one only an
// io_uring holds, and an O_PATH fd of a socket file (mode S_IFSOCK, no socket). Where BPF is
// refused (LSM_BPF=off, not root), the walk is used and the reason is in the stats and lsm status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, World } from '../helpers/world.js';

const HELPERS = join(ROOT, 'test', 'helpers');

describe('socket owners from the BPF iterator', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  const pids: number[] = [];
  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-bpf-'));
    chmodSync(tmp, 0o755);
    for (const c of ['thread-holder', 'ring-holder']) execFileSync('cc', ['-O', '-Wall', '-o', join(tmp, c), join(HELPERS, `${c}.c`), '-lpthread']);
  });
  afterAll(async () => {
    for (const pid of pids.reverse()) await world.kill(pid);
    await world?.stop();
  });

  const collectBoth = async (holders: number[], env: Record<string, string> = {}) => {
    const r = await world.run([process.execPath, join(HELPERS, 'collect-bpf.mjs'), ...holders.map(String)], { env });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  };

  it('gives the same owners, snapshot and fd arrays as the /proc walk', async () => {
    const a = await world.hold([
      { kind: 'tcp4', port: 2301 }, { kind: 'tcp6', port: 2302 }, { kind: 'udp4', port: 2303 }, { kind: 'udp6', port: 2304 },
      { kind: 'unix', path: join(tmp, 'a.sock') }, { kind: 'abstract', name: 'lsm-bpf-test' },
    ], 'bpf-holder');
    pids.push(a.pid);
    const passed = await world.spawn(['python3', join(HELPERS, 'passed-holder.py'), '2305', tmp]);
    pids.push(passed.pid);
    const [, , child, opathFd] = passed.ready.split(' ').map(Number);
    const thread = await world.spawn([join(tmp, 'thread-holder'), '2306', 'files']);
    pids.push(thread.pid);
    const ring = await world.run([join(tmp, 'ring-holder'), '0', 'probe']);
    let ringPid = 0;
    if (ring.code === 0) { ringPid = (await world.spawn([join(tmp, 'ring-holder'), '2307', 'stay'])).pid; pids.push(ringPid); }

    const { bpf, proc, bpfFiles, procFiles, bpfSaid, procSaid, walks } = await collectBoth([a.pid, passed.pid, child, thread.pid, ringPid, 999999].filter(Boolean));
    // BPF was used (nothing said), and it agrees with the walk on everything
    expect([bpfSaid, procSaid]).toEqual([null, null]);
    expect(bpf).toEqual(proc);
    expect(bpfFiles).toEqual(procFiles);
    expect(walks.bpf).toEqual(walks.proc);

    const ownersOf = (local: string) => bpf.filter((s: { local: string }) => s.local === local).map((s: { owners: { pid: number; comm: string }[] }) => s.owners.map((o) => `${o.pid} ${o.comm}`));
    expect(ownersOf('127.0.0.1:2301')).toEqual([[`${a.pid} bpf-holder`]]);
    expect(ownersOf('::1:2304')).toEqual([[`${a.pid} bpf-holder`]]);
    expect(ownersOf(`${tmp}/a.sock:0`)).toEqual([[`${a.pid} bpf-holder`]]);
    expect(ownersOf('@lsm-bpf-test:0')).toEqual([[`${a.pid} bpf-holder`]]);
    expect(ownersOf('127.0.0.1:2305')).toEqual([[`${child} python3`]]); // the receiver, not the sender
    expect(ownersOf('0.0.0.0:2306')).toEqual([[`${thread.pid} thread-holder`]]); // a thread's own table
    if (ringPid) expect(ownersOf('0.0.0.0:2307')).toEqual([[`${ringPid} ring-holder`]]);
    expect(bpfFiles['host/tcp']).toContain(`127.0.0.1:2305  python3  root  `);

    // the O_PATH fd of o.sock names the file's own inode, not a socket: in neither path
    const fileIno = statSync(join(tmp, 'o.sock')).ino;
    const records = walks.bpf.sockets as number[];
    const at = records.indexOf(passed.pid);
    const held: number[][] = [];
    for (let k = 0; k < records[at + 1]; k++) held.push([records[at + 3 + 2 * k], records[at + 4 + 2 * k]]);
    expect(held.map(([, fd]) => fd)).not.toContain(opathFd);
    expect(held.map(([ino]) => ino)).not.toContain(fileIno);
    expect(ownersOf(`${tmp}/o.sock:0`)).toEqual([[`${passed.pid} python3`]]);
    // a process that does not exist is gone in both
    const gone = records.indexOf(999999);
    expect(records.slice(gone, gone + 3)).toEqual([999999, -1, 0]);
  });

  it('is not used when refused, and says why in the stats and in lsm status', async () => {
    const h = await world.hold([{ kind: 'tcp4', port: 2311 }], 'bpf-off');
    pids.push(h.pid);
    const off = await collectBoth([h.pid], { LSM_BPF: 'off' });
    expect(off.bpfSaid).toBe('read from /proc, not by BPF: LSM_BPF=off');
    expect(off.walks.bpf).toEqual({ refused: 'LSM_BPF=off' });
    expect(off.bpf).toEqual(off.proc); // the walk gave the owners
    expect(off.bpf.find((s: { local: string }) => s.local === '127.0.0.1:2311').owners.map((o: { pid: number }) => o.pid)).toEqual([h.pid]);

    // not root: the kernel's refusal, asked before any BTF is read
    const nobody = await world.run(['runuser', '-u', 'nobody', '--', process.execPath, join(HELPERS, 'collect-bpf.mjs'), String(h.pid)]);
    expect(nobody.stderr).toBe('');
    const said = JSON.parse(nobody.stdout);
    expect(said.bpfSaid).toBe('read from /proc, not by BPF: BPF needs CAP_BPF and CAP_PERFMON (root)');
    expect(said.walks.bpf).toEqual({ refused: 'BPF needs CAP_BPF and CAP_PERFMON (root)' });

    // lsm status says it once; a scan where BPF works says nothing new
    const repo = join(tmp, 'repo');
    const scan = await world.lsm(['scan', '--repo', repo], { LSM_BPF: 'on' });
    expect([scan.code, scan.stderr]).toEqual([0, '']);
    const quiet = await world.lsm(['status', '--repo', repo], { LSM_BPF: 'on' });
    expect(quiet.stdout).not.toContain('BPF');
    const status = await world.lsm(['status', '--repo', repo], { LSM_BPF: 'off' });
    expect(status.stdout.split('\n').filter((l) => l.includes('BPF'))).toEqual(['socket owners read from /proc, not by BPF: LSM_BPF=off']);
  });
});
