// Run by fleet.bench.mjs inside `unshare --net`: lighttpd + git http-backend as `lsm fleet init`
// prints it, and hosts pushing with lsm's own push code. Prints one JSON line of figures.
// The server's CPU is lighttpd's and everything under it: lighttpd runs as a child subreaper, so
// what the hooks start apart (the drain of the queue) is reaped by it and counted too.
// Given CENTRAL (the bench's generated fleet), the pushes go there: the server answers with every
// host's refs, the guard and the drain see the whole fleet, as at that scale.
// usage: node bench/fleet-push.mjs DIR [quick | HOSTS] [CENTRAL]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { basename, join } from 'node:path';
import { commitSnapshot } from '../dist/store/commit.js';
import { pushHistory } from '../dist/fleet/push.js';

const dir = process.argv[2];
const main = new URL('../dist/cli/main.js', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
execFileSync('ip', ['link', 'set', 'lo', 'up']);
const conf = join(dir, 'central.conf');
writeFileSync(conf, `SENDMAIL=""\nEVENT_LOG=""\nSPOOL_DIR="${join(dir, 'spool')}"\nHOOKS_DIR="${join(dir, 'hooks.d')}"\n`, { mode: 0o600 });
const central = process.argv[4] || join(dir, 'srv', 'fleet.git');
const htpasswd = join(dir, 'htpasswd');
const N = process.argv[3] === 'quick' ? 10 : Number(process.argv[3] || 50);
const printed = execFileSync(process.execPath, [main, 'fleet', 'init', central, '--config', conf, '--listen', '127.0.0.1', '--port', '8080', '--htpasswd', htpasswd], { encoding: 'utf8' });
writeFileSync(join(dir, 'lighttpd.conf'), printed + `server.errorlog = "${join(dir, 'lighttpd.log')}"\nserver.max-connections = 256\n`);
for (let i = 0; i < N; i++) execFileSync('htpasswd', ['-b', ...(i === 0 ? ['-c'] : []), htpasswd, `h${i}`, 'pw'], { stdio: 'ignore' });
// PR_SET_CHILD_SUBREAPER (36) survives exec: orphans of the hooks become lighttpd's, which reaps every child (waitpid(-1))
const web = spawn('python3', ['-c', 'import ctypes, os, sys\nif ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) != 0: sys.exit("prctl failed")\nos.execvp("lighttpd", ["lighttpd", "-D", "-f", sys.argv[1]])', join(dir, 'lighttpd.conf')], { stdio: 'inherit' });
try {
  for (let i = 0; ; i++) {
    if (await new Promise((r) => createConnection(8080, '127.0.0.1').on('connect', function () { this.end(); r(true); }).on('error', () => r(false)))) break;
    if (i > 100) throw new Error('lighttpd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `http://127.0.0.1:8080/git/${basename(central)}`;
  const snap = (i, n) => new Map([['host/tcp', [`0.0.0.0:22  sshd  root  /usr/sbin/sshd`, ...Array.from({ length: 30 }, (_, k) => `0.0.0.0:${1000 + k}  svc${k}  root  /usr/sbin/svc${k}`), `127.0.0.1:${30000 + n}  node  dev  /usr/bin/node`]], ['host/udp', []], ['host/raw', []], ['host/packet', []], ['host/unix', [`/run/h${i}.sock  stream  svc  root  /usr/sbin/svc`]]]);
  const settings = (i) => ({ remote: url.replace('http://', `http://h${i}:pw@`), tokenFile: '', hostId: `h${i}` });
  const repos = Array.from({ length: N }, (_, i) => join(dir, `h${i}`));
  for (let i = 0; i < N; i++) {
    await commitSnapshot(repos[i], snap(i, 0), { host: `h${i}` });
    const o = await pushHistory(repos[i], settings(i));
    if (!o?.state.ok) throw new Error(`first push of h${i}: ${o?.state.error}`);
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  // CPU seconds the server spent (lighttpd's reaped children: http-backend, receive-pack, the hooks, the drain)
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  const serverCpu = () => { const f = readFileSync(`/proc/${web.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[14]) + Number(f[15])) / tick; };
  const children = () => readdirSync(`/proc/${web.pid}/task`).map((t) => readFileSync(`/proc/${web.pid}/task/${t}/children`, 'utf8').trim()).join(' ').trim();
  // quiet: the last push recorded, indexed and its alerts spooled, and nothing left running under lighttpd (the drain exited and was reaped)
  const idle = async () => {
    for (let i = 0; i < 1200; i++) {
      let size = 0, done = 0, queued = 0;
      try { queued = readdirSync(join(central, 'lsm', 'queue')).length; } catch { /* none yet */ }
      try { size = statSync(join(central, 'lsm', 'pushes.jsonl')).size; done = Number(readFileSync(join(central, 'lsm', 'pushes.spooled'), 'utf8')); } catch { /* none yet */ }
      if (queued === 0 && done >= size && children() === '') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the server did not settle: ${children()}`);
  };
  // one push alone: its wall and host CPU, and all the server spent for it (the drain included, once it ended)
  const timed = async (fn) => {
    await idle();
    const s0 = serverCpu(), c0 = process.cpuUsage(), t0 = performance.now();
    const o = await fn();
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    await idle();
    return { o, wall, client: (c.user + c.system) / 1e6, server: serverCpu() - s0 };
  };
  const loadAtOne = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); // before the single pushes (the figure at the end follows the 50 at once)
  const one = [];
  for (let n = 1; n <= 10; n++) {
    await commitSnapshot(repos[0], snap(0, n), { host: 'h0' });
    const m = await timed(() => pushHistory(repos[0], settings(0)));
    one.push(m);
    if (!m.o?.pushedNow) throw new Error(`push ${n}: ${m.o?.state.error}`);
  }
  const beat = [];
  for (let n = 0; n < 10; n++) beat.push(await timed(() => pushHistory(repos[0], settings(0), Date.now() + (n + 1) * 120_000))); // past the heartbeat gap
  // a stream: 20 changes pushed one after the other (hosts in turn), the server's CPU per push over all of them
  await idle();
  const st0 = serverCpu();
  const streamWall = [];
  for (let n = 0; n < 20; n++) {
    const i = n % N;
    await commitSnapshot(repos[i], snap(i, 50 + n), { host: `h${i}` });
    const t0 = performance.now();
    const o = await pushHistory(repos[i], settings(i));
    streamWall.push((performance.now() - t0) / 1000);
    if (!o?.pushedNow) throw new Error(`stream push ${n}: ${o?.state.error}`);
  }
  await idle();
  const stream = { wall: median(streamWall), server: (serverCpu() - st0) / 20 };
  const node0 = [];
  for (let n = 0; n < 5; n++) { const t0 = performance.now(); execFileSync(process.execPath, ['-e', '0']); node0.push((performance.now() - t0) / 1000); }
  for (let i = 0; i < N; i++) await commitSnapshot(repos[i], snap(i, 100), { host: `h${i}` });
  await idle();
  const c0 = serverCpu(), t0 = performance.now();
  const outcomes = await Promise.all(repos.map((r, i) => pushHistory(r, settings(i))));
  const concurrentWall = (performance.now() - t0) / 1000;
  await idle();
  const concurrentServer = serverCpu() - c0;
  const landedNow = () => {
    const tips = execFileSync('git', ['--git-dir', central, 'for-each-ref', '--format=%(objectname) %(refname:short)', 'refs/heads/hosts/'], { encoding: 'utf8' });
    return repos.filter((r, i) => tips.includes(`${execFileSync('git', ['-C', r, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim()} hosts/h${i}`)).length;
  };
  const landed = landedNow();
  const failed = outcomes.filter((o) => !o?.state.ok).map((o) => o?.state.error);
  // what lsm does with a failed push: the next run pushes again (here at once, one round)
  await Promise.all(repos.map((r, i) => (outcomes[i]?.state.ok ? null : pushHistory(r, settings(i)))));
  const landedAfterRetry = landedNow();
  const stats = (a) => ({ wall: median(a.map((m) => m.wall)), client: median(a.map((m) => m.client)), server: median(a.map((m) => m.server)) });
  console.log(JSON.stringify({ load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '), loadAtOne, pushOne: stats(one), heartbeat: stats(beat), stream, node0: median(node0), concurrent: N, concurrentWall, concurrentServer, landed, landedAfterRetry, failed: failed.slice(0, 3) }));
} finally {
  web.kill('SIGTERM');
}
