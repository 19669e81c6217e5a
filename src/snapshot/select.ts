// What a snapshot records, and the identity that merges sockets into one line.
import { endpoint } from '../collect/addresses.js';
import type { Socket } from '../types.js';
import { escapeField } from './escape.js';
import { localEndpoint } from './lines.js';

export interface SelectOptions {
  /** also record established connections, aggregated so that ephemeral ports never appear */
  established?: boolean;
}

export interface Identity {
  key: string; // the line's first fields: what makes two sockets the same line
  port: number; // sort order: port, then address
  address: string;
  group?: string; // what merges sockets into one line, when not the key itself
}

/**
 * Default: TCP listeners; bound, unconnected UDP; raw, ping and packet sockets; named unix sockets
 * that listen or are bound (an accepted unix connection repeats its listener's path: not recorded).
 * The collector takes this as its filter, so the rest is never kept.
 */
export function recordable(s: Socket, options: SelectOptions): boolean {
  switch (s.kind) {
    case 'tcp': return s.state === 'LISTEN' || (!!options.established && s.state === 'ESTABLISHED');
    case 'udp': return (s.state === 'UNCONN' && s.localPort !== 0) || (!!options.established && s.state === 'ESTAB');
    case 'raw': case 'packet': return true;
    case 'unix': return !!s.ambiguous || s.localAddress !== '' && (s.state === 'LISTEN' || s.state === 'UNCONN' || s.socketType === 'dgram');
    case 'unattributed': return true;
  }
}

/** The part of `recordable` that the state alone decides, for the collector to skip early. */
export function recordableState(kind: 'tcp' | 'udp' | 'raw', state: string, options: SelectOptions): boolean {
  if (kind === 'tcp') return state === 'LISTEN' || (!!options.established && state === 'ESTABLISHED');
  if (kind === 'udp') return state === 'UNCONN' || (!!options.established && state === 'ESTAB');
  return true;
}

export function identity(s: Socket, listening: Set<string>, options: SelectOptions): Identity | null {
  if (!recordable(s, options)) return null;
  switch (s.kind) {
    case 'tcp':
      return s.state === 'LISTEN' ? { key: localEndpoint(s), port: s.localPort, address: s.localAddress } : connection(s, listening);
    case 'udp':
      return s.state === 'UNCONN' ? { key: localEndpoint(s), port: s.localPort, address: s.localAddress } : connection(s, listening);
    case 'raw':
      return { key: localEndpoint(s), port: s.localPort, address: s.localAddress };
    case 'packet':
      return { key: `${localEndpoint(s)}  ${s.socketType ?? '?'}`, port: s.localPort, address: s.localAddress };
    case 'unix':
      // a /proc/net/unix record that could be a forgery: the doubt is the line, never the record
      if (s.ambiguous) return { key: `! ${s.ambiguous}`, port: 0, address: '!' };
      // a stream socket bound but not listening says so: it is not the listener a client would reach
      return { key: `${localEndpoint(s)}  ${s.socketType ?? '?'}${s.state === 'LISTEN' || s.socketType === 'dgram' ? '' : ' bound'}`, port: 0, address: escapeField(s.localAddress) };
    case 'unattributed': {
      // one line per program holding such sockets, and per kind where lsm could look ('vsock/stream')
      const key = s.localAddress === '' ? 'socket' : escapeField(s.localAddress);
      const group = `${key}\0${s.owners.map((o) => `${o.comm}\0${o.exe}`).sort().join('\0')}`;
      return { key, port: 0, address: group, group };
    }
  }
}

/** Inbound connections to a listener keep its endpoint and the peer's address; outbound ones
 * keep only the peer's endpoint. */
function connection(s: Socket, listening: Set<string>): Identity {
  if (listening.has(listenKey(s))) {
    return { key: `${localEndpoint(s)} <- ${s.remoteAddress}`, port: s.localPort, address: s.localAddress };
  }
  const peer = endpoint(s.remoteAddress, s.remotePort);
  return { key: `* -> ${peer}`, port: s.remotePort, address: s.remoteAddress };
}

export function listenKey(s: Socket): string {
  return `${s.netns}/${s.kind}/${s.localPort}`;
}

/**
 * Server ports, to tell inbound connections from outbound ones: TCP listeners; UDP ports bound
 * unconnected, or held by several sockets (a QUIC-style server connect()s one SO_REUSEPORT socket
 * per client: that socket's peer port is the client's ephemeral one, never to be recorded).
 */
export function listeningPorts(sockets: Socket[]): Set<string> {
  const set = new Set<string>();
  const udpSeen = new Set<string>();
  for (const s of sockets) {
    if (s.kind === 'tcp' && s.state === 'LISTEN') set.add(listenKey(s));
    else if (s.kind === 'udp' && s.localPort !== 0) {
      const key = listenKey(s);
      if (s.state === 'UNCONN' || udpSeen.has(key)) set.add(key);
      udpSeen.add(key);
    }
  }
  return set;
}
