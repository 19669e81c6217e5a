// Collects the real /proc once (netlink, or the /proc text with LSM_NETLINK=off) and prints every
// socket as JSON, with the fields both sources give, sorted by inode.
import { collect } from '../../dist/collect/index.js';

const c = collect();
const view = c.sockets.filter((s) => s.inode !== 0).map((s) => ({
  kind: s.kind, family: s.family, netns: s.netns, inode: s.inode, state: s.state, socketType: s.socketType ?? null,
  local: s.localAddress, localPort: s.localPort, remote: s.remoteAddress, remotePort: s.remotePort,
  uid: s.kind === 'unix' ? null : s.uid, owners: s.owners.map((o) => o.pid).sort((a, b) => a - b),
  device: s.device, v6only: s.v6only, ambiguous: s.ambiguous ?? null,
})).sort((a, b) => a.inode - b.inode);
console.log(JSON.stringify(view));
