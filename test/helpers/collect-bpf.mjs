// Collects the real /proc twice, socket fds read by the BPF iterator (collect/bpf/owners.c) and by
// the /proc walk, and prints both (JSON): every socket with its owners' details, the snapshot
// files, how the fds were read (stats.fdLinks), and the raw walk arrays of the pids in argv.
import { collect } from '../../dist/collect/index.js';
import { walkFds, walkFdsBpf } from '../../dist/collect/fds.js';
import { buildSnapshot } from '../../dist/snapshot/index.js';

const view = (c) => c.sockets.map((s) => ({ kind: s.kind, local: `${s.localAddress}:${s.localPort}`, state: s.state, inode: s.inode,
  owners: s.owners.map((o) => ({ pid: o.pid, comm: o.comm, exe: o.exe, cmdline: o.cmdline, uid: o.uid, container: o.container ?? null })) }))
  .sort((a, b) => a.inode - b.inode);
const files = (c) => Object.fromEntries([...buildSnapshot(c, { established: true })].map(([k, v]) => [k, v.join("\n")]));
const pids = process.argv.slice(2).map(Number);
const arrays = (w) => ('refused' in w ? w : { sockets: [...w.sockets], ioUring: [...w.ioUring], netns: [...w.netns] });
const bpf = collect({ bpf: true });
const proc = collect({ bpf: false });
console.log(JSON.stringify({
  bpf: view(bpf), proc: view(proc), bpfFiles: files(bpf), procFiles: files(proc),
  bpfSaid: bpf.stats.fdLinks ?? null, procSaid: proc.stats.fdLinks ?? null,
  walks: { bpf: arrays(walkFdsBpf('/proc', pids)), proc: arrays(walkFds('/proc', pids)) },
}));
