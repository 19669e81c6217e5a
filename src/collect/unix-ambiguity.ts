// /proc/net/unix prints names raw, so a name holding "\n" and then text shaped like a record
// imitates a record (issue 7): `X\n0000000000000000: 00000002 00000000 00010000 0001 01 <inode of
// a root socket> /run/admin.sock`. The text alone cannot say where a name ends; the kernel can say
// what it holds. Only used when netlink (collect/netlink/) is not available.
//  - A record line right after an unnamed record cannot be part of a name: it is a real record.
//    One right after a named record may be the rest of that name ("may continue").
//  - An inode is one socket: when records share one, the ones that may continue are the rest of
//    their predecessor's name (the attacker's own socket keeps its whole, escaped name) if exactly
//    one of them cannot; otherwise which is real is undecidable, and the whole group becomes one
//    line saying so (owned by whoever holds that inode), never any of the records.
//  - More distinct sockets than the kernel counts in the namespace (/proc/net/protocols, UNIX and
//    UNIX-STREAM) means a forged record with an inode of its own: that is recorded as a line too.
import type { Socket } from '../types.js';

export interface UnixRecord {
  socket: Socket;
  text: string; // the record's whole text: its line and any continuation lines
  mayContinue: boolean;
}

function ambiguity(netns: number, inode: number, reason: string): Socket {
  return {
    kind: 'unix', family: 'unix', netns, inode, state: 'AMBIGUOUS', localAddress: '', localPort: 0,
    remoteAddress: '', remotePort: 0, uid: -1, user: null, owners: [], ambiguous: reason,
  };
}

export function resolveUnixRecords(records: UnixRecord[], netns: number, kernelCount: number | null): Socket[] {
  const byInode = new Map<number, number[]>();
  records.forEach((r, i) => {
    const group = byInode.get(r.socket.inode);
    if (group) group.push(i); else byInode.set(r.socket.inode, [i]);
  });
  const folded = new Set<number>();
  const dropped = new Set<number>();
  const found: Socket[] = [];
  for (const [inode, group] of byInode) {
    if (group.length < 2) continue;
    const fixed = group.filter((i) => !records[i].mayContinue);
    if (fixed.length === 1) { for (const i of group) if (i !== fixed[0]) folded.add(i); continue; }
    for (const i of group) dropped.add(i);
    found.push(ambiguity(netns, inode, `/proc/net/unix: inode ${inode} in ${group.length} records`));
  }
  const sockets: Socket[] = [];
  let last: Socket | null = null;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (folded.has(i) && last) { last.localAddress += '\n' + r.text; continue; }
    last = r.socket;
    if (!dropped.has(i)) sockets.push(r.socket);
  }
  const distinct = byInode.size;
  if (kernelCount !== null && distinct > kernelCount) {
    found.push(ambiguity(netns, 0, `/proc/net/unix: ${distinct} sockets, the kernel counts ${kernelCount}`));
  }
  return found.length ? sockets.concat(found) : sockets;
}

/** Unix sockets in the namespace, as the kernel counts them: the UNIX and UNIX-STREAM lines of /proc/net/protocols. */
export function unixSocketCount(protocols: string): number | null {
  let total: number | null = null;
  for (const line of protocols.split('\n')) {
    const m = /^(UNIX|UNIX-STREAM) +\d+ +(\d+) /.exec(line);
    if (m) total = (total ?? 0) + Number(m[2]);
  }
  return total;
}
