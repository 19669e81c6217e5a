// One namespace's tables read from a /proc/<pid>/net directory (src/collect/index.ts readNetDir),
// the path taken when netlink is not there or cannot dump a kind: a copy of the basic fixture's
// captured tables, with the files the kernel adds (icmp ping sockets, protocols, netlink,
// udplite) written in their kernel form, and tables cut into pieces longer than one read.
import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNetDir } from '../../src/collect/index.js';
import { FIXTURES } from '../unit/fixtures.js';

const HDR = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
function netDir(edit: (dir: string) => void = () => {}): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'lsm-netdir-')), 'net');
  cpSync(join(FIXTURES, 'basic', 'proc', '1', 'net'), dir, { recursive: true });
  edit(dir);
  return dir;
}
const view = (sockets: { kind: string; family: string; inode: number; localPort: number; remotePort: number; socketType?: string }[]) =>
  sockets.map((s) => `${s.kind}/${s.family} ${s.inode} ${s.localPort}>${s.remotePort} ${s.socketType ?? '-'}`);

describe('readNetDir', () => {
  it('every table of the directory, in order: inet, ping, unix, packet', () => {
    const dir = netDir((d) => {
      writeFileSync(join(d, 'icmp'), HDR + '   7: 0100007F:0C3A 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 9200 2 0000000000000000 0\n');
      writeFileSync(join(d, 'icmp6'), HDR + '   8: 00000000000000000000000001000000:0C3B 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 9201 2 0000000000000000 0\n');
    });
    const got = readNetDir(dir, 3, {})!;
    expect(view(got)).toEqual([
      'tcp/inet 9091 22>0 -', 'tcp/inet 9110 22>35158 -', 'tcp/inet 9111 35158>22 -', 'tcp/inet 9120 8080>0 -', 'tcp/inet6 9092 22>0 -',
      'udp/inet 9093 68>0 -', 'udp/inet 9130 54321>53 -', 'udp/inet6 9094 546>0 -', 'raw/inet 9095 1>0 -', 'raw/inet6 9096 58>0 -',
      // ping sockets: raw, dgram, the protocol as the port, no remote port (the echo id is per run)
      'raw/inet 9200 1>0 dgram', 'raw/inet6 9201 58>0 dgram',
      'unix/unix 9099 0>0 dgram', 'unix/unix 0 0>0 stream', 'unix/unix 9100 0>0 stream', 'unix/unix 9112 0>0 stream', 'unix/unix 9113 0>0 stream', 'unix/unix 9101 0>0 stream', 'unix/unix 9102 0>0 seqpacket',
      'packet/packet 9097 3>0 raw', 'packet/packet 9098 2048>0 dgram',
    ]);
    expect(got.every((s) => s.netns === 3)).toBe(true);
    expect(got.find((s) => s.inode === 9098)!.localAddress).toBe('lo'); // named from if_inet6 of this directory
  });

  it('only: the tables netlink could not give (ping sockets always); a directory gone is null', () => {
    const dir = netDir();
    expect(view(readNetDir(dir, 3, {}, new Set(['raw6', 'packet']))!)).toEqual(['raw/inet6 9096 58>0 -', 'packet/packet 9097 3>0 raw', 'packet/packet 9098 2048>0 dgram']);
    expect(readNetDir(dir, 3, {}, new Set(['unix']))!.map((s) => s.kind)).toEqual(Array(7).fill('unix'));
    expect(readNetDir(dir, 3, {}, new Set([]))).toEqual([]);
    expect(readNetDir(join(dir, 'none'), 3, {}, new Set([]))).toBeNull();
    expect(readNetDir(join(dir, 'none'), 3, {})).toBeNull();
    // no unix table: the process exited while it was read
    rmSync(join(dir, 'unix'));
    expect(readNetDir(dir, 3, {})).toBeNull();
    expect(readNetDir(dir, 3, {}, new Set(['tcp6']))!.map((s) => s.inode)).toEqual([9092]);
  });

  it('keep, keepState and saw: saw hears every socket, netlink and udplite ones too, and keep drops', () => {
    const dir = netDir((d) => {
      writeFileSync(join(d, 'netlink'), 'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n0000000000000000 0   1          00000000 0        0        0     2        0        9300   \n');
      writeFileSync(join(d, 'udplite'), HDR + '   1: 00000000:1234 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9301 2 0000000000000000 0\n');
      writeFileSync(join(d, 'udplite6'), HDR.replace('rem_address', 'remote_address') + '   1: 00000000000000000000000000000000:1234 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9302 2 0000000000000000 0\n');
    });
    const saw: number[] = [];
    const got = readNetDir(dir, 3, { keep: (s) => s.kind !== 'unix' || s.state === 'LISTEN', keepState: (_, st) => st !== 'ESTABLISHED' && st !== 'ESTAB', saw: (i) => saw.push(i) })!;
    expect(got.map((s) => s.inode)).toEqual([9091, 9120, 9092, 9093, 9094, 9095, 9096, 9100, 9101, 9102, 9097, 9098]);
    expect(saw.sort((a, b) => a - b)).toEqual([0, 9091, 9092, 9093, 9094, 9095, 9096, 9097, 9098, 9099, 9100, 9101, 9102, 9110, 9111, 9112, 9113, 9120, 9130, 9300, 9301, 9302]);
    // without saw, netlink and udplite are not read; with it, their sockets are never recorded
    expect(readNetDir(dir, 3, {})!.some((s) => s.inode >= 9300)).toBe(false);
  });

  it("the kernel's count of unix sockets, from protocols before and after the table, the larger", () => {
    const proto = (n: number) => `protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\nUNIX-STREAM 1024   ${n}      -1   NI       0   yes  kernel      y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\nUNIX      1024     0      -1   NI       0   yes  kernel      y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n`;
    const dir = netDir((d) => writeFileSync(join(d, 'protocols'), proto(6)));
    const doubt = (d: string) => readNetDir(d, 3, {})!.filter((s) => s.ambiguous).map((s) => s.ambiguous);
    expect(doubt(dir)).toEqual(['/proc/net/unix: 7 sockets, the kernel counts 6']);
    writeFileSync(join(dir, 'protocols'), proto(7));
    expect(doubt(dir)).toEqual([]);
    rmSync(join(dir, 'protocols'));
    expect(doubt(dir)).toEqual([]); // no count: nothing to compare with
  });

  it('a table longer than one read, and lines longer than the buffer, are read whole', () => {
    const line = (i: number) => `${String(i).padStart(4)}: 0100007F:${(1024 + i).toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${10000 + i} 1 0000000000000000 100 0 0 10 0`;
    const lines = Array.from({ length: 3000 }, (_, i) => line(i));
    const long = `${line(3000)}${' '.repeat(200_000)}`; // the kernel pads no line so, but a table must never be misread
    const dir = netDir((d) => writeFileSync(join(d, 'tcp'), HDR + lines.join('\n') + '\n' + long + '\n' + line(3001)));
    expect(readFileSync(join(dir, 'tcp')).length).toBeGreaterThan(1 << 18);
    const tcp = readNetDir(dir, 3, {}, new Set(['tcp']))!;
    expect(tcp.length).toBe(3002);
    expect(tcp.map((s) => s.inode)).toEqual(Array.from({ length: 3002 }, (_, i) => 10000 + i));
    expect(tcp.map((s) => s.localPort)).toEqual(Array.from({ length: 3002 }, (_, i) => 1024 + i));
  });
});
