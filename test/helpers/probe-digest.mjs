// Runs inside a test world (probe-digest.test.ts): the native digest() of a namespace's sockets
// (dist/collect/netlink/digest.js), which the watch probe compares look to look, against the bytes
// netlinkFingerprint keeps of the same dumps; prints what it saw, as JSON.
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { statSync } from 'node:fs';
import { hasNetlinkDigest, netlinkDigest, socketsIn } from '../../dist/collect/netlink/digest.js';
import { netlinkFingerprint } from '../../dist/collect/netlink/index.js';
import { recordableState } from '../../dist/snapshot/select.js';

const keepState = (k, st) => recordableState(k, st, {});
const ns = statSync('/proc/self/ns/net').ino;
const digest = (inodes = true) => netlinkDigest('/proc/self/ns/net', ns, keepState, inodes);
const hashes = () => digest(false).hashes.join(' ');
const sorted = (list) => [...list].sort((a, b) => a - b);
const listen = (server, ...at) => new Promise((r) => server.listen(...at, () => r(server)));
const close = (s) => new Promise((r) => s.close(r));
const said = { available: hasNetlinkDigest() };

const tcp = await listen(net.createServer(), 7931, '127.0.0.1');
const udp = dgram.createSocket('udp4');
await new Promise((r) => udp.bind(7932, '127.0.0.1', r));
const tcp6 = await listen(net.createServer(), 7934, '::1'); // TCP of both families is one request
const unix = await listen(net.createServer(), '\0lsm-probe-digest');
// a UDP socket without a port (never bound: nothing a snapshot records) and an unnamed unix pair
const holder = spawn('python3', ['-c', `import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a, b = socket.socketpair()
print('ready', flush=True)
sys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise((r) => holder.stdout.once('data', r));

const d = digest();
const f = netlinkFingerprint('/proc/self/ns/net', ns, keepState);
said.sameInodes = JSON.stringify(sorted(d.inodes)) === JSON.stringify(sorted(f.inodes));
said.recorded = d.recorded === f.inodes.length && d.recorded === 4;
said.noInodesUnasked = digest(false).inodes;
said.fallbackAlike = JSON.stringify(d.fallback) === JSON.stringify(f.fallback);
const quiet = hashes();
said.quiet = hashes() === quiet;
const tcp2 = await listen(net.createServer(), 7933, '127.0.0.1');
said.newListener = hashes() !== quiet;
await close(tcp2);
said.closedAgain = hashes() === quiet;
const tcp6b = await listen(net.createServer(), 7935, '::1');
said.newListener6 = hashes() !== quiet;
await close(tcp6b);
const unix2 = await listen(net.createServer(), '\0lsm-probe-digest-2');
said.newUnixName = hashes() !== quiet;
await close(unix2);
said.unixClosed = hashes() === quiet;
// keyed at random when the addon loads: another process hashes the same (empty) packet table otherwise
const other = execFileSync(process.execPath, ['--input-type=module', '-e', `
import { netlinkDigest } from '${new URL('../../dist/collect/netlink/digest.js', import.meta.url).pathname}';
const d = netlinkDigest('/proc/self/ns/net', ${ns}, () => true, false);
console.log(d.hashes[d.hashes.length - 1]);`], { encoding: 'utf8' }).trim();
said.keyed = other.length === 16 && other !== digest(false).hashes.at(-1);
// the kernel's count of sockets in a namespace, read inside it: none in a fresh one, one once a
// socket is made there (a UDP socket bound to no port), and -1 when the file is not that namespace
const fresh = spawn('unshare', ['-n', 'python3', '-c', `import socket, sys
print('ready', flush=True)
sys.stdin.readline()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print('made', flush=True)
sys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = [];
fresh.stdout.on('data', (b) => lines.push(...b.toString().trim().split('\n')));
const until = async (word) => { for (let i = 0; i < 500 && !lines.includes(word); i++) await new Promise((r) => setTimeout(r, 10)); };
await until('ready');
const nsFile = `/proc/${fresh.pid}/ns/net`;
const freshNs = statSync(nsFile).ino;
said.countEmpty = socketsIn(nsFile, freshNs);
fresh.stdin.write('go\n');
await until('made');
said.countOne = socketsIn(nsFile, freshNs);
said.countWrongNamespace = socketsIn(nsFile, ns);
fresh.stdin.end();
holder.stdin.end();
await Promise.all([close(tcp), close(tcp6), close(unix), new Promise((r) => udp.close(r))]);
console.log(JSON.stringify(said));
