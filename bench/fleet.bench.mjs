// Fleet at scale: 1,000 hosts (LSM_BENCH_FLEET_HOSTS) x 100 changes in one central repository, generated with one git
// fast-import stream of realistic snapshots (fleet-gen.mjs: the churn of gen-history.mjs, each
// distinct file text a blob reused by mark), then indexed by `lsm fleet reindex` as the hooks would have. Measures
// fleet status / where / log against the obvious git answers, the size per host per change, and
// real pushes (lsm's own push code) to lighttpd + git http-backend on loopback in a namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cleanup, fmt, machine } from './lib.mjs';
import { generateFleet } from './fleet-gen.mjs';

/** Median wall and CPU (user + system) seconds of N runs, and peak RSS: on a loaded machine CPU time is the steadier figure. */
function measure(argv, { runs = 5, env = {} } = {}) {
  const load = loadNow();
  const walls = [], cpus = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 30 });
    walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
    const [u, sy, m] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    cpus.push(u + sy);
    rss = Math.max(rss, m / 1024);
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { wall: median(walls), cpu: median(cpus), rss, load };
}
const loadNow = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const both = (m) => `${fmt(m.wall)} (CPU ${fmt(m.cpu)})`;

// LSM_BENCH_FLEET_HOSTS sets the fleet's size (default 1,000; the target is met at 10,000);
// LSM_BENCH_FLEET_PUSH=0 leaves out the real pushes (they do not depend on the index).
export default async function run({ quick }) {
  const HOSTS = quick ? 100 : Number(process.env.LSM_BENCH_FLEET_HOSTS || 1000);
  const CHANGES = 100;
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bench-fleet-'));
  try {
    const central = join(dir, 'fleet.git');
    const conf = join(dir, 'central.conf');
    writeFileSync(conf, `SENDMAIL=""\nEVENT_LOG=""\nSPOOL_DIR="${join(dir, 'spool')}"\n`, { mode: 0o600 });
    execFileSync(BIN, ['fleet', 'init', central, '--config', conf, '--htpasswd', join(dir, 'htpasswd'), '--listen', '127.0.0.1', '--port', '8080'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const now = Date.now();
    const t0 = performance.now();
    const blobs = await generateFleet(central, HOSTS, CHANGES, now);
    const genS = (performance.now() - t0) / 1000;
    execFileSync('git', ['--git-dir', central, 'gc', '--quiet']);
    const bytes = Number(execFileSync('du', ['-sb', join(central, 'objects')], { encoding: 'utf8' }).split('\t')[0]);
    const t1 = performance.now();
    execFileSync(BIN, ['fleet', 'reindex', '--fleet', central]);
    const reindexS = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    const verified = execFileSync(BIN, ['fleet', 'verify', '--fleet', central], { encoding: 'utf8' }).trim();
    const verifyS = (performance.now() - t2) / 1000;
    // a reindex of an index whose proofs hold (each host from its own proven files), and verify --full (every host from git)
    const again = measure([BIN, 'fleet', 'reindex', '--fleet', central], { runs: 1 });
    const full = measure([BIN, 'fleet', 'verify', '--full', '--fleet', central], { runs: 1 });
    const indexBytes = Number(execFileSync('du', ['-sb', join(central, 'lsm', 'index')], { encoding: 'utf8' }).split('\t')[0]);
    const shardBytes = Number(execFileSync('du', ['-sb', join(central, 'lsm', 'index', 'shards')], { encoding: 'utf8' }).split('\t')[0]);
    const env = { LSM_CONFIG: conf };
    const q = (args) => measure([BIN, 'fleet', ...args, '--fleet', central], { runs: 5, env });
    const status = q(['status', '--json']);
    const where = q(['where', '4444', '--json']);
    const log = q(['log', '--since', '1d', '--json']);
    const blame = q(['blame', '4444', '--json']);
    // the obvious git answer to `where 4444`: git grep over every host branch tip
    const refs = execFileSync('git', ['--git-dir', central, 'for-each-ref', '--format=%(refname)', 'refs/heads/hosts/'], { encoding: 'utf8' }).trim().split('\n');
    const grepArgv = ['git', '--git-dir', central, 'grep', '-l', '-E', ':4444  ', ...refs, '--', '*/tcp'];
    const grep = measure(grepArgv, { runs: 5 });
    const ours = new Set(JSON.parse(execFileSync(BIN, ['fleet', 'where', '4444', '--json', '--fleet', central], { encoding: 'utf8', env: { ...process.env, ...env } })).hits.map((h) => h.host));
    const theirs = new Set(spawnSync(grepArgv[0], grepArgv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.trim().split('\n').filter(Boolean).map((l) => l.split(':')[0].replace('refs/heads/hosts/', '')));
    const same = ours.size === theirs.size && [...ours].every((h) => theirs.has(h));
    const gitLog = measure(['git', '--git-dir', central, 'log', '--since=1 day ago', '--format=%H %ct %s', ...refs], { runs: 5 });
    const node0 = measure([process.execPath, '-e', '0'], { runs: 5 });
    // the obvious git answers to status (every tip's last commit) and blame (every commit that added or removed a 4444 line)
    const gitStatus = measure(['git', '--git-dir', central, 'for-each-ref', '--format=%(refname) %(objectname) %(committerdate:unix) %(subject)', 'refs/heads/hosts/'], { runs: 5 });
    const gitBlame = measure(['git', '--git-dir', central, 'log', '-G:4444  ', '--format=%H %ct', ...refs, '--', '*/tcp'], { runs: 1 });
    const logHits = JSON.parse(execFileSync(BIN, ['fleet', 'log', '--since', '1d', '--json', '--fleet', central], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 })).changes.length;
    const push = process.env.LSM_BENCH_FLEET_PUSH === '0' ? { rows: [], notes: ['', 'Push figures not measured in this run (LSM_BENCH_FLEET_PUSH=0).'] } : pushFigures(dir, quick, central);
    const rows = [
      ['`lsm fleet status --json`', both(status), `${status.rss.toFixed(0)} MiB`, `git for-each-ref (tip, date, subject of every host): ${both(gitStatus)}`, '≤ 1 s, ≤ 200 MiB', status.load],
      ['`lsm fleet where 4444 --json`', both(where), `${where.rss.toFixed(0)} MiB`, `git grep over ${refs.length} tips: ${both(grep)}, same hosts: **${same ? 'yes' : 'NO'}** (${ours.size})`, '≤ 1 s', where.load],
      [`\`lsm fleet log --since 1d --json\` (${logHits} changes)`, both(log), `${log.rss.toFixed(0)} MiB`, `git log --since over every tip: ${both(gitLog)}`, '≤ 1 s', log.load],
      ['`lsm fleet blame 4444 --json`', both(blame), `${blame.rss.toFixed(0)} MiB`, `git log -G over every tip (1 run): ${both(gitBlame)}`, '≤ 1 s, ≤ 200 MiB', blame.load],
      ['`node -e 0` (the floor of every command)', both(node0), `${node0.rss.toFixed(0)} MiB`, '', '', node0.load],
      ['`lsm fleet reindex` (every branch, from scratch)', fmt(reindexS), '', '', '≤ 60 s', ''],
      [`\`lsm fleet verify\` (every file's proof against the refs and its bytes): "${verified}"`, fmt(verifyS), '', '', '≤ 60 s', ''],
      ['`lsm fleet reindex` again (proven files reused, same bytes)', both(again), `${again.rss.toFixed(0)} MiB`, '', '≤ 60 s', again.load],
      ['`lsm fleet verify --full` (every branch rebuilt from git, every byte compared)', both(full), `${full.rss.toFixed(0)} MiB`, '', '', full.load],
      ...push.rows,
    ];
    return [
      `## Fleet: ${HOSTS} hosts × ${CHANGES} changes`,
      '',
      `Generated with one \`git fast-import\` stream (${fmt(genS)}, ${blobs} distinct file texts; churn as in gen-history.mjs, a 4444 listener on every 37th host), then \`git gc\`: objects ${(bytes / 2 ** 20).toFixed(1)} MiB, **${(bytes / HOSTS / CHANGES).toFixed(0)} bytes per host per change**; the index (lsm/index) ${(indexBytes / 2 ** 20).toFixed(1)} MiB, ${(indexBytes / HOSTS / 1024).toFixed(1)} KiB a host (of which the shards ${(shardBytes / HOSTS / 1024).toFixed(1)} KiB). Medians of 5 runs through bin/lsm; wall time, and CPU time (user + system) beside it.`,
      '',
      '| measure | time | peak RSS | git alone | target | load average at start |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      ...push.notes,
    ].join('\n');
  } finally {
    cleanup(dir);
  }
}

/** Real pushes: lighttpd + git http-backend in a network namespace, lsm's push code on each side. */
function pushFigures(dir, quick, central) {
  const script = new URL('./fleet-push.mjs', import.meta.url).pathname;
  // into the generated fleet: the server lists every host's refs to each push, the guard and the drain see them all
  const r = spawnSync('unshare', ['--net', process.execPath, script, join(dir, 'push'), quick ? 'quick' : '50', central], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) return { rows: [], notes: ['', `Push figures not measured: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`] };
  const f = JSON.parse(r.stdout.trim().split('\n').pop());
  const cpu = (m) => `${fmt(m.wall)} (CPU: host ${fmt(m.client)}, server ${fmt(m.server)})`;
  return {
    rows: [
      ['push of one change, end to end (commit already made; median of 10, each alone)', cpu(f.pushOne), '', `node -e 0 in the same namespace: ${fmt(f.node0)}`, '≤ 0.3 s', f.loadAtOne],
      ['no-op push (the heartbeat; median of 10, each alone)', cpu(f.heartbeat), '', '', '', f.loadAtOne],
      ['20 changes pushed one after the other (median wall; server CPU per push)', `${fmt(f.stream.wall)} (CPU: server ${fmt(f.stream.server)})`, '', '', '', f.load],
      [`${f.concurrent} hosts pushing at once`, `${fmt(f.concurrentWall)} (CPU: server ${fmt(f.concurrentServer)})`, '', `landed: **${f.landed}/${f.concurrent}**${f.failed.length ? ` (${f.failed.join('; ')}); after the retry the next run makes: **${f.landedAfterRetry}/${f.concurrent}**` : ''}`, 'all land', f.load],
    ],
    notes: [],
  };
}
