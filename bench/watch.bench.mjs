// lsm watch on the 10k socket farm (the scan bench's 10k mix), --interval 1s: the CPU it takes
// (utime+stime of its processes, from /proc/<pid>/stat) while nothing it records changes, with the
// probe between full scans (the default, --full-every 60s) and with a full scan every interval (what
// watch did before: --full-every 1s); the same beside a churn of short-lived processes and network
// namespaces (what a busy host's other programs do: nothing a snapshot records, so the cost should
// not follow it); and the detection latency of a new listener, from its listen() to its line in
// the event log, quiet and under that churn.
// watch sees every namespace of its host, so on a machine others share (their tests make and drop
// namespaces all the time) it would be measuring their changes: here the farm and watch run in
// pid, mount and network namespaces of their own (unshare), entered with nsenter.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, descendantsOf, fmt, measure, withIsolatedFarm } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// LSM_BENCH_BIN: another build's bin/lsm (a before/after pair measured back to back)
const bin = process.env.LSM_BENCH_BIN ?? BIN;

// the churn: about 15 rounds a second of a process forked and gone, and a network namespace made
// (unshare -n) that lives 0.2 s; bounded in rounds, and stopped by its process group
const CHURN = (rounds) => `i=0; while [ $i -lt ${rounds} ]; do unshare -n sleep 0.2 & sh -c true; i=$((i+1)); sleep 0.05; done; wait`;

/** Start the churn inside the farm's pid and mount namespaces; returns a function that stops it. */
function startChurn(enter, seconds) {
  const [c, ...a] = enter(['sh', '-c', CHURN(Math.ceil(seconds * 25))]);
  const ch = spawn(c, a, { stdio: 'ignore', detached: true }); // a group of its own: stopped as one
  const exited = new Promise((r) => ch.once('exit', r));
  return async () => {
    try { process.kill(-ch.pid, 'SIGTERM'); } catch { /* ended */ }
    const t = setTimeout(() => { try { process.kill(-ch.pid, 'SIGKILL'); } catch { /* ended */ } }, 5000);
    await exited;
    clearTimeout(t);
  };
}

/** Clock ticks (utime + stime) used so far by a process and every descendant alive now. */
function ticks(pid) {
  let total = 0;
  const walk = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(f[11]) + Number(f[12]); // fields 14, 15: utime, stime
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim().split(' ').filter(Boolean)) walk(c);
      }
    } catch { /* gone */ }
  };
  walk(pid);
  return total;
}

export default async function run({ quick }) {
  const window = quick ? 10 : 60; // seconds measured: 60 holds one periodic full scan exactly
  return withIsolatedFarm('10k', async (enter, dir) => {
    const conf = join(dir, 'lsm.conf');
    const events = join(dir, 'events.jsonl');
    const metrics = join(dir, 'metrics', 'lsm.prom');
    execFileSync('mkdir', ['-p', '-m', '755', join(dir, 'metrics')]);
    writeFileSync(conf, `SPOOL_DIR="${join(dir, 'spool')}"\nEVENT_LOG="${events}"\nSENDMAIL=""\nHOOKS_DIR="${join(dir, 'hooks')}"\nIGNORE_FILE="${join(dir, 'none')}"\nMETRICS_FILE="${metrics}"\n`);
    writeFileSync(join(dir, 'none'), '');
    const repo = join(dir, 'repo');
    const [cmd, ...args] = enter([bin, '--config', conf, '-g', '-q', '--repo', repo]);
    execFileSync(cmd, args, { stdio: 'ignore' });
    const [c2, ...a2] = enter(['sh', '-c', 'ss -tuanx | tail -n +2 | wc -l']);
    const sockets = Number(execFileSync(c2, a2, { encoding: 'utf8' }));

    const startWatch = async (fullEvery) => {
      const [c, ...a] = enter([bin, '--config', conf, 'watch', '--interval', '1s', '--full-every', fullEvery, '-q', '--repo', repo]);
      const w = spawn(c, a, { stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((r) => w.once('exit', r));
      for (let i = 0; i < 600 && !existsSync(metrics); i++) await sleep(100); // its first full scan is done
      await sleep(2000);
      // nsenter forks into the pid namespace: the signal goes to lsm itself (and what it started)
      const stop = async () => { for (const p of descendantsOf(w.pid)) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } } const t = setTimeout(() => w.kill('SIGKILL'), 20_000); await exited; clearTimeout(t); };
      return { w, stop };
    };
    const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const cpu = async (fullEvery, seconds, churn = false) => {
      execFileSync('rm', ['-f', metrics]);
      const stopChurn = churn ? startChurn(enter, seconds + 40) : null; // running before watch starts
      try {
        const { w, stop } = await startWatch(fullEvery);
        const before = load();
        const t0 = ticks(w.pid);
        const c0 = process.hrtime.bigint();
        await sleep(seconds * 1000);
        const used = (ticks(w.pid) - t0) / 100;
        const wall = Number(process.hrtime.bigint() - c0) / 1e9;
        await stop();
        return { used, wall, share: used / wall, load: before };
      } finally {
        await stopChurn?.();
      }
    };

    const only = (process.env.WATCH_BENCH ?? 'every,quiet,churn,latency').split(',');
    const everyInterval = only.includes('every') ? await cpu('1s', quick ? 10 : 20) : null;
    const probe = only.includes('quiet') ? await cpu('60s', window) : null;
    const churned = only.includes('churn') ? await cpu('60s', window, true) : null;

    // latency: listeners made at random phases of the interval, each alerted alone, quiet then under the churn
    const lines = () => (existsSync(events) ? readFileSync(events, 'utf8').trim().split('\n').filter(Boolean) : []);
    const latency = async (churn) => {
      execFileSync('rm', ['-f', metrics]);
      const stopChurn = churn ? startChurn(enter, 120) : null;
      const { stop } = await startWatch('60s');
      const latencies = [];
      const holders = [];
      const ports = [];
      try {
        for (let i = 0; i < (quick ? 3 : 8); i++) {
          await sleep(2500 + Math.random() * 1000);
          // on 127.0.0.2, a port the kernel picks: the farm holds ports all over the range on 127.0.0.1
          const [hc, ...ha] = enter(['python3', '-c', `import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.2',0))\ns.listen()\nprint(time.time(),s.getsockname()[1],flush=True)\nsys.stdin.read()`]);
          const h = spawn(hc, ha, { stdio: ['pipe', 'pipe', 'inherit'] });
          holders.push(h);
          const [made, port] = await new Promise((resolve, reject) => {
            let out = '';
            h.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.trim().split(/\s+/).map(Number)); });
            h.once('exit', (code) => reject(new Error(`listener exited (${code}) before listening`)));
          });
          ports.push(port);
          let seen = null;
          for (let k = 0; k < 2000 && seen === null; k++) {
            if (lines().some((l) => l.includes(`127.0.0.2:${port}  python3`))) seen = Date.now() / 1000;
            else await sleep(10);
          }
          latencies.push(seen === null ? Infinity : seen - made);
        }
      } finally {
        await stop();
        await stopChurn?.();
        for (const h of holders) h.stdin.end();
      }
      return { latencies, ports };
    };
    const quietLatency = only.includes('latency') ? await latency(false) : { latencies: [], ports: [] };
    const churnLatency = only.includes('latency') ? await latency(true) : { latencies: [], ports: [] };
    // what bounds the latency besides the interval: one full scan (end to end, so with node's start)
    const scan = measure(enter([bin, '--config', conf, 'scan', '-q', '--repo', repo]), { runs: 3 });
    const alerts = lines().map((l) => JSON.parse(l)).filter((e) => e.commit);
    const ports = [...quietLatency.ports, ...churnLatency.ports];
    const once = ports.every((p) => alerts.filter((a) => a.added.some((l) => l.line.startsWith(`127.0.0.2:${p}  `))).length === 1);
    const ms = (s) => `${Math.round(s * 1000)} ms`;
    const pct = (x) => `${(x * 100).toFixed(1)} %`;
    const spread = (l) => { const s = [...l].sort((a, b) => a - b); return s.length ? `median ${ms(s[Math.floor(s.length / 2)])}, max **${ms(s[s.length - 1])}**` : 'not measured'; };
    const row = (what, r, target = '') => r ? `| ${what} | ${r.used.toFixed(2)} | ${r.wall.toFixed(0)} s | **${pct(r.share)}** | ${target} | ${r.load} |` : `| ${what} | | | not measured | ${target} | |`;
    return [
      '## watch: CPU at 10k sockets, 1 s interval, and detection latency',
      '',
      `The 10k farm of the scan bench (${sockets} sockets), \`lsm watch --interval 1s -q\` run as users run it (bin/lsm, inside the farm's namespace,`,
      'METRICS_FILE set; farm and watch alone in pid, mount and network namespaces of their own), nothing it records changing; CPU is utime+stime of its processes from /proc/<pid>/stat after its first full scan.',
      'The churn: beside the farm (in its pid and mount namespaces, so watch sees it), a shell loop that forks a process and makes a network namespace (`unshare -n sleep 0.2`) about 15 times a second.',
      '',
      '| mode | CPU-s used | wall | share of one core | target | load average at the start |',
      '| --- | --- | --- | --- | --- | --- |',
      row('a full scan every interval (`--full-every 1s`: watch before the probe)', everyInterval),
      row('probe every interval, full scan every 60 s (default), quiet', probe, '≤ 1 %'),
      row('the same beside the churn of processes and namespaces', churned, '≤ 1 %'),
      '',
      `Detection latency of a new TCP listener (python3 in the farm's namespace; from its listen() to its alert in the event log, listeners at random phases of the interval; target: within 2 intervals, 2000 ms, when a full scan takes less than an interval; else one interval and the scan):`,
      `quiet (${quietLatency.latencies.length}): ${spread(quietLatency.latencies)}; under the churn (${churnLatency.latencies.length}): ${spread(churnLatency.latencies)}.`,
      `A full scan (\`lsm scan -q\`, end to end) took ${fmt(scan.wall)} wall (median of 3) in the same run. ${alerts.length} alerts, each listener in exactly one: **${once ? 'yes' : 'no'}**.`,
    ].join('\n');
  });
}
