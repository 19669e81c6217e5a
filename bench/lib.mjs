// Shared helpers for the benchmarks: run a command N times, wall time and peak RSS (via GNU time).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

/** The command as users run it (bin/lsm: node with the flags lsm ships with). */
export const BIN = new URL('../bin/lsm', import.meta.url).pathname;

const RUSAGE = new URL('./rusage.py', import.meta.url).pathname;

/**
 * Run argv `runs` times; returns median (and best) wall seconds, median CPU seconds (user + system,
 * children included: what a shared machine's load does not inflate the way it does wall time) and
 * max peak RSS in MiB.
 */
export function measure(argv, { runs = 5, env = {}, before, filesIn } = {}) {
  const walls = [];
  const cpus = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    before?.();
    const t0 = process.hrtime.bigint();
    // filesIn (a directory): the command's stdio are /dev/null and a file, not node's pipes (socketpairs
    // of this network namespace: lsm, finding its own socket of the host's namespace, reads that too)
    const time = filesIn ? join(filesIn, 'time') : null;
    const errors = filesIn ? openSync(join(filesIn, 'stderr'), 'w') : null;
    // (with filesIn, rusage.py: the same figures to the microsecond, where GNU time rounds to 10 ms)
    const r = spawnSync(time ? 'python3' : '/usr/bin/time', [...(time ? [RUSAGE, time] : ['-f', '%U %S %M']), ...argv],
      { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 30, ...(errors === null ? {} : { stdio: ['ignore', 'ignore', errors] }) });
    if (errors !== null) closeSync(errors);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const stderr = filesIn ? readFileSync(join(filesIn, 'stderr'), 'utf8') : r.stderr;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${stderr.slice(-500)}`);
    walls.push(wall);
    const [user, sys, maxrss] = (time ? readFileSync(time, 'utf8') : r.stderr).trim().split('\n').pop().split(' ').map(Number);
    cpus.push(user + sys);
    rss = Math.max(rss, maxrss / 1024);
  }
  walls.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  return { wall: walls[Math.floor(walls.length / 2)], best: walls[0], cpu: cpus[Math.floor(cpus.length / 2)], rss, runs };
}

export function machine() {
  const sh = (c) => { try { return execFileSync('sh', ['-c', c], { encoding: 'utf8' }).trim(); } catch { return '?'; } };
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: sh('uname -r'),
    node: process.version,
    ss: sh('ss -V'),
    git: sh('git --version'),
    load: sh('cat /proc/loadavg'),
  };
}

export const fmt = (s) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
export const cleanup = (p) => rmSync(p, { recursive: true, force: true });
export { readFileSync };

const FARM = new URL('./sockfarm.py', import.meta.url).pathname;
export const SIZES = {
  '1k': ['--listen-tcp', '200', '--established', '300', '--udp', '100', '--unix', '100', '--procs', '5'],
  '10k': ['--listen-tcp', '2000', '--established', '3000', '--udp', '1000', '--unix', '1000', '--procs', '20'],
  '100k': ['--listen-tcp', '20000', '--established', '30000', '--udp', '10000', '--unix', '10000', '--procs', '50'],
};

/** A socket farm of one size in a namespace of its own, for the time of fn(namespace, tmpdir). */
export async function withFarm(size, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bench-'));
  const ready = join(dir, 'ready.json');
  const ns = `lsmbench${process.pid}`;
  const farm = spawn('python3', [FARM, '--netns', ns, ...SIZES[size], '--ready-file', ready, '--until-stdin-closes', '--max-lifetime', '1200', '-q'], { stdio: ['pipe', 'ignore', 'inherit'] });
  try {
    for (let i = 0; i < 1200 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(ready)) throw new Error(`socket farm ${size} did not get ready`);
    return await fn(ns, dir);
  } finally {
    farm.stdin.end(); // the farm stops when its stdin closes; then by pid if it has not
    const done = new Promise((r) => farm.once('exit', r));
    const t = setTimeout(() => farm.kill('SIGTERM'), 20_000);
    await done;
    clearTimeout(t);
    cleanup(dir);
  }
}

/** Pids of a process's descendants (host view), deepest last. */
export function descendantsOf(pid) {
  const out = [];
  const walk = (p) => {
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean)) { out.push(Number(c)); walk(c); }
      }
    } catch { /* gone */ }
  };
  walk(pid);
  return out;
}

/**
 * A socket farm of one size alone in fresh pid, mount and network namespaces (lsm sees every
 * process and namespace of its host: on a shared machine it would read everyone's); fn(enter, dir)
 * where enter(argv) runs argv inside, in the farm's netns.
 */
export async function withIsolatedFarm(size, fn) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bench-'));
  const ready = join(dir, 'ready.json');
  const ns = `farm${process.pid}`; // /run/netns is the host's: two farms at once need two names
  // nsfs mounts of the host's `ip netns` namespaces are copied into the new mount table: detached;
  // and /run/netns a tmpfs of its own (the files `ip netns add` makes there are on the host's /run otherwise).
  // The farm's stdin and stderr are a fifo and a file, not node's stdio pipes: those are socketpairs
  // made in the host's network namespace, and lsm, finding a socket of the host's namespace held
  // inside, would read that namespace too (other programs' sockets coming and going: false changes).
  const fifo = join(dir, 'stdin');
  const errors = join(dir, 'farm.err');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const script = `ip link set lo up; grep ' - nsfs ' /proc/self/mountinfo | cut -d' ' -f5 | xargs -r -n1 umount -l; mkdir -p /run/netns && mount -t tmpfs -o size=1m,mode=755 lsm-bench-netns /run/netns; exec python3 ${FARM} --netns ${ns} ${SIZES[size].join(' ')} --ready-file ${ready} --until-stdin-closes --max-lifetime 1200 -q <${fifo} 2>${errors}`;
  const farm = spawn('unshare', ['--net', '--pid', '--fork', '--mount-proc', '--kill-child', 'sh', '-c', script], { stdio: 'ignore' });
  let stdin = -1; // the fifo's write end: its close is the farm's end
  try {
    for (let i = 0; i < 1200 && !existsSync(ready); i++) {
      if (stdin < 0) { try { stdin = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK); } catch { /* ENXIO: no reader yet */ } }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!existsSync(ready) || stdin < 0) throw new Error(`socket farm ${size} did not get ready: ${readFileSync(errors, 'utf8').slice(-500)}`);
    const inside = descendantsOf(farm.pid)[0]; // unshare's child: pid 1 there
    const enter = (argv) => ['nsenter', '-t', String(inside), '--net', '--pid', '--mount', '--', 'ip', 'netns', 'exec', ns, ...argv];
    return await fn(enter, dir);
  } finally {
    if (stdin >= 0) closeSync(stdin);
    const done = farm.exitCode !== null || farm.signalCode !== null ? null : new Promise((r) => farm.once('exit', r));
    const t = setTimeout(() => farm.kill('SIGTERM'), 20_000);
    await done;
    clearTimeout(t);
    cleanup(dir);
  }
}
