// Runs inside a test world (probe.test.ts): the watch probe and namespaces no process's ns link
// names, found by the full scan: one a thread of a process unshared (only that thread is in it), and
// one only an open namespace file holds (its last process exited). A listener made in each between
// two full scans must make the next look ask for one. Prints what each look said, as JSON.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { collect } from '../../dist/collect/index.js';
import { Probe } from '../../dist/collect/probe.js';
import { recordable, recordableState } from '../../dist/snapshot/select.js';

const HOLDER = `import ctypes, os, queue, signal, socket, subprocess, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
held = []
def held_namespace():
    # a namespace only an open file of it holds: its one process exits
    c = subprocess.Popen(['unshare', '-n', 'sleep', '1000'])
    # until unshare has made its namespace (not a fixed sleep: under load it may not have yet)
    me = os.readlink('/proc/self/ns/net')
    for _ in range(500):
        if os.readlink('/proc/%d/ns/net' % c.pid) != me: break
        time.sleep(0.01)
    else: sys.exit('unshare -n made no namespace in 5 s')
    fd = os.open('/proc/%d/ns/net' % c.pid, os.O_RDONLY)
    c.kill(); c.wait()
    return fd
nsfd = held_namespace()
emptyfd = held_namespace() # empty: only a netlink socket (which no snapshot records) comes and goes there
# a thread in a namespace of its own, waiting for orders
orders, done = queue.Queue(), queue.Queue()
def apart():
    if libc.unshare(CLONE_NEWNET) != 0: done.put('unshare failed'); return
    done.put('ok')
    while True:
        port = orders.get()
        s = socket.socket(); s.bind(('0.0.0.0', port)); s.listen(); held.append(s); done.put('ok')
threading.Thread(target=apart, daemon=True).start()
assert done.get() == 'ok'
def in_nsfile(port):
    # a thread enters the held namespace, listens, goes back: only the fd and the socket lead there
    def go():
        back = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        if libc.setns(nsfd, CLONE_NEWNET) != 0: done.put('setns failed'); return
        s = socket.socket(); s.bind(('0.0.0.0', port)); s.listen(); held.append(s)
        libc.setns(back, CLONE_NEWNET); os.close(back); done.put('ok')
    threading.Thread(target=go).start()
def netlink():
    # a socket the kernel counts in the empty namespace, as lsm's own dump socket of the last look
    # is until it is freed: nothing a snapshot records
    def go():
        back = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
        if libc.setns(emptyfd, CLONE_NEWNET) != 0: done.put('setns failed'); return
        if held and held[-1].family == socket.AF_NETLINK: held.pop().close()
        else: held.append(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
        libc.setns(back, CLONE_NEWNET); os.close(back); done.put('ok')
    threading.Thread(target=go).start()
print('ready', flush=True)
for line in sys.stdin:
    what, port = line.split()
    if what == 'thread': orders.put(int(port))
    elif what == 'netlink': netlink()
    else: in_nsfile(int(port))
    print(done.get(), flush=True)
`;

const opts = { keep: (s) => recordable(s, {}), keepState: (k, st) => recordableState(k, st, {}) };
const holder = spawn('python3', ['-c', HOLDER], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: holder.stdout })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value;
const order = async (what, port) => { holder.stdin.write(`${what} ${port}\n`); return next(); };
const said = {};
try {
  said.ready = await next();
  const p = new Probe(opts);
  const scan = () => { p.changed(); const c = collect(opts); p.learn(c); return c; };
  scan();
  said.ways = scan().ways?.length ?? 0; // learned twice: settled
  said.quiet = p.changed();
  said.threadOrder = await order('thread', 7921);
  said.thread = p.changed();
  scan();
  said.afterThreadScan = p.changed();
  said.nsfileOrder = await order('nsfile', 7922);
  said.nsfile = p.changed();
  scan();
  said.end = p.changed();
  said.netlinkOrder = await order('netlink', 0);
  said.netlinkOpen = p.changed();
  await order('netlink', 0);
  said.netlinkClosed = p.changed();
} finally {
  holder.kill('SIGKILL');
}
console.log(JSON.stringify(said));
