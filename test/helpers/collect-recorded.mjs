// Collects the real /proc once as a scan does (the snapshot's selection: TCP listeners, so TCP
// sockets of other states are dumped only when a socket fd is in no table read) and prints each
// socket's kind, state, address, inode, namespace and owner pids, sorted by inode (JSON).
import { collect } from '../../dist/collect/index.js';
import { recordable, recordableState } from '../../dist/snapshot/select.js';

const c = collect({ keep: (s) => recordable(s, {}), keepState: (k, st) => recordableState(k, st, {}) });
console.log(JSON.stringify(c.sockets.map((s) => ({
  kind: s.kind, state: s.state, local: `${s.localAddress}:${s.localPort}`, inode: s.inode, netns: s.netns, owners: s.owners.map((o) => o.pid).sort((x, y) => x - y),
})).sort((x, y) => x.inode - y.inode)));
