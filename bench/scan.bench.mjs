// Full scan with owners on the socket farm against ss -tuanxp in the same namespace, at 1k, 10k
// and 100k sockets; and the cron case (lsm -c, nothing changed) at 1k.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cleanup, fmt, measure, withFarm } from './lib.mjs';

function hostCounts() {
  let procs = 0, fds = 0;
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    procs++;
    try { fds += readdirSync(`/proc/${p}/fd`).length; } catch { /* gone or not ours */ }
  }
  return { procs, fds };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * `lsm scan` (no change) as CPU time against `ss -tuan` in the same run, fd links read by the BPF
 * iterator (the default from 5,000 open files) and by the /proc walk (LSM_BPF=off), taking turns
 * run after run (the machine's load falls on all alike); one markdown table for `sizes`.
 */
export async function cpuRows(sizes, runs = 5) {
  const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
  const out = ['### `lsm scan` (no change) CPU against `ss -tuan`: socket owners by BPF and by the /proc walk', '',
    'CPU is user + system (GNU time, threads included), median of the runs; peak RSS the largest. Target at 100k: ≤ 2× `ss -tuan`, ≤ 64 MiB.', '',
    '| sockets | open files | `ss -tuan` | lsm scan, owners by BPF | ratio | lsm scan, owners by /proc walk (`LSM_BPF=off`) | ratio | load average at the start |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const size of sizes) {
    await withFarm(size, async (ns, dir) => {
      const conf = join(dir, 'lsm.conf');
      writeFileSync(conf, `SPOOL_DIR="${join(dir, 'spool')}"\nEVENT_LOG=""\nSENDMAIL=""\nHOOKS_DIR="${join(dir, 'hooks')}"\nIGNORE_FILE="${join(dir, 'none')}"\n`);
      writeFileSync(join(dir, 'none'), '');
      const repo = join(dir, 'repo');
      const inNs = (argv) => ['ip', 'netns', 'exec', ns, ...argv];
      const scan = (bpf) => inNs(['env', `LSM_BPF=${bpf}`, BIN, '--config', conf, 'scan', '-q', '--repo', repo]);
      execFileSync('ip', ['netns', 'exec', ns, BIN, '--config', conf, 'scan', '-q', '--repo', repo], { stdio: 'ignore' });
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      const files = readFileSync('/proc/sys/fs/file-nr', 'utf8').split('\t')[0];
      const argvs = [inNs(['ss', '-tuan']), scan('on'), scan('off')];
      const all = argvs.map(() => []);
      for (let i = 0; i < runs; i++) argvs.forEach((argv, k) => all[k].push(measure(argv, { runs: 1 })));
      const [ss, bpf, walk] = all.map((m) => ({ cpu: median(m.map((x) => x.cpu)), rss: Math.max(...m.map((x) => x.rss)) }));
      const sockets = Number(execFileSync('sh', ['-c', `ip netns exec ${ns} ss -tuanx | tail -n +2 | wc -l`], { encoding: 'utf8' }));
      out.push(`| ${size} (${sockets}) | ${files} | ${ms(ss.cpu)} | ${ms(bpf.cpu)}, ${bpf.rss.toFixed(0)} MiB | **${(bpf.cpu / ss.cpu).toFixed(2)}×** | ${ms(walk.cpu)}, ${walk.rss.toFixed(0)} MiB | ${(walk.cpu / ss.cpu).toFixed(2)}× | ${load} |`);
      cleanup(repo);
    });
  }
  return out.join('\n');
}

export default async function run({ quick }) {
  const rows = [];
  let cron = null;
  for (const size of quick ? ['1k'] : ['1k', '10k', '100k']) {
    await withFarm(size, async (ns, dir) => {
      const runs = 5;
      const inNs = (argv) => ['ip', 'netns', 'exec', ns, ...argv];
      const conf = join(dir, 'lsm.conf');
      writeFileSync(conf, `SPOOL_DIR="${join(dir, 'spool')}"\nEVENT_LOG=""\nSENDMAIL=""\nHOOKS_DIR="${join(dir, 'hooks')}"\nIGNORE_FILE="${join(dir, 'none')}"\n`);
      writeFileSync(join(dir, 'none'), '');
      const lsm = (...a) => inNs([BIN, '--config', conf, ...a]);
      const repo = join(dir, 'repo');
      const counts = hostCounts();
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); // other work on the machine, beside the figures
      const floor = measure(inNs(['true']), { runs });
      const ssp = measure(inNs(['ss', '-tuanxp']), { runs });
      const ss = measure(inNs(['ss', '-tuan']), { runs });
      const status = measure(lsm('status', '--json', '--all', '--repo', repo), { runs });
      const first = measure(lsm('scan', '-q', '--repo', repo), { runs: 1 });
      const again = measure(lsm('scan', '-q', '--repo', repo), { runs });
      // the same scan from the /proc text, as when the netlink reader is not built
      const text = measure(inNs(['env', 'LSM_NETLINK=off', BIN, '--config', conf, 'scan', '-q', '--repo', repo]), { runs });
      const sockets = Number(execFileSync('sh', ['-c', `ip netns exec ${ns} ss -tuanx | tail -n +2 | wc -l`], { encoding: 'utf8' }));
      rows.push({ size, sockets, counts, floor, ssp, ss, status, first, again, text, load });
      if (size === '1k') {
        execFileSync(BIN, ['--config', conf, '-g', '-q', '--repo', repo], { stdio: 'ignore' });
        cron = measure(lsm('-c', '--repo', repo), { runs: 10 });
        cron.node = measure(inNs([process.execPath, '-e', '0']), { runs: 10 }); // node's own start, the floor, in the same minute
      }
      cleanup(repo);
    });
  }
  const out = [];
  out.push('## Scan with owners vs `ss -tuanxp` (socket farm, same namespace)');
  out.push('');
  out.push('Wall time is the median of 5 runs, peak RSS the largest (GNU time). lsm runs as users run it,');
  out.push('`bin/lsm` (node with `--optimize-for-size` on hosts with 20,000 or more open files, as the 100k farm makes). `lsm status --json --all` is what `ss -tuanxp` does: every');
  out.push('socket with its owners, printed (as JSON). `lsm scan` is the job itself: collect what a snapshot records (listeners, bound');
  out.push('UDP, raw, packet, named unix) with owners, snapshot, compare with HEAD (+ commit the first time). Targets at 100k: ≤ 0.5× `ss -tuanxp`, ≤ 100 MiB.');
  out.push('Sockets come from sock_diag over netlink (the kernel filters by state); the last lsm column is the same scan from the /proc text.');
  out.push('');
  out.push('`ss -tuanxp` varies a lot from run to run at 100k (1.5 to 5.6 s seen on this machine), so each ratio is given against its');
  out.push("median and, in parentheses, against its fastest run.");
  out.push('');
  out.push('| sockets | host procs / fds | `ss -tuanxp` median (fastest) | `ss -tuan` | `lsm status --json --all` | ratio to ss -p | `lsm scan` (no change) | ratio | `lsm scan` (first, commits) | `lsm scan` from /proc text (`LSM_NETLINK=off`) | `ip netns exec true` | load average at the start |');
  out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const ratio = (m) => `${(m.wall / r.ssp.wall).toFixed(2)}× (${(m.wall / r.ssp.best).toFixed(2)}×)`;
    out.push(`| ${r.size} (${r.sockets}) | ${r.counts.procs} / ${r.counts.fds} | ${fmt(r.ssp.wall)} (${fmt(r.ssp.best)}), ${r.ssp.rss.toFixed(0)} MiB | ${fmt(r.ss.wall)} | ${fmt(r.status.wall)}, ${r.status.rss.toFixed(0)} MiB | ${ratio(r.status)} | ${fmt(r.again.wall)}, ${r.again.rss.toFixed(0)} MiB | ${ratio(r.again)} | ${fmt(r.first.wall)}, ${r.first.rss.toFixed(0)} MiB | ${fmt(r.text.wall)}, ${r.text.rss.toFixed(0)} MiB | ${fmt(r.floor.wall)} | ${r.load} |`);
  }
  if (cron) {
    out.push('');
    out.push(`Cron case, \`lsm -c\` with nothing changed at 1k sockets, end to end (median of 10): **${fmt(cron.wall)}**, peak RSS ${cron.rss.toFixed(0)} MiB (target ≤ 0.15 s); \`node -e 0\` beside it: ${fmt(cron.node.wall)}, so lsm's own part is ${fmt(Math.max(0, cron.wall - cron.node.wall))}.`);
  }
  if (!quick) out.push('', await cpuRows(['10k', '100k']));
  return out.join('\n');
}
