// Issue 18's speed targets, as CPU time (user + system) against references measured in the same
// run: `lsm scan` at 100k sockets vs `ss -tuan` (<= 2x, peak RSS <= 64 MiB), and the cron case
// (`lsm -c`, nothing changed, 1k sockets) vs `node -e 0` (<= +50 ms). LSM_BENCH_BEFORE=<dir of
// another build of lsm> measures that one beside this one (before/after in one run).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, measure, withFarm, withIsolatedFarm } from './lib.mjs';

const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
// network namespaces processes are in: a scan's kernel work grows with them (each dump walks tables
// every namespace shares), so a row is comparable only with this count
const namespaces = () => new Set(readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => { try { return readlinkSync(`/proc/${p}/ns/net`); } catch { return null; } }).filter(Boolean)).size;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Each command of `argvs` run `runs` times, taking turns (the machine's load falls on all alike). */
function interleaved(argvs, runs, options = {}) {
  const all = argvs.map(() => []);
  for (let i = 0; i < runs; i++) argvs.forEach((argv, k) => all[k].push(measure(argv, { runs: 1, ...options })));
  return all.map((m) => ({ cpu: median(m.map((x) => x.cpu)), wall: median(m.map((x) => x.wall)), rss: Math.max(...m.map((x) => x.rss)) }));
}

export default async function run({ quick }) {
  const before = process.env.LSM_BENCH_BEFORE ? join(process.env.LSM_BENCH_BEFORE, 'bin', 'lsm') : null;
  const builds = [['this', BIN], ...(before ? [['before', before]] : [])];
  const out = ['## Speed (issue 18): CPU time against references in the same run', ''];
  out.push('CPU is user + system time of the whole command (GNU time; the cron case to the microsecond, bench/rusage.py; children and threads included), median of the runs;');
  out.push('peak RSS the largest. On a shared machine CPU time moves far less with load than wall time. Every command');
  out.push('of a table takes turns with the others, run after run.');
  if (before) out.push(`"before" is ${process.env.LSM_BENCH_BEFORE_NAME ?? before}.`);
  out.push('');
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (const size of quick ? ['1k'] : ['100k', '1k']) {
    const big = size === '100k';
    // the cron case is a 1k-socket host: the farm alone in namespaces of its own, not the shared
    // machine's every process and namespace (lsm -c reads them all, as it should)
    await (big ? withFarm : withIsolatedFarm)(size, async (ns, dir) => {
      const inNs = big ? (argv) => ['ip', 'netns', 'exec', ns, ...argv] : ns;
      writeFileSync(join(dir, 'none'), '');
      // a config, spool and repository per build: a spool belongs to one repository
      const setup = (name) => {
        const conf = join(dir, `lsm-${name}.conf`);
        writeFileSync(conf, `SPOOL_DIR="${join(dir, `spool-${name}`)}"\nEVENT_LOG=""\nSENDMAIL=""\nHOOKS_DIR="${join(dir, 'hooks')}"\nIGNORE_FILE="${join(dir, 'none')}"\n`);
        return ['--config', conf, '--repo', join(dir, `repo-${name}`)];
      };
      const count = inNs(['sh', '-c', 'ss -tuanx | tail -n +2 | wc -l']);
      const sockets = Number(execFileSync(count[0], count.slice(1), { encoding: 'utf8' }));
      const at = load();
      const nets = namespaces();
      const argvs = [big ? inNs(['ss', '-tuan']) : inNs([process.execPath, '-e', '0'])];
      // the cron case's kernel share: the same tables read by ss (the kernel walks every namespace's
      // sockets to dump one: on a shared host, other namespaces' sockets cost here too)
      if (!big) argvs.push(inNs(['ss', '-tuan']));
      for (const [name, bin] of builds) {
        const args = setup(name);
        // 100k: the first scan commits, the measured ones find nothing new; 1k: lsm -g approves first
        const first = inNs([bin, ...args, ...(big ? ['scan'] : ['-g']), '-q']);
        execFileSync(first[0], first.slice(1), { stdio: 'ignore' });
        argvs.push(inNs([bin, ...args, ...(big ? ['scan', '-q'] : ['-c'])]));
      }
      // the cron case: this build's dist/ as node's ESM loader runs it, without the bundle bin/lsm runs
      // (dist/lsm-start.cjs: docs/cron-startup.md), with bin/lsm's flag
      const esm = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
      const manyFiles = Number(readFileSync('/proc/sys/fs/file-nr', 'utf8').split('\t')[0]) >= 20000;
      if (!big) argvs.push(inNs([process.execPath, ...(manyFiles ? ['--optimize-for-size'] : []), esm, ...setup('this'), '-c']));
      // the cron case: stdio not sockets of the host's namespace (measure's filesIn), or lsm -c reads that
      // namespace too and finds its sockets come and go (a change, not the no-change run measured)
      const [ref, ...rest] = interleaved(argvs, big ? 5 : 15, big ? {} : { filesIn: dir });
      const kernel = big ? null : rest.shift();
      const esmRun = big ? null : rest.pop();
      const measured = rest;
      // collect() alone, in process, fd links read natively vs by the JS worker (as before), taking turns
      const split = { worker: [], native: [] };
      const script = fileURLToPath(new URL('./collect-cpu.mjs', import.meta.url));
      for (let i = 0; big && i < 5; i++) {
        for (const mode of ['worker', 'native']) {
          const r = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--optimize-for-size', script, mode], { encoding: 'utf8' }));
          split[mode].push(r);
        }
      }
      if (big) {
        out.push(`### \`lsm scan\` (no change) at 100k sockets (${sockets}), load average ${at} at the start, ${nets} network namespaces on the machine (processes')`, '');
        out.push('| command | CPU | wall | peak RSS | CPU ratio to `ss -tuan` | target |', '| --- | --- | --- | --- | --- | --- |');
        out.push(`| \`ss -tuan\` | ${ms(ref.cpu)} | ${ms(ref.wall)} | ${ref.rss.toFixed(0)} MiB | 1× | |`);
        builds.forEach(([name], k) => out.push(`| lsm scan (${name}) | ${ms(measured[k].cpu)} | ${ms(measured[k].wall)} | ${measured[k].rss.toFixed(0)} MiB | **${(measured[k].cpu / ref.cpu).toFixed(2)}×** | ≤ 2×, ≤ 64 MiB |`));
        const c = (mode) => median(split[mode].map((r) => r.cpu));
        out.push('');
        // separate collections of a live host: a process or two may come and go between them (the
        // walks' equality is the tests' job: test/unit/fd-walk, test/integration/fds)
        const owned = (mode) => [...new Set(split[mode].map((r) => r.owned))].join('/');
        out.push(`collect() alone (in process, median of 5 each, taking turns; ${split.native[0].sockets} sockets kept; with owners: native ${owned('native')}, worker ${owned('worker')}):`);
        out.push(`fd links read natively ${ms(c('native'))} CPU, by the JS worker and main thread (the default before) ${ms(c('worker'))}: **${((1 - c('native') / c('worker')) * 100).toFixed(0)} % less**.`);
      } else {
        const files = readFileSync('/proc/sys/fs/file-nr', 'utf8').split('\t')[0];
        out.push(`### Cron case, \`lsm -c\` with nothing changed at 1k sockets (${sockets}), load average ${at} at the start`, '');
        out.push(`The farm alone in pid, mount and network namespaces of its own; open files on the machine ${files} (from 20,000 bin/lsm adds --optimize-for-size); every row runs through nsenter and ip netns exec alike.`, '');
        out.push('| command | CPU | wall | peak RSS | CPU over `node -e 0` | target |', '| --- | --- | --- | --- | --- | --- |');
        out.push(`| \`node -e 0\` | ${ms(ref.cpu)} | ${ms(ref.wall)} | ${ref.rss.toFixed(0)} MiB | | |`);
        out.push(`| \`ss -tuan\` (the kernel's share: the same tables) | ${ms(kernel.cpu)} | ${ms(kernel.wall)} | ${kernel.rss.toFixed(0)} MiB | | |`);
        builds.forEach(([name], k) => out.push(`| lsm -c (${name}) | ${ms(measured[k].cpu)} | ${ms(measured[k].wall)} | ${measured[k].rss.toFixed(0)} MiB | **+${ms(measured[k].cpu - ref.cpu)}** (${((measured[k].cpu - ref.cpu) / ref.cpu).toFixed(2)}× node's own) | ≤ +50 ms |`));
        out.push(`| lsm -c (this, dist/ by node's ESM loader, no bundle, no sh) | ${ms(esmRun.cpu)} | ${ms(esmRun.wall)} | ${esmRun.rss.toFixed(0)} MiB | +${ms(esmRun.cpu - ref.cpu)} | |`);
        // the runs measured are the no-change case only if none of them committed
        for (const [name] of builds) {
          const commits = Number(execFileSync('git', ['-C', join(dir, `repo-${name}`), 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' })) - 1;
          if (commits) out.push('', `**lsm -c (${name}) found a change in ${commits} of the runs: those rows are not the no-change case.**`);
        }
      }
      out.push('');
    });
  }
  return out.join('\n').trim();
}
