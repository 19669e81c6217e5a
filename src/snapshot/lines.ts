// One line per socket identity, key (the local endpoint) first, then its owners. Never a pid, an
// inode, a queue size or an ephemeral port: those change without anything having changed.
import { endpoint } from '../collect/addresses.js';
import type { Owner, Socket } from '../types.js';
import { escapeField } from './escape.js';

export const SEP = '  ';

const IP_PROTOCOLS: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'ipv6-icmp', 89: 'ospf', 112: 'vrrp', 132: 'sctp', 255: 'raw' };
const ETHERTYPES: Record<number, string> = { 0x0003: 'all', 0x0800: 'ip', 0x0806: 'arp', 0x86dd: 'ipv6', 0x88cc: 'lldp', 0x8863: 'pppoe-disc', 0x8864: 'pppoe', 0x888e: 'eapol', 0x8100: 'vlan' };

export function ipProtocolName(n: number): string {
  return IP_PROTOCOLS[n] ?? `proto-${n}`;
}
export function ethertypeName(n: number): string {
  return ETHERTYPES[n] ?? `0x${n.toString(16).padStart(4, '0')}`;
}

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
 * for a dual-stack listener on every address, '[::]:22' for an IPv6-only one.
 */
function inetEndpoint(s: Socket, port: string): string {
  const device = s.device ? `%${escapeField(s.device)}` : '';
  if (s.family === 'inet6' && s.localAddress === '::' && s.v6only === false) return `*${device}:${port}`;
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
