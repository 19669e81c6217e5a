// The fleet's web view in a real browser: Debian's chromium driven by puppeteer-core, against the
// lighttpd configuration `lsm fleet init` prints (test/helpers/fleet-server.ts runs it as printed).
// Hosts push snapshots whose owners are markup (<script>, an <img onerror>); the page must show
// them as text, fire nothing, log no error, answer as the CLI does, and be rewritten per host.
// LSM_SCREENSHOTS=docs/img saves the screenshots docs/fleet-web.md shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startFleetServer, type FleetServer } from '../helpers/fleet-server.js';
import { escapeField } from '../../src/snapshot/escape.js';

const CHROMIUM = '/usr/bin/chromium';
const BASE = 'http://127.0.0.1:8080/fleet/';
const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(2)>';
const SOCK = '/run/<b>x</b>.sock';
const line = (endpoint: string, comm: string, user: string, exe: string) => [endpoint, escapeField(comm), user, exe].join('  ');

describe('fleet web view', { timeout: 120_000 }, () => {
  let server: FleetServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const dialogs: string[] = [];
  let web: string;

  beforeAll(async () => {
    server = await startFleetServer(['web-1', 'web-2', 'web-3']);
    web = join(server.central, 'lsm', 'web');
    const ssh = line('0.0.0.0:22', 'sshd', 'root', '/usr/sbin/sshd');
    const c1 = server.commit('web-1', [ssh, line('0.0.0.0:4444', SCRIPT, 'root', '/tmp/x')], server.commit('web-1', [ssh]));
    const c2 = server.commit('web-2', [ssh, line('0.0.0.0:8080', IMG, 'www-data', '/usr/bin/evil')], undefined, [['host/unix', `${escapeField(SOCK)}  stream  ${escapeField(IMG)}  root  /usr/bin/evil\n`]]);
    const c3 = server.commit('web-3', [ssh]);
    const pushed = [['web-1', c1], ['web-2', c2], ['web-3', c3]];
    for (const [h, c] of pushed) expect((await server.push(h, c)).code).toBe(0);
    for (const [, c] of pushed) await server.drained(c);
    // web-3 last pushed long ago: the next drain or check marks it silent
    writeFileSync(join(server.central, 'lsm', 'seen', 'web-3'), String(Date.now() - 86_400_000));
    const check = await server.world.lsm(['fleet', 'check', '--fleet', server.central, '--config', server.centralConf]);
    expect(check.stdout).toContain('1 silent host: web-3');
    // chromium in the test's network namespace (where lighttpd listens): nsenter into lighttpd's, the DevTools protocol over pipes
    const pid = readdirSync('/proc').find((p) => /^\d+$/.test(p) && (() => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(join(server.tmp, 'lighttpd.conf')); } catch { return false; } })());
    expect(pid).toBeDefined();
    const wrapper = join(server.tmp, 'chromium.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --net=/proc/${pid}/ns/net ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await puppeteer.launch({ executablePath: wrapper, pipe: true, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'], userDataDir: join(server.tmp, 'chromium-profile') });
    page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') errors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${String(e)}`));
    page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()}`));
    page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
    await page.authenticate({ username: 'web-1', password: 'pw-web-1' });
    await page.setViewport({ width: 1100, height: 800 });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  const shot = async (name: string) => {
    const dir = process.env.LSM_SCREENSHOTS;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, name) as `${string}.png`, fullPage: true });
  };

  it('is behind the git endpoint\'s basic auth, with the CSP header', async () => {
    // without credentials: 401, for the page and for its data (asked with python's urllib inside the namespace)
    const paths = ['', 'fleet.json', 'w/hosts.json', 'w/0.json', 'h/web-1.json', 'app.js'];
    const codes = await server.world.run(['python3', '-c', 'import sys,urllib.request,urllib.error\nfor u in sys.argv[1:]:\n  try:\n    print(urllib.request.urlopen(u).status)\n  except urllib.error.HTTPError as e:\n    print(e.code)', ...paths.map((p) => BASE + p)]);
    expect(codes.stdout.trim().split('\n')).toEqual(paths.map(() => '401'));
    const r = await page.goto(BASE, { waitUntil: 'networkidle0' });
    expect(r!.status()).toBe(200);
    const csp = r!.headers()['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(r!.headers()['x-content-type-options']).toBe('nosniff');
    // /fleet without its slash is sent to /fleet/ (unauthenticated: the redirect reveals nothing), query kept
    const moved = await server.world.run(['python3', '-c', 'import http.client\nfor u in ("/fleet", "/fleet?x=1"):\n  c = http.client.HTTPConnection("127.0.0.1", 8080)\n  c.request("GET", u)\n  r = c.getresponse()\n  print(r.status, r.getheader("Location"))']);
    expect(moved.stdout.trim().split('\n')).toEqual(['301 /fleet/', '301 /fleet/?x=1']);
    const slashless = await page.goto(`${BASE.slice(0, -1)}?from=slashless`, { waitUntil: 'networkidle0' });
    expect(slashless!.url()).toBe(`${BASE}?from=slashless`);
    expect(slashless!.status()).toBe(200);
    // the page says the same in its meta, and holds no inline script or style
    const html = readFileSync(join(web, 'index.html'), 'utf8');
    expect(html).toContain(`content="default-src 'none'; script-src 'self'; style-src 'self'`);
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/);
    // and its script never parses text as markup
    expect(readFileSync(join(web, 'app.js'), 'utf8')).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('lists the hosts, silent first and marked in words; filters and sorts', async () => {
    await page.waitForSelector('body[data-ready="1"]');
    const rows = await page.$$eval('#hosts tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['web-3', 'web-1', 'web-2']);
    expect(rows[0][1]).toBe('SILENT');
    expect(rows[1][1]).toBe('ok');
    expect(rows[1][6]).toContain('tcp=2');
    await shot('fleet-page.png');
    await page.type('#filter', 'web-2');
    expect(await page.$$eval('#hosts tbody tr th', (ths) => ths.map((t) => t.textContent))).toEqual(['web-2']);
    await page.$eval('#filter', (i) => { (i as HTMLInputElement).value = ''; i.dispatchEvent(new Event('input')); });
    // sort by host, descending (a real button, by keyboard): silent still first
    await page.focus('#hosts thead th:first-child button');
    await page.keyboard.press('Enter');
    expect(await page.$$eval('#hosts tbody tr th', (ths) => ths.map((t) => t.textContent))).toEqual(['web-3', 'web-2', 'web-1']);
  });

  it('searches a port and shows the hostile owners as text', async () => {
    await page.type('#q', '4444');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#hits tbody tr').length > 0);
    const hits = await page.$$eval('#hits tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(hits).toEqual([['web-1', 'host/tcp', `0.0.0.0:4444  ${SCRIPT}  root  /tmp/x`, expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\dZ$/)]]);
    await page.$eval('#q', (i) => { (i as HTMLInputElement).value = ''; });
    await page.type('#q', 'evil');
    await page.click('#go');
    await page.waitForFunction(() => document.querySelectorAll('#hits tbody tr').length === 2);
    const text = await page.$eval('#hits', (t) => t.textContent);
    expect(text).toContain(escapeField(IMG));
    expect(text).toContain(escapeField(SOCK));
    expect(await page.$$eval('img', (i) => i.length)).toBe(0);
  });

  it('opens a host and one of its diffs', async () => {
    await page.click('#hits tbody tr th a'); // web-2: its owner is an <img onerror>
    await page.waitForFunction(() => document.querySelector('#host-view h2')?.textContent === 'web-2' && document.querySelectorAll('#host-view table').length === 2);
    expect(await page.$eval('#host-view', (v) => v.textContent)).toContain(`0.0.0.0:8080  ${escapeField(IMG)}  www-data  /usr/bin/evil`);
    await page.goto(`${BASE}#host/web-1`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#host-view .show-diff');
    const buttons = await page.$$('#host-view .show-diff');
    expect(buttons).toHaveLength(2);
    await buttons[0].click(); // the latest change first: the 4444 listener
    await page.waitForFunction(() => document.querySelector('#host-view pre.diff:not([hidden])')?.textContent?.includes('@@'));
    const diff = await page.$eval('#host-view pre.diff:not([hidden])', (p) => p.textContent);
    expect(diff).toMatch(/^commit [0-9a-f]{40}\nDate: {3}\S+\n\n {4}change\n\ndiff --git a\/host\/tcp b\/host\/tcp\n/);
    expect(diff).toContain(`+0.0.0.0:4444  ${SCRIPT}  root  /tmp/x`);
    expect(await page.$eval('#host-view .show-diff', (b) => b.getAttribute('aria-expanded'))).toBe('true');
    await shot('fleet-host.png');
    await page.setViewport({ width: 390, height: 800 });
    await page.goto(BASE, { waitUntil: 'networkidle0' });
    await page.waitForSelector('body[data-ready="1"]');
    await shot('fleet-phone.png');
    // nothing ran that a host wrote, nothing the CSP blocked, nothing failed to load
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => document.scripts.length)).toBe(1);
  });

  it('answers as the CLI does on the same repository', async () => {
    const cli = async (args: string[]) => {
      const r = await server.world.lsm(['fleet', ...args, '--json', '--fleet', server.central, '--config', server.centralConf]);
      return JSON.parse(r.stdout);
    };
    const queries = ['4444', '22/tcp', '127.0.0.1:8080', SOCK, 'evil', '9999'];
    const answers = await Promise.all(queries.map((what) => cli(['where', what])));
    for (const [i, what] of queries.entries()) {
      const want = answers[i].hits.map(({ commit: _c, ...h }: Record<string, string>) => h);
      const got = await page.evaluate((w) => (window as unknown as { lsmWhere(w: string): Promise<unknown[]> }).lsmWhere(w), what);
      const key = (h: any) => `${h.host}\t${h.path}\t${h.line}`; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(got.sort((a, b) => key(a).localeCompare(key(b))), what).toEqual(want.sort((a: any, b: any) => key(a).localeCompare(key(b)))); // eslint-disable-line @typescript-eslint/no-explicit-any
    }
    await page.goto(BASE, { waitUntil: 'networkidle0' }); // the rows as the page has them from fleet.json now
    await page.waitForSelector('body[data-ready="1"]');
    const fleet = { hosts: await page.evaluate(() => (window as unknown as { lsmStatus(): unknown[] }).lsmStatus()) };
    const [st, ...logs] = await Promise.all([cli(['status']), cli(['log', '--host', 'web-1']), cli(['log', '--host', 'web-2'])]);
    const status = st.hosts.map((h: { drift: { added: unknown[]; removed: unknown[] } | null }) => ({ ...h, drift: h.drift && { added: h.drift.added.length, removed: h.drift.removed.length } }));
    expect(fleet.hosts).toEqual(status);
    for (const [i, h] of ['web-1', 'web-2'].entries()) {
      const page = JSON.parse(readFileSync(join(web, 'h', `${h}.json`), 'utf8'));
      expect(page.timeline).toEqual(logs[i].changes);
    }
  });

  it('a push rewrites only its host\'s files and the fleet\'s, each by rename', async () => {
    const ino = (p: string) => statSync(join(web, p)).ino;
    const before = { w1: ino('h/web-1.json'), w2: ino('h/web-2.json'), fleet: ino('fleet.json'), page: ino('index.html'), d: readdirSync(join(web, 'd')).length };
    const tip = JSON.parse(readFileSync(join(web, 'h', 'web-1.json'), 'utf8')).status.tip as string;
    const next = server.commit('web-1', [line('0.0.0.0:22', 'sshd', 'root', '/usr/sbin/sshd')], tip); // the 4444 listener gone
    const r = await server.push('web-1', next);
    expect(r.code).toBe(0);
    await server.drained(next);
    expect(ino('h/web-1.json')).not.toBe(before.w1);
    expect(ino('fleet.json')).not.toBe(before.fleet);
    expect(ino('h/web-2.json')).toBe(before.w2);
    expect(ino('index.html')).toBe(before.page); // the page itself is rewritten only when lsm brings a new one
    expect(readdirSync(join(web, 'd'))).toHaveLength(before.d + 1);
    expect(readdirSync(web).filter((n) => n.includes('.tmp'))).toEqual([]);
    const h1 = JSON.parse(readFileSync(join(web, 'h', 'web-1.json'), 'utf8'));
    expect(h1.timeline.map((e: { commit: string }) => e.commit).at(-1)).toBe(next);
  });
});
