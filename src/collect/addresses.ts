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
