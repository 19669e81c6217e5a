// The fleet's web view: static files the central drain writes into lsm/web/ of the central
// repository after it has indexed what arrived; lighttpd serves them under /fleet/ behind the git
// endpoint's own basic auth (server.ts prints it). Nothing of lsm runs in the web server: the
// browser reads JSON and renders it as text (assets/app.js). The answers are the fleet questions'
// own (questions.ts), so the page says what `lsm fleet status / where / log` say.
//
//   index.html app.js app.css   the page (copied from assets/ when they differ)
//   fleet.json                  every host's status row (fleetStatus)
//   where.json                  every line present now -> hosts and since when (fleetWhere's data)
//   h/<host>.json               a host: status, sockets now, drift lines, timeline (fleetLog)
//   d/<commit>.txt              one change as `lsm show` prints it (written once: commits do not change)
//
// Incremental: a drain rewrites the files of the hosts it indexed (and of hosts that have none
// yet) and the fleet-level ones. Every file is written to a temporary name and renamed over the
// old: a reader sees the old file or the new one, never a part.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../store/atomic-fs.js';
import { unifiedDiff } from '../../store/history.js';
import { pushedChange } from '../commit-read.js';
import { hostIdProblem } from '../names.js';
import { fleetNow, fleetStatus, hostLog, type HostStatus } from '../questions.js';

export const WEB_DIR = join('lsm', 'web');
export const ASSETS = ['index.html', 'app.js', 'app.css', 'favicon.svg'];
const ASSET_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));
/** Diffs written by one run at most; the rest by the next (a host's first push may bring years). */
const DIFFS_PER_RUN = 200;
const COMMIT = /^[0-9a-f]{40}$/;

export interface WebOptions { silentAfterMs: number; now?: number }
export interface WebReport { hosts: number; diffs: number; problems: string[] }

/** The fleet's rows as fleet.json holds them: `lsm fleet status --json`'s, drift as counts. */
export type FleetRow = Omit<HostStatus, 'drift'> & { drift: { added: number; removed: number } | null };

const write = (dir: string, name: string, text: string) => writeFileAtomic(join(dir, name), text, dir, 0o644, 'none');

/**
 * Write the web view of `gitdir` into lsm/web/: the fleet-level files, the files of `changed`
 * hosts and of any host that has none yet. Problems are returned, never thrown: the drain's other
 * work goes on, and `lsm fleet status` shows them.
 */
export async function writeFleetWeb(gitdir: string, changed: Iterable<string>, o: WebOptions): Promise<WebReport> {
  const report: WebReport = { hosts: 0, diffs: 0, problems: [] };
  const web = join(gitdir, WEB_DIR);
  if (!ownWeb(gitdir)) return report; // root in another user's repository: that user's drain writes it
  try {
    for (const d of [web, join(web, 'h'), join(web, 'd')]) mkdirSync(d, { recursive: true });
    await copyAssets(web);
    const now = o.now ?? Date.now();
    const nows = fleetNow(gitdir);
    const rows = fleetStatus(gitdir, o.silentAfterMs, now, nows);
    const byHost = new Map(rows.map((r) => [r.host, r]));
    const nowOf = new Map(nows.map((n) => [n.host, n]));
    await write(web, 'fleet.json', JSON.stringify({ v: 1, generated: new Date(now).toISOString(), silentAfterMs: o.silentAfterMs, days: perDay(gitdir, nows, now), hosts: rows.map(fleetRow) }));
    await write(web, 'where.json', JSON.stringify(whereIndex(nows)));
    const have = new Set(readdirSync(join(web, 'h')).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    // the hosts just pushed first (their newest diffs before anything else), then those without a file
    const todo = new Set([...changed].filter((h) => byHost.has(h)).sort());
    for (const r of rows) if (!have.has(r.host)) todo.add(r.host);
    let budget = DIFFS_PER_RUN;
    for (const host of todo) {
      if (hostIdProblem(host)) continue; // never a file name from anything but a valid host id
      const n = nowOf.get(host)!;
      const timeline = hostLog(gitdir, n);
      const sockets = Object.entries(n.lines).map(([key, [commit, t]]) => {
        const tab = key.indexOf('\t');
        return [key.slice(0, tab), key.slice(tab + 1), new Date(t).toISOString(), commit];
      });
      await write(join(web, 'h'), `${host}.json`, JSON.stringify({ v: 1, status: byHost.get(host), sockets, timeline }));
      report.hosts++;
      for (const e of [...timeline].reverse()) {
        if (budget <= 0 || !COMMIT.test(e.commit) || existsSync(join(web, 'd', `${e.commit}.txt`))) continue;
        await write(join(web, 'd'), `${e.commit}.txt`, showText(gitdir, e.commit));
        budget--;
        report.diffs++;
      }
    }
  } catch (err) {
    report.problems.push(`fleet web view (${web}) not brought up to date: ${(err as Error).message}`);
  }
  return report;
}

/** The whole fleet's changes a day over the last 30 days (by the server's arrival time, as `lsm fleet log --since` counts them). */
function perDay(gitdir: string, nows: ReturnType<typeof fleetNow>, now: number): { day: string; n: number }[] {
  const days: { day: string; n: number }[] = [];
  for (let i = 29; i >= 0; i--) days.push({ day: new Date(now - i * 86_400_000).toISOString().slice(0, 10), n: 0 });
  const at = new Map(days.map((d, i) => [d.day, i]));
  const since = Date.parse(days[0].day);
  for (const n of nows) {
    if (n.latestChange === null || n.latestChange < since) continue; // as fleetLog --since skips it, unread
    for (const e of hostLog(gitdir, n)) {
      const i = at.get(e.time.slice(0, 10));
      if (i !== undefined) days[i].n++;
    }
  }
  return days;
}

/**
 * Whether this run may write lsm/web: any user but root may (the kernel refuses what it must not);
 * root only where root owns the repository and every directory down to lsm/web/h and d, none a
 * symbolic link (as catalog.ts's index: the web server's user could plant a link where root writes).
 */
function ownWeb(gitdir: string): boolean {
  if ((process.geteuid?.() ?? 0) !== 0) return true;
  return [gitdir, join(gitdir, 'lsm'), join(gitdir, WEB_DIR), join(gitdir, WEB_DIR, 'h'), join(gitdir, WEB_DIR, 'd')].every((p) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    return !st || (st.uid === 0 && st.isDirectory());
  });
}

function fleetRow(r: HostStatus): FleetRow {
  return { ...r, drift: r.drift ? { added: r.drift.added.length, removed: r.drift.removed.length } : null };
}

/**
 * Every line present now on some host: [path, line, hosts...], where a host is its number in
 * `hosts` when the line is there since the host's usual time (`since`, its most frequent), else
 * -(number + 1) followed by its own time; times in ms. At 10,000 hosts most lines of a host share
 * one 'since' (its first push), so this is a fraction of a (host, line, time) list.
 */
export function whereIndex(nows: ReturnType<typeof fleetNow>): { v: 1; hosts: string[]; since: (number | null)[]; lines: [string, string, ...number[]][] } {
  const hosts = nows.map((n) => n.host);
  const since = nows.map((n) => {
    const count = new Map<number, number>();
    for (const [, t] of Object.values(n.lines)) count.set(t, (count.get(t) ?? 0) + 1);
    let best: number | null = null;
    for (const [t, c] of count) if (best === null || c > count.get(best)!) best = t;
    return best;
  });
  const byKey = new Map<string, number[]>();
  nows.forEach((n, i) => {
    for (const [key, [, t]] of Object.entries(n.lines)) {
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      if (t === since[i]) list.push(i); else list.push(-(i + 1), t);
    }
  });
  const lines = [...byKey.keys()].sort().map((key): [string, string, ...number[]] => {
    const tab = key.indexOf('\t');
    return [key.slice(0, tab), key.slice(tab + 1), ...byKey.get(key)!];
  });
  return { v: 1, hosts, since, lines };
}

/** One change as `lsm show` prints it (without colour): the header, then its patch. */
function showText(gitdir: string, oid: string): string {
  const { change, before, after } = pushedChange(gitdir, oid);
  return `commit ${oid}\nDate:   ${new Date(change.time).toISOString().replace(/\.\d{3}Z$/, 'Z')}\n\n    ${change.summary}\n\n${unifiedDiff(before, after)}`;
}

/** The page itself, copied when missing or different (an upgrade of lsm brings new ones). */
async function copyAssets(web: string): Promise<void> {
  for (const name of ASSETS) {
    const text = readFileSync(join(ASSET_DIR, name), 'utf8');
    let old: string | null = null;
    try { old = readFileSync(join(web, name), 'utf8'); } catch { /* not there yet */ }
    if (old !== text) await write(web, name, text);
  }
}
