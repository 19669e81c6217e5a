// Reads this namespace's TCP sockets through netlink twice, listeners only: once asking the addon
// to drop the other states to bare inodes (what collect does), once with every state parsed in JS
// (an addon without that filter); prints both, and the raw filtered reply's sizes (JSON).
import { statSync } from 'node:fs';
import { netlinkAddon, readNetlinkTables } from '../../dist/collect/netlink/index.js';

const ino = statSync('/proc/self/ns/net').ino;
const listen = (kind, state) => kind === 'tcp' ? state === 'LISTEN' : true;
const read = () => {
  const saw = [];
  const r = readNetlinkTables('/proc/self/ns/net', ino, undefined, listen, (i) => saw.push(i));
  return { sockets: r.sockets.filter((s) => s.kind === 'tcp').map((s) => `${s.localAddress}:${s.localPort} ${s.state} ${s.inode}`).sort(), saw: saw.sort((a, b) => a - b) };
};
const filtered = read();
const a = netlinkAddon();
const query = a.query;
a.query = (ns, inode, protocol, requests) => query(ns, inode, protocol, requests); // the filter ignored: every state in the reply
const whole = read();
a.query = query;
// one TCP/IPv4 dump of every state, listeners kept whole (bit 10: TCP_LISTEN)
const req = Buffer.alloc(72);
req.writeUInt32LE(72, 0); req.writeUInt16LE(20, 4); req.writeUInt16LE(0x301, 6); req.writeUInt32LE(7, 8);
req[16] = 2; req[17] = 6; req.writeUInt32LE(0xffffffff, 20);
const [raw] = query(`/proc/self/ns/net`, ino, 4, [req], [1 << 10]);
console.log(JSON.stringify({ filtered, whole, messages: raw.length, dropped: raw.dropped ? [...raw.dropped] : null }));
