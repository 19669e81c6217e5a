// Runs inside a test world (probe.test.ts): the watch probe (dist/collect/probe.js) against real
// listeners this process makes, step by step; prints what each look said, as JSON.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { collect } from '../../dist/collect/index.js';
import { Probe } from '../../dist/collect/probe.js';
import { recordable, recordableState } from '../../dist/snapshot/select.js';

const opts = { keep: (s) => recordable(s, {}), keepState: (k, st) => recordableState(k, st, {}) };
const listen = (port) => new Promise((r) => { const s = net.createServer().listen(port, '127.0.0.1', () => r(s)); });
const close = (s) => new Promise((r) => s.close(r));
const said = {};
const p = new Probe(opts);
const scan = () => { p.changed(); p.learn(collect(opts)); };
said.first = p.changed();
p.learn(collect(opts));
said.quiet = p.changed();
const a = await listen(7901);
said.listening = p.changed();
said.askedAgain = p.changed(); // no scan in between: still a difference
p.learn(collect(opts));
said.afterScan = p.changed();
// a listener made after the collection was read, before learn(): not taken for what was committed
p.changed();
const collection = collect(opts);
const b = await listen(7902);
p.learn(collection);
said.madeDuringScan = p.changed();
said.madeDuringScanAgain = p.changed();
scan();
said.rescanned = p.changed();
await close(a);
said.closed = p.changed();
scan();
said.end = p.changed();
await close(b);
// a namespace only a socket holds: a process makes a UDP socket in a new namespace, then goes back
const held = spawn('python3', ['-c', `import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
home = os.open('/proc/self/ns/net', os.O_RDONLY)
assert libc.unshare(0x40000000) == 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 7903))
assert libc.setns(home, 0x40000000) == 0
print('ready', flush=True)
sys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
await new Promise((r) => held.stdout.once('data', r));
scan();
// the process collect starts to read that namespace is gone from it when collect returns
// (one left behind made the look right after a scan differ from the next one)
said.leftBehind = 0;
for (let i = 0; i < 30; i++) {
  const ns = collect(opts).sockets.find((s) => s.kind === 'udp' && s.localPort === 7903)?.netns;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try { if (statSync(`/proc/${pid}/ns/net`).ino === ns) said.leftBehind++; } catch { /* gone */ }
  }
}
said.socketHeldSeen = collect(opts).sockets.some((s) => s.kind === 'udp' && s.localPort === 7903);
said.socketHeld = p.changed(); // beyond a look, but no reason to scan again and again
held.stdin.end();
console.log(JSON.stringify(said));
