// The /proc/net/unix fallback meets names built to imitate records (issue 7): a forged record is
// folded back into the name it came from, or the doubt itself is what gets recorded.
import { describe, expect, it } from 'vitest';
import { parseUnixTable } from '../../src/collect/tables.js';
import { unixSocketCount } from '../../src/collect/unix-ambiguity.js';
import { buildSnapshot } from '../../src/snapshot/index.js';
import type { Owner, Socket } from '../../src/types.js';

const HDR = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
const rec = (inode: number, name = '', flags = '00010000', addr = '00000000584eae78') =>
  `${addr}: 00000002 00000000 ${flags} 0001 01 ${inode}${name ? ' ' + name : ''}`;
const forged = (inode: number, path: string) => rec(inode, path, '00010000', '0000000000000000');
const view = (sockets: Socket[]) => sockets.map((s) => s.ambiguous ? `! ${s.ambiguous}` : `${s.localAddress} ${s.inode}`);

describe('/proc/net/unix names that imitate records', () => {
  it('a forged copy of a real record after a name is folded into that name; the real record stays', () => {
    // the real record opens the table (nothing before it can have absorbed it)
    const text = HDR + [rec(7100, '/run/admin.sock'), rec(7101, '@X'), forged(7100, '/run/admin.sock'), rec(7102)].join('\n') + '\n';
    expect(view(parseUnixTable(text, 1, 3).sockets)).toEqual([
      '/run/admin.sock 7100', `@X\n${forged(7100, '/run/admin.sock')} 7101`, ' 7102',
    ]);
  });

  it('a real record right after an unnamed one cannot be part of a name, wherever the copy is', () => {
    const text = HDR + [rec(7101, '@X'), forged(7100, '/run/admin.sock'), rec(7102), rec(7100, '/run/admin.sock')].join('\n') + '\n';
    expect(view(parseUnixTable(text, 1, 3).sockets)).toEqual([
      `@X\n${forged(7100, '/run/admin.sock')} 7101`, ' 7102', '/run/admin.sock 7100',
    ]);
  });

  it('when both copies could be part of a name, neither is recorded: the doubt is, with the inode', () => {
    const text = HDR + [rec(7103, '/run/other.sock'), rec(7100, '/run/admin.sock'), rec(7101, '@X'), forged(7100, '/run/admin.sock')].join('\n') + '\n';
    const t = parseUnixTable(text, 1, 3);
    expect(view(t.sockets)).toEqual(['/run/other.sock 7103', `@X 7101`, '! /proc/net/unix: inode 7100 in 2 records']);
    const doubt = t.sockets.find((s) => s.ambiguous)!;
    expect(doubt.inode).toBe(7100); // its owner is the real socket's holder
    // it is a line of the snapshot, so it alerts
    const admind: Owner = { pid: 5, comm: 'admind', exe: '/usr/sbin/admind', uid: 0, user: 'root', cmdline: [], container: null, startedAt: null };
    doubt.owners = [admind];
    const snap = buildSnapshot({ namespaces: [{ inode: 1, label: 'host', host: true }], sockets: t.sockets, stats: { processes: 0, namespaces: 1, sockets: 0, unreadable: 0, vanished: 0 } });
    expect(snap.get('host/unix')).toContain('! /proc/net/unix: inode 7100 in 2 records  admind  root  /usr/sbin/admind');
    expect(snap.get('host/unix')!.some((l) => l.startsWith('/run/admin.sock'))).toBe(false);
  });

  it('more sockets than the kernel counts is a line of its own', () => {
    const text = HDR + [rec(7100, '/run/admin.sock'), rec(7101, '@Y'), forged(7999, '/run/fake.sock')].join('\n') + '\n';
    expect(view(parseUnixTable(text, 1, 2).sockets)).toContain('! /proc/net/unix: 3 sockets, the kernel counts 2');
    expect(view(parseUnixTable(text, 1, 3).sockets).some((l) => l.startsWith('!'))).toBe(false);
  });

  it('junk after an inode continues the name before it instead of ending it', () => {
    const text = HDR + [rec(7101, '@X'), rec(7100, '/run/a.sock').replace(' 7100', ' 7100x'), rec(7102)].join('\n') + '\n';
    expect(view(parseUnixTable(text, 1, 2).sockets)).toEqual([`@X\n${rec(7100, '/run/a.sock').replace(' 7100', ' 7100x')} 7101`, ' 7102']);
  });

  it("the kernel's count: UNIX and UNIX-STREAM of /proc/net/protocols", () => {
    const protocols = 'protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re bi br ha uh gp em\n' +
      'UNIX-STREAM 1152     28      -1   NI       0   yes  kernel      y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n' +
      'UNIX      1152      3      -1   NI       0   yes  kernel      y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n' +
      'TCP       2432      5       2   no     320   yes  kernel      y  y  y  y  y  y  y  y  y  y  y  y  y  n  y  y  y  y\n';
    expect(unixSocketCount(protocols)).toBe(31);
    expect(unixSocketCount('protocol size sockets\n')).toBeNull();
  });
});
