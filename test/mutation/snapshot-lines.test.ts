// What the snapshot records and how each line is written, on sockets made by hand (every kind,
// state, owner and namespace case the /proc fixtures do not hold): which sockets make a line, the
// identity that merges them, the order of lines, the owners' text, which files a namespace gets,
// and the fields a line is read back into (JSON, mail). Written against the mutants of src/snapshot
// that survived the fixture tests (test/MUTATION.md).
import { describe, expect, it } from 'vitest';
import { buildSnapshot, fileText } from '../../src/snapshot/index.js';
import { ethertypeName, ipProtocolName } from '../../src/collect/addresses.js';
import { formatOwners, localEndpoint } from '../../src/snapshot/lines.js';
import { namespaceOf, parseLine } from '../../src/snapshot/parse-line.js';
import { identity, listeningPorts, recordable, recordableState } from '../../src/snapshot/select.js';
import type { Collection, NetNamespace, Owner, Socket } from '../../src/types.js';

const owner = (pid: number, comm: string, user: string | null, exe: string | null): Owner =>
  ({ pid, comm, exe, uid: 0, user, cmdline: [comm], container: null, startedAt: null });
let inode = 1000;
const sock = (over: Partial<Socket>): Socket => ({
  kind: 'tcp', family: 'inet', netns: 1, inode: inode++, state: 'LISTEN', localAddress: '0.0.0.0', localPort: 22,
  remoteAddress: '0.0.0.0', remotePort: 0, uid: 0, user: 'root', owners: [owner(1, 'svc', 'root', '/usr/bin/svc')], ...over,
});
const HOST: NetNamespace = { inode: 1, label: 'host', host: true };
const coll = (sockets: Socket[], namespaces: NetNamespace[] = [HOST]): Collection =>
  ({ namespaces, sockets, stats: { processes: 0, namespaces: namespaces.length, sockets: sockets.length, unreadable: 0, vanished: 0 } });
const FIVE = ['tcp', 'udp', 'raw', 'packet', 'unix'];

describe('which sockets a snapshot records', () => {
  it('by default: TCP listeners, bound unconnected UDP, raw, packet, named unix sockets that listen or are bound; with --established also connections', () => {
    const cases: [Partial<Socket>, boolean, boolean][] = [ // socket, recorded by default, recorded with established
      [{ kind: 'tcp', state: 'LISTEN' }, true, true],
      [{ kind: 'tcp', state: 'ESTABLISHED' }, false, true],
      [{ kind: 'tcp', state: 'SYN_SENT' }, false, false],
      [{ kind: 'tcp', state: 'TIME_WAIT' }, false, false],
      [{ kind: 'udp', state: 'UNCONN', localPort: 53 }, true, true],
      [{ kind: 'udp', state: 'UNCONN', localPort: 0 }, false, false], // created, never bound
      [{ kind: 'udp', state: 'ESTAB', localPort: 40000 }, false, true],
      [{ kind: 'udp', state: 'LISTEN', localPort: 53 }, false, false],
      [{ kind: 'raw', state: 'ESTAB' }, true, true],
      [{ kind: 'packet', state: 'UNCONN' }, true, true],
      [{ kind: 'unattributed', state: '' }, true, true],
      [{ kind: 'unix', state: 'LISTEN', localAddress: '/run/a' }, true, true],
      [{ kind: 'unix', state: 'UNCONN', localAddress: '/run/a', socketType: 'stream' }, true, true],
      [{ kind: 'unix', state: 'CONN', localAddress: '/run/a', socketType: 'stream' }, false, false], // an accepted connection repeats the path
      [{ kind: 'unix', state: 'CONN', localAddress: '/run/a', socketType: 'dgram' }, true, true],
      [{ kind: 'unix', state: 'LISTEN', localAddress: '' }, false, false], // unnamed
      [{ kind: 'unix', state: 'CONN', localAddress: '', socketType: 'dgram' }, false, false],
      [{ kind: 'unix', state: 'CONN', localAddress: '', ambiguous: 'a record that could be forged' }, true, true],
    ];
    const got = cases.map(([s]) => [recordable(sock(s), {}), recordable(sock(s), { established: true })]);
    expect(got).toEqual(cases.map(([, d, e]) => [d, e]));
  });

  it('the collector skips by state alone exactly what recordable would drop for that state', () => {
    expect([
      recordableState('tcp', 'LISTEN', {}), recordableState('tcp', 'ESTABLISHED', {}), recordableState('tcp', 'ESTABLISHED', { established: true }),
      recordableState('tcp', 'SYN_SENT', { established: true }), recordableState('tcp', 'UNCONN', {}),
      recordableState('udp', 'UNCONN', {}), recordableState('udp', 'ESTAB', {}), recordableState('udp', 'ESTAB', { established: true }),
      recordableState('udp', 'LISTEN', { established: true }), recordableState('raw', 'ESTAB', {}), recordableState('raw', 'UNCONN', {}),
    ]).toEqual([true, false, true, false, false, true, false, true, false, true, true]);
  });
});

describe('the identity of a line', () => {
  const id = (s: Partial<Socket>, listening = new Set<string>()) => identity(sock(s), listening, { established: true })?.key;
  it('unix: path and type, "bound" for a stream socket that does not listen, "?" for an unknown type, "!" and the doubt for an ambiguous record', () => {
    expect([
      id({ kind: 'unix', localAddress: '/run/a b', state: 'LISTEN', socketType: 'stream' }),
      id({ kind: 'unix', localAddress: '/run/a', state: 'UNCONN', socketType: 'stream' }),
      id({ kind: 'unix', localAddress: '/run/a', state: 'UNCONN', socketType: 'seqpacket' }),
      id({ kind: 'unix', localAddress: '/run/a', state: 'CONN', socketType: 'dgram' }),
      id({ kind: 'unix', localAddress: '@a', state: 'LISTEN' }),
      id({ kind: 'unix', localAddress: '', state: 'CONN', ambiguous: 'two records in one' }),
      id({ kind: 'unix', localAddress: '', state: 'CONN', socketType: 'stream' }),
    ]).toEqual(['/run/a\\x20b  stream', '/run/a  stream bound', '/run/a  seqpacket bound', '/run/a  dgram', '@a  ?', '! two records in one', undefined]);
  });

  it('packet: interface, ethertype and type; raw: address and protocol, "ping" for an ICMP datagram socket', () => {
    expect([
      id({ kind: 'packet', family: 'packet', localAddress: 'eth0', localPort: 0x0806, socketType: 'raw' }),
      id({ kind: 'packet', family: 'packet', localAddress: '*', localPort: 3 }),
      id({ kind: 'raw', localPort: 1 }),
      id({ kind: 'raw', localPort: 1, socketType: 'dgram' }),
      id({ kind: 'raw', family: 'inet6', localAddress: '::', localPort: 58, v6only: true }),
    ]).toEqual(['eth0:arp  raw', '*:all  ?', '0.0.0.0:icmp', '0.0.0.0:ping', '[::]:ipv6-icmp']);
  });

  it('a connection to one of our listeners is inbound (listener and peer address); any other is outbound (peer only), per namespace and kind', () => {
    const listener = sock({ netns: 2, localPort: 22 });
    const udpServer = sock({ kind: 'udp', state: 'UNCONN', localPort: 5353 });
    const conn = { kind: 'tcp' as const, state: 'ESTABLISHED', localAddress: '10.0.0.2', localPort: 22, remoteAddress: '10.0.0.9', remotePort: 50123 };
    const listening = listeningPorts([listener, udpServer]);
    expect(id({ ...conn, netns: 2 }, listening)).toBe('10.0.0.2:22 <- 10.0.0.9');
    expect(id({ ...conn, netns: 1 }, listening)).toBe('* -> 10.0.0.9:50123'); // the listener is in another namespace
    expect(id({ ...conn, netns: 2, kind: 'udp', state: 'ESTAB' }, listening)).toBe('* -> 10.0.0.9:50123'); // a tcp listener is not a udp one
    expect(id({ ...conn, netns: 1, kind: 'udp', state: 'ESTAB', localPort: 5353 }, listening)).toBe('10.0.0.2:5353 <- 10.0.0.9');
    const out = identity(sock({ ...conn, netns: 1, remoteAddress: '::1', family: 'inet6', remotePort: 443 }), listening, { established: true })!;
    expect(out).toMatchObject({ key: '* -> [::1]:443', port: 443, address: '::1' }); // sorted by the peer's port
    const inb = identity(sock({ ...conn, netns: 2 }), listening, { established: true })!;
    expect(inb).toMatchObject({ port: 22, address: '10.0.0.2' });
  });

  it('server ports: TCP listeners, UDP bound unconnected or held by several sockets (QUIC-style), never port 0', () => {
    const udp = (localPort: number, state: string, netns = 1) => sock({ kind: 'udp', state, localPort, netns });
    expect([...listeningPorts([
      sock({ localPort: 22 }), sock({ localPort: 23, state: 'ESTABLISHED' }),
      udp(443, 'ESTAB'), udp(443, 'ESTAB'), // one port, two connected sockets: a server
      udp(5000, 'ESTAB'), // one connected socket: a client
      udp(53, 'UNCONN', 7),
      udp(0, 'UNCONN'), udp(0, 'UNCONN'),
    ])].sort()).toEqual(['1/tcp/22', '1/udp/443', '7/udp/53']);
  });
});

describe('the lines of a snapshot', () => {
  it('the host always has its five files; another namespace only when it records something; unattributed only when there is one', () => {
    const ns = (n: number, label: string): NetNamespace => ({ inode: n, label, host: false });
    const snap = buildSnapshot(coll([
      sock({ netns: 3, localPort: 80 }),
      sock({ netns: 2, state: 'ESTABLISHED' }), // not recorded: namespace 2 stays without files
      sock({ netns: 3, kind: 'unattributed', localAddress: 'vsock/stream', owners: [owner(9, 'vm', 'root', '/usr/bin/vm')] }),
      sock({ netns: 99, localPort: 99 }), // a namespace the collection does not list: left out, not a crash
    ], [HOST, ns(2, 'quiet'), ns(3, 'web')]));
    expect([...snap.keys()]).toEqual([...FIVE.map((k) => `host/${k}`), ...FIVE.map((k) => `netns/web/${k}`), 'netns/web/unattributed']);
    expect(snap.get('host/tcp')).toEqual([]);
    expect(snap.get('netns/web/tcp')).toEqual(['0.0.0.0:80  svc  root  /usr/bin/svc']);
    expect(snap.get('netns/web/unattributed')).toEqual(['vsock/stream  vm  root  /usr/bin/vm']);
    expect([...snap.values()].flat().join('\n')).not.toContain(':99');
  });

  it('sorts by port as a number, then address, then the line, whatever order the sockets come in', () => {
    const sockets = [
      sock({ localPort: 100 }), sock({ localPort: 22, localAddress: '9.0.0.1' }), sock({ localPort: 22, localAddress: '10.0.0.1' }),
      sock({ localPort: 22, device: 'lo' }), sock({ localPort: 22 }),
      sock({ kind: 'packet', family: 'packet', localAddress: 'lo', localPort: 0x0800, socketType: 'raw' }),
      sock({ kind: 'packet', family: 'packet', localAddress: 'lo', localPort: 0x0800, socketType: 'dgram' }),
    ];
    const expected = {
      tcp: ['0.0.0.0%lo:22', '0.0.0.0:22', '10.0.0.1:22', '9.0.0.1:22', '0.0.0.0:100'].map((e) => `${e}  svc  root  /usr/bin/svc`),
      packet: ['lo:ip  dgram  svc  root  /usr/bin/svc', 'lo:ip  raw  svc  root  /usr/bin/svc'],
    };
    for (const order of [sockets, [...sockets].reverse(), [sockets[4], sockets[2], sockets[6], sockets[0], sockets[3], sockets[5], sockets[1]]]) {
      const snap = buildSnapshot(coll(order));
      expect(snap.get('host/tcp')).toEqual(expected.tcp);
      expect(snap.get('host/packet')).toEqual(expected.packet);
    }
  });

  it('merges the sockets of one identity: owners grouped per program (sorted), users joined (sorted), the socket user when no owner is known', () => {
    const a = owner(10, 'a', 'root', '/a'), b = owner(20, 'b', 'www', '/b');
    const lines = (sockets: Socket[]) => buildSnapshot(coll(sockets)).get('host/tcp');
    expect(lines([sock({ owners: [b, a] })])).toEqual(['0.0.0.0:22  a  root  /a  +  b  www  /b']);
    expect(lines([sock({ owners: [a, b] })])).toEqual(['0.0.0.0:22  a  root  /a  +  b  www  /b']);
    // SO_REUSEPORT: one line for both sockets, one group for one program run by two users
    expect(lines([sock({ owners: [owner(11, 'a', 'zed', '/a')] }), sock({ owners: [a] })])).toEqual(['0.0.0.0:22  a  root,zed  /a']);
    expect(lines([sock({ owners: [owner(11, 'a', null, null)] })])).toEqual(['0.0.0.0:22  a  ?  ?']);
    // no owner known: the user the table names, from whichever socket has one
    expect(lines([sock({ owners: [], user: null }), sock({ owners: [], user: 'nobody' })])).toEqual(['0.0.0.0:22  ?  nobody  ?']);
    expect(lines([sock({ owners: [], user: null })])).toEqual(['0.0.0.0:22  ?  ?  ?']);
    // the same process on two lines, and two processes with the same pid set but another socket user: each its own text
    expect(lines([sock({ localPort: 1, owners: [], user: 'u1' }), sock({ localPort: 2, owners: [], user: 'u2' }), sock({ localPort: 3, owners: [a] }), sock({ localPort: 4, owners: [a, b] })]))
      .toEqual(['0.0.0.0:1  ?  u1  ?', '0.0.0.0:2  ?  u2  ?', '0.0.0.0:3  a  root  /a', '0.0.0.0:4  a  root  /a  +  b  www  /b']);
  });

  it('unattributed sockets: one line per program holding them, per kind lsm could tell', () => {
    const u = (localAddress: string, o: Owner) => sock({ kind: 'unattributed', localAddress, owners: [o] });
    const a = owner(10, 'a', 'root', '/a'), a2 = owner(11, 'a', 'root', '/a'), b = owner(20, 'b', 'root', '/b');
    expect(buildSnapshot(coll([u('', a), u('', a2), u('', b), u('vsock/stream', a)])).get('host/unattributed'))
      .toEqual(['socket  a  root  /a', 'socket  b  root  /b', 'vsock/stream  a  root  /a']);
  });

  it('formats owners the same way when called alone, and a file is its lines each ended by a newline (empty: nothing)', () => {
    expect(formatOwners([], 'r\too')).toBe('?  r\\x09oo  ?');
    expect(formatOwners([owner(1, 'x y', 'u', '/p q')], null)).toBe('x\\x20y  u  /p\\x20q');
    expect(fileText([])).toBe('');
    expect(fileText(['a'])).toBe('a\n');
    expect(fileText(['a', 'b'])).toBe('a\nb\n');
  });
});

describe('names of protocols and endpoints', () => {
  it('IP protocols and ethertypes by name, unknown ones by number', () => {
    expect([ipProtocolName(6), ipProtocolName(255), ipProtocolName(253)]).toEqual(['tcp', 'raw', 'proto-253']);
    expect([ethertypeName(0x88cc), ethertypeName(1), ethertypeName(0x88b5)]).toEqual(['lldp', '0x0001', '0x88b5']);
  });
  it('packet and unix endpoints are escaped; an unattributed socket shows its inode (status only)', () => {
    expect([
      localEndpoint(sock({ kind: 'packet', localAddress: 'we ird', localPort: 0x86dd })),
      localEndpoint(sock({ kind: 'unix', localAddress: '@a\nb' })),
      localEndpoint(sock({ kind: 'unattributed', localAddress: '', inode: 42 })),
      localEndpoint(sock({ kind: 'unattributed', localAddress: 'vsock stream', inode: 43 })),
    ]).toEqual(['we\\x20ird:ipv6', '@a\\x0ab', 'socket:[42]', 'vsock\\x20stream:[43]']);
  });
});

describe('a line read back into fields', () => {
  it('names the namespace of a path', () => {
    expect([namespaceOf('host/tcp'), namespaceOf('netns/web/unix'), namespaceOf('netns/a%x20b/udp')]).toEqual(['host', 'web', 'a%x20b']);
  });
  it('every kind of line: endpoint, address, port or protocol, type, and each owner group', () => {
    const svc = { comm: 'svc', users: ['root'], exe: '/usr/bin/svc' };
    expect(parseLine('host/tcp', '0.0.0.0:22  sshd  root,sshd  /usr/sbin/sshd')).toEqual({
      namespace: 'host', kind: 'tcp', endpoint: '0.0.0.0:22', address: '0.0.0.0', port: 22, protocol: null, type: null,
      owners: [{ comm: 'sshd', users: ['root', 'sshd'], exe: '/usr/sbin/sshd' }],
    });
    expect(parseLine('netns/web/udp', '[::]:53  svc  root  /usr/bin/svc')).toMatchObject({ namespace: 'web', kind: 'udp', address: '::', port: 53, protocol: null, type: null });
    expect(parseLine('host/tcp', '*:22  svc  root  /usr/bin/svc')).toMatchObject({ address: '*', port: 22 });
    expect(parseLine('host/raw', '[::]:ipv6-icmp  svc  root  /usr/bin/svc')).toMatchObject({ address: '::', port: null, protocol: 'ipv6-icmp', type: null });
    expect(parseLine('host/packet', 'lo:ip  dgram  ?  root  ?')).toEqual({
      namespace: 'host', kind: 'packet', endpoint: 'lo:ip', address: 'lo', port: null, protocol: 'ip', type: 'dgram', owners: [{ comm: '?', users: ['root'], exe: null }],
    });
    expect(parseLine('host/unix', '/run/a:b  stream  svc  root  /usr/bin/svc  +  x  u1,u2  ?')).toEqual({
      namespace: 'host', kind: 'unix', endpoint: '/run/a:b', address: '/run/a:b', port: null, protocol: null, type: 'stream',
      owners: [svc, { comm: 'x', users: ['u1', 'u2'], exe: null }],
    });
    expect(parseLine('host/tcp', '* -> 10.0.0.1:443  svc  root  /usr/bin/svc')).toMatchObject({ endpoint: '* -> 10.0.0.1:443', address: '10.0.0.1', port: 443 });
    expect(parseLine('host/udp', '* -> [2001:db8::1]:53  svc  root  /usr/bin/svc')).toMatchObject({ address: '2001:db8::1', port: 53 });
    expect(parseLine('host/tcp', '127.0.0.1:22 <- 10.0.0.5  svc  root  /usr/bin/svc')).toMatchObject({ address: '127.0.0.1', port: 22, owners: [svc] });
    expect(parseLine('host/unattributed', 'socket  svc  root  /usr/bin/svc')).toMatchObject({ endpoint: 'socket', address: 'socket', port: null, protocol: null, owners: [svc] });
    expect(parseLine('host/unix', '/run/x')).toMatchObject({ type: null, owners: [] }); // a line cut short: no made-up field
    expect(parseLine('host/tcp', '0.0.0.0:22  svc  root')).toMatchObject({ owners: [] });
  });
});
