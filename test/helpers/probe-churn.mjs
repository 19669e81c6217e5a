// Runs inside a test world (watch-probe-churn.test.ts): the watch probe (dist/collect/probe.js)
// beside a churn of short-lived processes and network namespaces with nothing to record, and the
// new listeners a hostile process can make there: from a pid the probe already knows, in a
// namespace it already knows, in a namespace of its own, and from a process at a pid handed out
// again. Prints what each look said, as JSON. Every process it starts is stopped by its pid.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { collect } from '../../dist/collect/index.js';
import { Probe } from '../../dist/collect/probe.js';
import { recordable, recordableState } from '../../dist/snapshot/select.js';

const opts = { keep: (s) => recordable(s, {}), keepState: (k, st) => recordableState(k, st, {}) };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = [];

/** A python3 process; resolves once it prints its first line. say(text) writes a line and waits for its answer. */
async function python(code) {
  const p = spawn('python3', ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(p);
  const lines = [];
  let waiting = null;
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    if (waiting && lines.length) { const w = waiting; waiting = null; w(lines.shift()); }
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => { waiting = r; }));
  await next();
  return { pid: p.pid, proc: p, say: (text) => { p.stdin.write(`${text}\n`); return next(); } };
}
const stop = async (p) => { if (p.exitCode !== null || p.signalCode !== null) return; const gone = new Promise((r) => p.once('exit', r)); p.kill('SIGKILL'); await gone; };

const said = {};
const p = new Probe(opts);
const scan = () => { p.changed(); p.learn(collect(opts)); };
// known before the first scan: a process that makes listeners when told (in its namespace, or in
// a new one it unshares), and a server
const agent = await python(`import ctypes, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
keep = []
print('ready', flush=True)
for line in sys.stdin:
    cmd, port = line.split()
    if cmd == 'unshare':
        assert libc.unshare(0x40000000) == 0
        assert os.system('ip link set lo up') == 0
    s = socket.socket(); s.bind(('127.0.0.1', int(port))); s.listen(); keep.append(s)
    print('done', flush=True)`);
const server = await python(`import os, socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', 7921)); s.listen()
print('ready', flush=True)
for line in sys.stdin:
    want = int(line)
    got = -1
    for _ in range(20000):
        pid = os.fork()
        if pid == 0:
            if os.getpid() == want:
                time.sleep(120)
            os._exit(0)
        if pid == want:
            got = pid
            break
        os.waitpid(pid, 0)
    print(got, flush=True)`);
scan();
said.quiet = p.changed();

// the churn: a process forked and gone, and a namespace made (unshare -n) living 0.2 s, bounded
const churn = spawn('sh', ['-c', 'i=0; while [ $i -lt 100 ]; do unshare -n sleep 0.2 & sh -c true; i=$((i+1)); sleep 0.05; done; wait'], { stdio: 'ignore', detached: true });
const churned = new Promise((r) => churn.once('exit', r));
try {
  await sleep(300);
  said.duringChurn = [];
  for (let i = 0; i < 6; i++) { said.duringChurn.push(p.changed()); await sleep(250); }
  // a known pid, in a known namespace
  await agent.say('listen 7922');
  said.knownPidKnownNamespace = p.changed();
  scan();
  said.afterScan = p.changed();
  // a known pid, in a namespace of its own
  await agent.say('unshare 7923');
  said.knownPidNewNamespace = p.changed();
  scan();
  said.afterSecondScan = p.changed();
} finally {
  try { process.kill(-churn.pid, 'SIGKILL'); } catch { /* ended */ }
  await churned;
}

// a pid handed out again: an idle process the probe knows exits, the server forks until a child gets its pid;
// that child holds the server's listener (a new owner of its line). A small pid_max for this pid
// namespace (a kernel of 6.14 or later has one per namespace; before, it is the host's: skipped)
const [major, minor] = release().split('.').map(Number);
if (major > 6 || (major === 6 && minor >= 14)) {
  // at or above RESERVED_PIDS (300), where the counter comes back after a wrap
  let idle;
  for (let i = 0; i < 700 && !(idle?.pid >= 300); i++) {
    if (idle) await stop(idle.proc);
    idle = await python(`import sys\nprint('ready', flush=True)\nsys.stdin.read()`);
  }
  scan();
  said.beforeReuse = p.changed();
  writeFileSync('/proc/sys/kernel/pid_max', String(idle.pid + 300));
  const pid = idle.pid;
  await stop(idle.proc);
  const child = Number(await server.say(String(pid)));
  said.landed = child === pid && readFileSync(`/proc/${pid}/stat`, 'latin1').includes('(python3)');
  said.reusedPid = p.changed();
  try { process.kill(child, 'SIGKILL'); } catch { /* gone */ }
} else {
  Object.assign(said, { beforeReuse: null, landed: true, reusedPid: 'owners' });
}
for (const s of started) await stop(s);
console.log(JSON.stringify(said));
