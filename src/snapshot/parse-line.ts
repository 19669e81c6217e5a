// A snapshot line read back into fields: the inverse of lines.ts, for JSON and mail subjects.
// Fields are joined by SEP (two spaces) and never hold a space themselves (escapeField), so the
// split is unambiguous; owner groups are joined by '  +  '.
import { SEP } from './lines.js';

export interface LineOwner { comm: string; users: string[]; exe: string | null }
export interface LineFields {
  namespace: string; // 'host' or the netns label
  kind: string; // tcp, udp, raw, packet, unix
  endpoint: string; // the key's first field: '0.0.0.0:22', '[::]:53', '/run/x.sock', '* -> 10.0.0.1:443'
  address: string | null; // '0.0.0.0', '::', a unix path or @name, a packet interface
  port: number | null; // tcp/udp port (the peer's for an outbound connection)
  protocol: string | null; // raw: the IP protocol; packet: the ethertype
  type: string | null; // unix and packet: stream, dgram, seqpacket, raw
  owners: LineOwner[];
}

export function namespaceOf(path: string): string {
  return path.startsWith('netns/') ? path.slice(6, path.lastIndexOf('/')) : path.slice(0, path.indexOf('/'));
}

export function parseLine(path: string, line: string): LineFields {
  const kind = path.slice(path.lastIndexOf('/') + 1);
  const fields = line.split(SEP);
  const endpoint = fields[0];
  const typed = kind === 'unix' || kind === 'packet';
  const type = typed ? fields[1] ?? null : null;
  const rest = fields.slice(typed ? 2 : 1);
  const owners: LineOwner[] = [];
  // comm, users, exe, then '+' before the next group
  for (let i = 0; i + 2 < rest.length; i += 4) owners.push({ comm: rest[i], users: rest[i + 1].split(','), exe: rest[i + 2] === '?' ? null : rest[i + 2] });
  let address: string | null = null, port: number | null = null, protocol: string | null = null;
  if (kind === 'unix') address = endpoint;
  else {
    // an outbound connection is keyed by its peer ('* -> 10.0.0.1:443'), an inbound one by the local end
    const target = endpoint.includes(' -> ') ? endpoint.slice(endpoint.indexOf(' -> ') + 4) : endpoint.split(' <- ')[0];
    const cut = target.lastIndexOf(':');
    const host = cut < 0 ? target : target.slice(0, cut);
    const tail = cut < 0 ? '' : target.slice(cut + 1);
    address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if ((kind === 'tcp' || kind === 'udp') && /^\d+$/.test(tail)) port = Number(tail);
    else protocol = tail || null;
  }
  return { namespace: namespaceOf(path), kind, endpoint, address, port, protocol, type, owners };
}
