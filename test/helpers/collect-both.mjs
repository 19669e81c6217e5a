// Collects the real /proc three times, fd links read natively (the default when the addon is
// built), in a worker and in line (JS), and prints all three (JSON),
// plus what the worker alone found for the pids named in argv.
import { collect } from '../../dist/collect/index.js';
import { startFdScan } from '../../dist/collect/fds.js';

const view = (c) => c.sockets.map((s) => ({ kind: s.kind, local: `${s.localAddress}:${s.localPort}`, state: s.state, inode: s.inode, owners: s.owners.map((o) => o.pid) }))
  .sort((a, b) => a.inode - b.inode);
const pids = process.argv.slice(2).map(Number);
const scan = startFdScan('/proc', pids, true);
const worker = scan === null ? null : Object.fromEntries(scan.finish({ has: () => true }, false)); // the worker reads every pid
console.log(JSON.stringify({ native: view(collect()), parallel: view(collect({ parallel: true })), inline: view(collect({ parallel: false })), worker }));
