// The fleet web view at scale, in one command (after `npm run build`, as root for unshare):
//
//   node bench/fleet-web.mjs                 # 10,000 hosts x 10 changes, generated, indexed, measured, removed
//   node bench/fleet-web.mjs --hosts 3000    # a smaller fleet
//   node bench/fleet-web.mjs --fleet GITDIR  # a fleet already generated and indexed (its lsm/web written or brought up to date)
//
// It generates the fleet as bench/fleet.bench.mjs does (bench/fleet-gen.mjs, then `lsm fleet
// reindex`), writes the web files with the drain's generator (all of them, then after one host's
// new commit: what a drain after one push does), prints the files' sizes, then serves lsm/web on
// loopback and measures in headless Chromium (/usr/bin/chromium, puppeteer-core), each run with a
// fresh page and no cache: time to a usable host table, to a first port search (its where bucket
// loaded), and to a text search (every bucket). Each figure with the load average beside it: on a
// shared machine the load is most of the story. It runs itself in a network namespace of its own
// (unshare --net, loopback only).
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { parseArgs } from 'node:util';

if (process.env.LSM_BENCH_NETNS !== '1') {
  const r = spawnSync('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, LSM_BENCH_NETNS: '1' } });
  process.exit(r.status ?? 1);
}

const { default: puppeteer } = await import('puppeteer-core');
const { writeFleetWeb } = await import('../dist/fleet/web/generate.js');
const { generateFleet } = await import('./fleet-gen.mjs');
const BIN = new URL('../bin/lsm', import.meta.url).pathname;
const { values: args } = parseArgs({ options: { hosts: { type: 'string', default: '10000' }, changes: { type: 'string', default: '10' }, fleet: { type: 'string' }, runs: { type: 'string', default: '3' } } });
const load = () => `load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;
const secs = (t) => ((performance.now() - t) / 1000).toFixed(2);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;

let dir = null;
let gitdir = args.fleet;
if (!gitdir) {
  dir = mkdtempSync(join(tmpdir(), 'lsm-bench-fleet-web-'));
  gitdir = join(dir, 'fleet.git');
  const conf = join(dir, 'central.conf');
  writeFileSync(conf, `SENDMAIL=""\nEVENT_LOG=""\nSPOOL_DIR="${join(dir, 'spool')}"\n`, { mode: 0o600 });
  execFileSync(BIN, ['fleet', 'init', gitdir, '--config', conf, '--htpasswd', join(dir, 'htpasswd'), '--listen', '127.0.0.1', '--port', '8080'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let t = performance.now();
  await generateFleet(gitdir, Number(args.hosts), Number(args.changes), Date.now());
  console.log(`generated ${args.hosts} hosts x ${args.changes} changes: ${secs(t)} s (${load()})`);
  t = performance.now();
  execFileSync(BIN, ['fleet', 'reindex', '--fleet', gitdir], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`lsm fleet reindex: ${secs(t)} s (${load()})`);
}
const web = join(gitdir, 'lsm', 'web');
const o = { silentAfterMs: 1_800_000 };
try {
  let t = performance.now();
  // every file written (a fleet given with --fleet whose files are there already: only what moved since)
  const all = await writeFleetWeb(gitdir, [], o);
  console.log(`${all.full ? 'first write of every file' : 'a drain (the web files were there)'}: ${all.hosts} host files, ${all.diffs} diffs, ${all.buckets} where buckets: ${secs(t)} s (${load()})${all.problems.length ? `; ${all.problems}` : ''}`);

  // one host pushes a change (a new listener): the drain's web part after it
  const one = JSON.parse(readFileSync(join(web, 'fleet.json'), 'utf8')).hosts.host[0];
  const ref = `refs/heads/hosts/${one}`;
  const tcp = execFileSync('git', ['--git-dir', gitdir, 'show', `${ref}:host/tcp`], { encoding: 'utf8' }).trim().split('\n').filter((l) => l);
  const text = [...tcp, '0.0.0.0:31337  nc  root  /usr/bin/nc.openbsd'].sort().map((l) => `${l}\n`).join('');
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: `commit ${ref}\ncommitter lsm <lsm@${one}> ${Math.floor(Date.now() / 1000)} +0000\ndata 7\nchange\nfrom ${ref}^0\nM 100644 inline host/tcp\ndata ${Buffer.byteLength(text)}\n${text}\n` });
  const drains = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    const inc = await writeFleetWeb(gitdir, i === 0 ? [one] : [], o);
    drains.push(`${secs(t)} s (${inc.hosts} host file, ${inc.buckets} bucket${inc.buckets === 1 ? '' : 's'}, ${load()})`);
    if (inc.problems.length) console.log(inc.problems.join('\n'));
  }
  console.log(`a drain after ${one}'s push (its index updated on the way): ${drains[0]}; nothing new since: ${drains[1]}, ${drains[2]}`);

  const size = (f) => statSync(join(web, f)).size;
  const buckets = readdirSync(join(web, 'w')).filter((n) => /^\d+\.json$/.test(n)).map((n) => size(`w/${n}`)).sort((a, b) => a - b);
  const total = buckets.reduce((a, b) => a + b, 0);
  console.log(`fleet.json ${kib(size('fleet.json'))}; w/hosts.json ${kib(size('w/hosts.json'))}; where buckets: ${buckets.length}, ${kib(total)} in all, median ${kib(buckets[buckets.length >> 1])}, largest ${kib(buckets.at(-1))}; h/${one}.json ${kib(size(`h/${one}.json`))}`);

  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.txt': 'text/plain', '.svg': 'image/svg+xml' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '') || 'index.html';
    try { const body = readFileSync(join(web, path)); res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }); res.end(body); }
    catch { res.writeHead(404); res.end(); }
  }).listen(8099, '127.0.0.1');
  const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, pipe: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    for (let i = 0; i < Number(args.runs); i++) {
      const page = await browser.newPage();
      await page.setCacheEnabled(false);
      t = performance.now();
      await page.goto('http://127.0.0.1:8099/', { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('body[data-ready="1"] #hosts tbody tr');
      const usable = `${secs(t)} s (${load()})`;
      const search = async (what) => {
        await page.$eval('#q', (q) => { q.value = ''; });
        await page.evaluate(() => { document.querySelector('#hits tbody').replaceChildren(); document.querySelector('#search-status').textContent = ''; });
        const t0 = performance.now();
        await page.type('#q', what);
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => /now|No host/.test(document.querySelector('#search-status').textContent));
        return `${secs(t0)} s, ${await page.$eval('#search-status', (s) => s.textContent)} (${load()})`;
      };
      console.log(`run ${i + 1}: host table usable ${usable}; first search 4444: ${await search('4444')}; then nginx (every bucket): ${await search('nginx')}`);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
