// The fleet web view at scale: a generated fleet (bench/fleet-gen.mjs; indexed first with
// `lsm fleet reindex`), its web files written by the drain's generator (all, then one host changed),
// their sizes, and headless Chromium's time to a usable host table and to a first search.
// Runs in a network namespace of its own (unshare --net; loopback only):
//   unshare --net sh -c 'ip link set lo up && node bench/fleet-web.mjs GITDIR'
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import puppeteer from 'puppeteer-core';
import { writeFleetWeb } from '../dist/fleet/web/generate.js';

const gitdir = process.argv[2];
const web = join(gitdir, 'lsm', 'web');
const secs = (t) => ((performance.now() - t) / 1000).toFixed(2);
let t = performance.now();
const all = await writeFleetWeb(gitdir, [], { silentAfterMs: 1_800_000 });
console.log(`first write: ${all.hosts} host files, ${all.diffs} diffs, ${secs(t)} s${all.problems.length ? `; ${all.problems}` : ''}`);
const one = JSON.parse(readFileSync(join(web, 'fleet.json'), 'utf8')).hosts[0].host;
t = performance.now();
const inc = await writeFleetWeb(gitdir, [one], { silentAfterMs: 1_800_000 });
console.log(`a drain after one host's push: ${inc.hosts} host file, ${secs(t)} s`);
for (const f of ['fleet.json', 'where.json', `h/${one}.json`]) console.log(`${f}: ${(statSync(join(web, f)).size / 1024).toFixed(0)} KiB`);

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.txt': 'text/plain', '.svg': 'image/svg+xml' };
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^\/+/, '') || 'index.html';
  try { const body = readFileSync(join(web, path)); res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }); res.end(body); }
  catch { res.writeHead(404); res.end(); }
}).listen(8099, '127.0.0.1');
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, pipe: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    await page.goto('http://127.0.0.1:8099/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('body[data-ready="1"] #hosts tbody tr');
    const usable = secs(t);
    t = performance.now();
    await page.type('#q', '4444');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#hits tbody tr').length > 0);
    console.log(`run ${i + 1}: table usable ${usable} s; first search (loads where.json) ${secs(t)} s, ${await page.$$eval('#hits tbody tr', (r) => r.length)} hits`);
  }
} finally {
  await browser.close();
  server.close();
}
