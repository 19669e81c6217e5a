// Addresses in /proc/net/{tcp,udp,raw}* are hex dumps of the kernel's words in host byte order.
import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';

/** Hex of one 32-bit word as printed by the kernel -> its 4 bytes in network order. */
function wordBytes(hex: string): number[] {
  const v = parseInt(hex, 16);
  const be = [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  return LITTLE ? be.reverse() : be;
}

// A host has few distinct local addresses (0.0.0.0, ::, ::1, a few globals) over many sockets:
// each is parsed and formatted once.
const formatted = new Map<string, string>();

function cached(hex: string, parse: (hex: string) => string): string {
  let text = formatted.get(hex);
  if (text === undefined) {
    text = parse(hex);
    if (formatted.size < 4096) formatted.set(hex, text);
  }
  return text;
}

const HEX8 = /^[0-9A-Fa-f]{8}$/;
const HEX32 = /^[0-9A-Fa-f]{32}$/;

export function parseHexIPv4(hex: string): string | null {
  if (hex.length !== 8) return null;
  return formatted.get(hex) ?? (HEX8.test(hex) ? cached(hex, (h) => wordBytes(h).join('.')) : null);
}

export function parseHexIPv6(hex: string): string | null {
  if (hex.length !== 32) return null;
  return formatted.get(hex) ?? (HEX32.test(hex) ? cached(hex, (h) => {
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 8) bytes.push(...wordBytes(h.slice(i, i + 8)));
    return formatIPv6(bytes);
  }) : null);
}

/** RFC 5952 text form: lowercase, longest run of zero groups compressed, v4-mapped as ::ffff:a.b.c.d */
export function formatIPv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** 'addr:port' for v4, '[addr]:port' for v6: the form ss and URLs use. */
export function endpoint(address: string, port: number | string): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

// The numbers the kernel gives for a raw socket's protocol and a packet socket's ethertype, named
// as ss and /etc/protocols name them; an unknown one keeps its number.
const IP_PROTOCOLS: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'ipv6-icmp', 89: 'ospf', 112: 'vrrp', 132: 'sctp', 255: 'raw' };
const ETHERTYPES: Record<number, string> = { 0x0003: 'all', 0x0800: 'ip', 0x0806: 'arp', 0x86dd: 'ipv6', 0x88cc: 'lldp', 0x8863: 'pppoe-disc', 0x8864: 'pppoe', 0x888e: 'eapol', 0x8100: 'vlan' };

export function ipProtocolName(n: number): string {
  return IP_PROTOCOLS[n] ?? `proto-${n}`;
}
export function ethertypeName(n: number): string {
  return ETHERTYPES[n] ?? `0x${n.toString(16).padStart(4, '0')}`;
}
