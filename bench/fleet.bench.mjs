// Fleet at scale: 1,000 hosts x 100 changes in one central repository, generated with git
// fast-import from realistic snapshots (the churn of gen-history.mjs: services, dev ports coming and
// going, upgrades, containers), then indexed by `lsm fleet reindex` as the hooks would have. Measures
// fleet status / where / log against the obvious git answers, the size per host per change, and
// real pushes (lsm's own push code) to lighttpd + git http-backend on loopback in a namespace.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cleanup, fmt } from './lib.mjs';

/** Median wall and CPU (user + system) seconds of N runs, and peak RSS: on a loaded machine CPU time is the steadier figure. */
function measure(argv, { runs = 5, env = {} } = {}) {
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
  return { wall: median(walls), cpu: median(cpus), rss };
}
const both = (m) => `${fmt(m.wall)} (CPU ${fmt(m.cpu)})`;

const sortLines = (a) => a.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

/** One host's history as a fast-import stream chunk: 5 files at the root commit, then only what changed. */
function hostStream(h, changes, now, rand) {
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const base = [];
  const nTcp = 10 + Math.floor(rand() * 30);
  for (let i = 0; i < nTcp; i++) base.push({ file: 'host/tcp', line: `0.0.0.0:${[22, 25, 53, 80, 443, 631, 3306, 5432, 6379, 8080][i % 10] + Math.floor(i / 10) * 10000}  svc${i}  ${pick(['root', 'www-data', 'postgres'])}  /usr/sbin/svc${i}` });
  for (let i = 0; i < 8; i++) base.push({ file: 'host/udp', line: `0.0.0.0:${[53, 68, 123, 161, 514][i % 5] + Math.floor(i / 5) * 1000}  udp${i}  root  /usr/sbin/udp${i}` });
  for (let i = 0; i < 20; i++) base.push({ file: 'host/unix', line: `/run/svc${i}.sock  stream  svc${i}  root  /usr/sbin/svc${i}` });
  if (h % 37 === 0) base.push({ file: 'host/tcp', line: '0.0.0.0:4444  nc  root  /usr/bin/nc.openbsd' }); // the backdoor the admin asks about
  const transient = new Map();
  const containers = new Map();
  const version = new Map();
  let out = '';
  let prev = new Map();
  for (let n = 0; n < changes; n++) {
    const events = 1 + Math.floor(rand() * 3);
    for (let e = 0; e < events; e++) {
      const r = rand();
      if (r < 0.45) { const port = 30000 + Math.floor(rand() * 2000); transient.set(`t${port}`, { file: 'host/tcp', line: `127.0.0.1:${port}  node  dev  /usr/bin/node`, until: n + 1 + Math.floor(rand() * 50) }); }
      else if (r < 0.65) { const i = Math.floor(rand() * base.length); version.set(i, (version.get(i) ?? 0) + 1); }
      else if (r < 0.8) containers.set(Math.floor(rand() * 2 ** 48).toString(16).padStart(12, '0'), n + 5 + Math.floor(rand() * 50));
      else { const port = 40000 + Math.floor(rand() * 100); transient.set(`u${port}`, { file: 'host/udp', line: `0.0.0.0:${port}  debug  root  /opt/debug/bin/agent`, until: n + 1 + Math.floor(rand() * 10) }); }
    }
    for (const [k, t] of transient) if (t.until <= n) transient.delete(k);
    for (const [id, until] of containers) if (until <= n) containers.delete(id);
    const snap = new Map([['host/tcp', []], ['host/udp', []], ['host/raw', []], ['host/packet', []], ['host/unix', []]]);
    base.forEach((b, i) => { const v = version.get(i); snap.get(b.file).push(v ? b.line.replace(/(\/usr\/\S+)$/, `$1-${v}`) : b.line); });
    for (const t of transient.values()) snap.get(t.file).push(t.line);
    for (const id of containers.keys()) snap.set(`netns/${id}/tcp`, ['0.0.0.0:80  nginx  root,www-data  /usr/sbin/nginx']);
    const texts = new Map([...snap].map(([p, l]) => [p, l.length ? sortLines(l).join('\n') + '\n' : '']));
    // one change a day for 100 days, ending now: --since 1d selects about one change per host
    const t = Math.floor((now - (changes - 1 - n) * 86_400_000 - Math.floor(rand() * 3_600_000)) / 1000);
    const id = `host-${String(h).padStart(4, '0')}`;
    const msg = n === 0 ? 'first snapshot' : 'change';
    out += `commit refs/heads/hosts/${id}\nmark :${n + 1}\nauthor lsm <lsm@${id}> ${t} +0000\ncommitter lsm <lsm@${id}> ${t} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}\n`;
    if (n > 0) out += `from :${n}\n`;
    for (const [p, text] of texts) if (prev.get(p) !== text) out += `M 100644 inline ${p}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
    for (const p of prev.keys()) if (!texts.has(p)) out += `D ${p}\n`;
    prev = texts;
  }
  return out;
}

export default async function run({ quick }) {
  const HOSTS = quick ? 100 : 1000;
  const CHANGES = 100;
  const dir = mkdtempSync(join(tmpdir(), 'lsm-bench-fleet-'));
  try {
    const central = join(dir, 'fleet.git');
    const conf = join(dir, 'central.conf');
    writeFileSync(conf, `SENDMAIL=""\nEVENT_LOG=""\nSPOOL_DIR="${join(dir, 'spool')}"\n`, { mode: 0o600 });
    execFileSync(BIN, ['fleet', 'init', central, '--config', conf, '--htpasswd', join(dir, 'htpasswd'), '--listen', '127.0.0.1', '--port', '8080'], { stdio: ['ignore', 'ignore', 'inherit'] });
    let x = 7;
    const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const now = Date.now();
    const t0 = performance.now();
    const fi = spawn('git', ['--git-dir', central, 'fast-import', '--quiet', '--done'], { stdio: ['pipe', 'inherit', 'inherit'] });
    for (let h = 0; h < HOSTS; h++) {
      // each host's chunk reuses marks :1..:100 (fast-import lets a mark be redefined): no checkpoint needed
      if (!fi.stdin.write(hostStream(h, CHANGES, now, rand))) await new Promise((r) => fi.stdin.once('drain', r));
    }
    fi.stdin.end('done\n');
    await new Promise((r) => fi.on('exit', r));
    const genS = (performance.now() - t0) / 1000;
    execFileSync('git', ['--git-dir', central, 'gc', '--quiet']);
    const bytes = Number(execFileSync('du', ['-sb', join(central, 'objects')], { encoding: 'utf8' }).split('\t')[0]);
    const t1 = performance.now();
    execFileSync(BIN, ['fleet', 'reindex', '--fleet', central]);
    const reindexS = (performance.now() - t1) / 1000;
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
    const push = pushFigures(dir, quick);
    const rows = [
      ['`lsm fleet status --json`', both(status), `${status.rss.toFixed(0)} MiB`, '', '≤ 1 s'],
      ['`lsm fleet where 4444 --json`', both(where), `${where.rss.toFixed(0)} MiB`, `git grep over ${refs.length} tips: ${both(grep)}, same hosts: **${same ? 'yes' : 'NO'}** (${ours.size})`, '≤ 1 s'],
      ['`lsm fleet log --since 1d --json`', both(log), `${log.rss.toFixed(0)} MiB`, `git log --since over every tip: ${both(gitLog)}`, '≤ 1 s'],
      ['`lsm fleet blame 4444 --json`', both(blame), `${blame.rss.toFixed(0)} MiB`, '', ''],
      ['`lsm fleet reindex` (every branch, from scratch)', fmt(reindexS), '', '', ''],
      ...push.rows,
    ];
    return [
      `## Fleet: ${HOSTS} hosts × ${CHANGES} changes`,
      '',
      `Generated with \`git fast-import\` (${fmt(genS)}; churn as in gen-history.mjs, a 4444 listener on every 37th host), then \`git gc\`: objects ${(bytes / 2 ** 20).toFixed(1)} MiB, **${(bytes / HOSTS / CHANGES).toFixed(0)} bytes per host per change**. Medians of 5 runs through bin/lsm; wall time, and CPU time (user + system) beside it.`,
      '',
      '| measure | time | peak RSS | git alone | target |',
      '| --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      ...push.notes,
    ].join('\n');
  } finally {
    cleanup(dir);
  }
}

/** Real pushes: lighttpd + git http-backend in a network namespace, lsm's push code on each side. */
function pushFigures(dir, quick) {
  const script = new URL('./fleet-push.mjs', import.meta.url).pathname;
  const r = spawnSync('unshare', ['--net', process.execPath, script, join(dir, 'push'), ...(quick ? ['quick'] : [])], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { rows: [], notes: ['', `Push figures not measured: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`] };
  const f = JSON.parse(r.stdout.trim().split('\n').pop());
  return {
    rows: [
      ['push of one change, end to end (commit already made; median of 20)', fmt(f.pushOne), '', '', '≤ 0.3 s'],
      ['no-op push (the heartbeat)', fmt(f.heartbeat), '', '', ''],
      [`${f.concurrent} hosts pushing at once`, fmt(f.concurrentWall), '', `landed: **${f.landed}/${f.concurrent}**`, 'all land'],
    ],
    notes: [],
  };
}
