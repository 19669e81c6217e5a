// lsm watch on the 10k socket farm (the scan bench's 10k mix), --interval 1s: the CPU it takes
// (utime+stime of its processes, from /proc/<pid>/stat) while nothing changes, with the probe
// between full scans (the default, --full-every 60s) and with a full scan every interval (what
// watch did before: --full-every 1s); and the detection latency of a new listener, from its
// listen() to its line in the event log.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, withFarm } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
  return withFarm('10k', async (ns, dir) => {
    const conf = join(dir, 'lsm.conf');
    const events = join(dir, 'events.jsonl');
    const metrics = join(dir, 'metrics', 'lsm.prom');
    execFileSync('mkdir', ['-p', '-m', '755', join(dir, 'metrics')]);
    writeFileSync(conf, `SPOOL_DIR="${join(dir, 'spool')}"\nEVENT_LOG="${events}"\nSENDMAIL=""\nHOOKS_DIR="${join(dir, 'hooks')}"\nIGNORE_FILE="${join(dir, 'none')}"\nMETRICS_FILE="${metrics}"\n`);
    writeFileSync(join(dir, 'none'), '');
    const repo = join(dir, 'repo');
    execFileSync('ip', ['netns', 'exec', ns, BIN, '--config', conf, '-g', '-q', '--repo', repo], { stdio: 'ignore' });
    const sockets = Number(execFileSync('sh', ['-c', `ip netns exec ${ns} ss -tuanx | tail -n +2 | wc -l`], { encoding: 'utf8' }));

    const startWatch = async (fullEvery) => {
      const w = spawn('ip', ['netns', 'exec', ns, BIN, '--config', conf, 'watch', '--interval', '1s', '--full-every', fullEvery, '-q', '--repo', repo], { stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((r) => w.once('exit', r));
      for (let i = 0; i < 600 && !existsSync(metrics); i++) await sleep(100); // its first full scan is done
      await sleep(2000);
      return { w, stop: async () => { w.kill('SIGTERM'); const t = setTimeout(() => w.kill('SIGKILL'), 20_000); await exited; clearTimeout(t); } };
    };
    const cpu = async (fullEvery, seconds) => {
      execFileSync('rm', ['-f', metrics]);
      const { w, stop } = await startWatch(fullEvery);
      const t0 = ticks(w.pid);
      const c0 = process.hrtime.bigint();
      await sleep(seconds * 1000);
      const used = (ticks(w.pid) - t0) / 100;
      const wall = Number(process.hrtime.bigint() - c0) / 1e9;
      await stop();
      return { used, wall, share: used / wall };
    };

    const everyInterval = await cpu('1s', quick ? 10 : 20);
    const probe = await cpu('60s', window);

    // latency: listeners made at random phases of the interval, each alerted alone
    execFileSync('rm', ['-f', metrics]);
    const { stop } = await startWatch('60s');
    const latencies = [];
    const holders = [];
    const ports = [];
    const lines = () => (existsSync(events) ? readFileSync(events, 'utf8').trim().split('\n').filter(Boolean) : []);
    try {
      for (let i = 0; i < (quick ? 3 : 8); i++) {
        await sleep(2500 + Math.random() * 1000);
        // on 127.0.0.2, a port the kernel picks: the farm holds ports all over the range on 127.0.0.1
        const h = spawn('ip', ['netns', 'exec', ns, 'python3', '-c',
          `import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.2',0))\ns.listen()\nprint(time.time(),s.getsockname()[1],flush=True)\nsys.stdin.read()`], { stdio: ['pipe', 'pipe', 'inherit'] });
        holders.push(h);
        const [made, port] = await new Promise((resolve, reject) => {
          h.stdout.once('data', (d) => resolve(String(d).trim().split(' ').map(Number)));
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
      for (const h of holders) h.stdin.end();
    }
    const alerts = lines().map((l) => JSON.parse(l)).filter((e) => e.commit);
    const once = ports.every((p) => alerts.filter((a) => a.added.some((l) => l.line.startsWith(`127.0.0.2:${p}  `))).length === 1);
    const sorted = [...latencies].sort((a, b) => a - b);
    const ms = (s) => `${Math.round(s * 1000)} ms`;
    const pct = (x) => `${(x * 100).toFixed(1)} %`;
    return [
      '## watch: CPU at 10k sockets, 1 s interval, and detection latency',
      '',
      `The 10k farm of the scan bench (${sockets} sockets), \`lsm watch --interval 1s -q\` run as users run it (bin/lsm, inside the farm's namespace,`,
      'METRICS_FILE set), nothing changing; CPU is utime+stime of its processes from /proc/<pid>/stat after its first full scan.',
      '',
      '| mode | CPU-s used | wall | share of one core | target |',
      '| --- | --- | --- | --- | --- |',
      `| a full scan every interval (\`--full-every 1s\`: watch before the probe) | ${everyInterval.used.toFixed(2)} | ${everyInterval.wall.toFixed(0)} s | ${pct(everyInterval.share)} | |`,
      `| probe every interval, full scan every 60 s (default) | ${probe.used.toFixed(2)} | ${probe.wall.toFixed(0)} s | **${pct(probe.share)}** (${(everyInterval.share / probe.share).toFixed(1)}× less) | ≤ 3 % |`,
      '',
      `Detection latency of a new TCP listener (python3 in the farm's namespace; from its listen() to its alert in the event log, ${latencies.length} listeners at random phases of the interval):`,
      `median ${ms(sorted[Math.floor(sorted.length / 2)])}, max **${ms(sorted[sorted.length - 1])}** (target: within 2 intervals, 2000 ms); ${alerts.length} alerts (${alerts.map((a) => a.summary).join('; ')}), each listener in exactly one: **${once ? 'yes' : 'no'}**.`,
    ].join('\n');
  });
}
