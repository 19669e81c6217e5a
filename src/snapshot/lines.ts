// One line per socket identity, key (the local endpoint) first, then its owners. Never a pid, an
// inode, a queue size or an ephemeral port: those change without anything having changed.
import { endpoint, ethertypeName, ipProtocolName } from '../collect/addresses.js';
import type { Owner, Socket } from '../types.js';
import { escapeField } from './escape.js';

export const SEP = '  ';

/** The local endpoint as the snapshot and the status table write it. */
export function localEndpoint(s: Socket): string {
  switch (s.kind) {
    case 'tcp': case 'udp': return inetEndpoint(s, String(s.localPort));
    case 'raw': return inetEndpoint(s, s.socketType === 'dgram' ? 'ping' : ipProtocolName(s.localPort)); // dgram: an ICMP ping socket
    case 'packet': return `${escapeField(s.localAddress)}:${ethertypeName(s.localPort)}`;
    case 'unix': return escapeField(s.localAddress);
    case 'unattributed': return `${s.localAddress === '' ? 'socket' : escapeField(s.localAddress)}:[${s.inode}]`; // status only: the snapshot line has no inode
  }
}

/**
 * As `ss` writes it: '0.0.0.0%lo:1030' for a socket bound to a device (SO_BINDTODEVICE), '*:22'
 * for a dual-stack TCP/UDP socket on every address, '[::]:22' for an IPv6-only one. A raw IPv6
 * socket never receives IPv4, whatever its V6ONLY says, and only raw_diag (often not built) reports
 * that flag: it is always '[::]', so a kernel gaining raw_diag does not rewrite its line.
 */
function inetEndpoint(s: Socket, port: string): string {
  const device = s.device ? `%${escapeField(s.device)}` : '';
  if (s.family === 'inet6' && s.localAddress === '::' && s.v6only === false && s.kind !== 'raw') return `*${device}:${port}`;
  if (!device) return endpoint(s.localAddress, port);
  return s.family === 'inet6' ? `[${s.localAddress}]${device}:${port}` : `${s.localAddress}${device}:${port}`;
}

/**
 * Owners of one identity, merged over every socket that has it: one group per program
 * (comm + exe), its users joined by ','. Pre-fork servers and SO_REUSEPORT give one group.
 */
export function formatOwners(owners: Owner[], socketUser: string | null): string {
  if (owners.length === 0) return ['?', socketUser === null ? '?' : escapeField(socketUser), '?'].join(SEP);
  const groups = new Map<string, Set<string>>();
  for (const o of owners) {
    const key = escapeField(o.comm) + SEP + (o.exe === null ? '?' : escapeField(o.exe));
    const users = groups.get(key) ?? new Set<string>();
    users.add(o.user === null ? '?' : escapeField(o.user));
    groups.set(key, users);
  }
  return [...groups.entries()]
    .map(([key, users]) => {
      const [comm, exe] = key.split(SEP);
      return [comm, [...users].sort().join(','), exe].join(SEP);
    })
    .sort()
    .join(`${SEP}+${SEP}`);
}
