// The native reader says why netlink failed with the kernel's own errno, named as Node names its
// own ('EPROTONOSUPPORT', 'ENOENT'): a failed socket() in lsm's own namespace was reported as
// EPERM (the -1 it returned was taken for -errno), whatever the kernel said.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { netlinkAddon } from '../../src/collect/netlink/index.js';

// netlink protocols are 0..31 (MAX_LINKS): the kernel answers EPROTONOSUPPORT for any other
const NO_SUCH_PROTOCOL = 99;

describe('netlink failures carry the real errno', () => {
  let other: ChildProcess;
  beforeAll(async () => {
    other = spawn('unshare', ['-n', 'sleep', '60'], { stdio: 'ignore' });
    // bounded wait until it is in its own namespace (unshare, then exec sleep)
    const { readlinkSync } = await import('node:fs');
    for (let i = 0; i < 200; i++) {
      try { if (readlinkSync(`/proc/${other.pid}/ns/net`) !== readlinkSync('/proc/self/ns/net')) break; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  afterAll(() => { if (other.pid !== undefined) process.kill(other.pid, 'SIGKILL'); });

  const failure = (nsFile: string | null, protocol: number) => {
    try { netlinkAddon()!.query(nsFile, 0, protocol, []); } catch (e) { return { code: (e as NodeJS.ErrnoException).code, message: (e as Error).message }; }
    return null;
  };

  it('in its own namespace, named or not, and in another one', () => {
    expect(netlinkAddon()).not.toBeNull();
    expect(failure(null, NO_SUCH_PROTOCOL)).toEqual({ code: 'EPROTONOSUPPORT', message: 'netlink: Protocol not supported' });
    expect(failure('/proc/self/ns/net', NO_SUCH_PROTOCOL)).toEqual({ code: 'EPROTONOSUPPORT', message: '/proc/self/ns/net: Protocol not supported' });
    const file = `/proc/${other.pid}/ns/net`;
    expect(failure(file, NO_SUCH_PROTOCOL)).toEqual({ code: 'EPROTONOSUPPORT', message: `${file}: Protocol not supported` });
    expect(failure('/nonexistent/ns', 4)).toEqual({ code: 'ENOENT', message: '/nonexistent/ns: No such file or directory' });
    expect(failure(null, 4)).toBeNull(); // NETLINK_SOCK_DIAG itself works
  });
});
