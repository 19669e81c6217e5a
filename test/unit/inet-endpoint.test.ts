// How a line writes what netlink adds to an inet socket: the bound device and IPV6_V6ONLY, as ss does.
import { describe, expect, it } from 'vitest';
import { localEndpoint } from '../../src/snapshot/lines.js';
import type { Socket } from '../../src/types.js';

const sock = (over: Partial<Socket>): Socket => ({
  kind: 'tcp', family: 'inet', netns: 1, inode: 1, state: 'LISTEN', localAddress: '0.0.0.0', localPort: 1030,
  remoteAddress: '0.0.0.0', remotePort: 0, uid: 0, user: null, owners: [], ...over,
});

describe('inet endpoints', () => {
  it('device, dual-stack and v6-only each change the endpoint', () => {
    expect([
      sock({}), sock({ device: null }), sock({ device: 'lo' }),
      sock({ family: 'inet6', localAddress: '::', v6only: true }), sock({ family: 'inet6', localAddress: '::', v6only: false }),
      sock({ family: 'inet6', localAddress: '::', v6only: false, device: 'eth0' }), sock({ family: 'inet6', localAddress: '::1', v6only: false, device: 'lo' }),
      sock({ family: 'inet6', localAddress: '::' }), // from /proc: unknown, written as before
      sock({ kind: 'raw', localPort: 1, device: 'lo' }),
      sock({ device: 'we\tird' }), // names come from the system: escaped
    ].map(localEndpoint)).toEqual([
      '0.0.0.0:1030', '0.0.0.0:1030', '0.0.0.0%lo:1030', '[::]:1030', '*:1030', '*%eth0:1030', '[::1]%lo:1030', '[::]:1030',
      '0.0.0.0%lo:icmp', '0.0.0.0%we\\x09ird:1030',
    ]);
  });

  it('a raw IPv6 socket on every address is [::] whether or not the kernel reported V6ONLY (raw_diag or /proc)', () => {
    const raw6 = { kind: 'raw' as const, family: 'inet6' as const, localAddress: '::', localPort: 58 };
    expect([sock({ ...raw6, v6only: false }), sock({ ...raw6 }), sock({ ...raw6, v6only: false, socketType: 'dgram' })].map(localEndpoint))
      .toEqual(['[::]:ipv6-icmp', '[::]:ipv6-icmp', '[::]:ping']);
  });
});
