// The fleet's web view: static files the central drain writes into lsm/web/ of the central
// repository after it has indexed what arrived; lighttpd serves them under /fleet/ behind the git
// endpoint's own basic auth (server.ts prints it). Nothing of lsm runs in the web server: the
// browser reads JSON and renders it as text (web/app.js). The answers are the fleet questions'
// own (questions.ts), so the page says what `lsm fleet status / where / log` say.
//
//   index.html app.js app.css   the page (copied from web/ when they differ)
//   fleet.json                  every host's status row (fleetStatus, from the index's shards)
//   w/hosts.json                the where data's hosts (by number) and each one's usual 'since'
//   w/<n>.json                  bucket n of the lines present now -> hosts and since when (where.ts)
//   w/state.json                the branch tip and baseline each host's where lines and file are of, the changes a day
//   h/<host>.json               a host: status, sockets now, drift lines, timeline (fleetLog)
//   d/<commit>.txt              one change as `lsm show` prints it (written once: commits do not change)
//
// Incremental: a drain rewrites fleet.json (from the shards: no host's own files), and for each
// host whose tip or baseline moved since w/state.json, its h/<host>.json and only the where
// buckets whose lines it changed. Every file is written to a temporary name and renamed over the
// old: a reader sees the old file or the new one, never a part.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../../store/atomic-fs.js';
import { unifiedDiff } from '../../store/history.js';
import { fleetRefs, hostNow, openShard, pushedSince, type HostNow } from '../catalog.js';
import { pushedChange } from '../commit-read.js';
import { baselineOfRef, baselineRef, hostIdProblem } from '../names.js';
import { gitOut } from '../git-run.js';
import { fleetLog, fleetStatus, hostLog, type HostStatus, type LogEntry } from '../questions.js';
import { Shard, shardOf } from '../shards.js';
import { addHost, bucketOfKey, buildWhere, patchHost, type Lines, type WhereBucket, type WhereHosts, WHERE_BUCKETS } from './where.js';

export const WEB_DIR = join('lsm', 'web');
export const ASSETS = ['index.html', 'app.js', 'app.css', 'favicon.svg'];
const ASSET_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));
/** Diffs written by one run at most; the rest by the next (a host's first push may bring years). */
const DIFFS_PER_RUN = 200;
/** More hosts moved than this since the last run (or the where data is missing): every host's lines are read again. */
const PATCH_MAX = 256;
const COMMIT = /^[0-9a-f]{40}$/;

export interface WebOptions { silentAfterMs: number; now?: number }
export interface WebReport { hosts: number; diffs: number; problems: string[]; /** where buckets rewritten */ buckets?: number; full?: boolean }

interface HostFile { v: 1; status: HostStatus; sockets: [string, string, string, string][]; timeline: LogEntry[] }
interface State { v: 2; gen: string; hosts: Record<string, string>; days: Day[] }
type Day = { day: string; n: number };

const write = (dir: string, name: string, text: string) => writeFileAtomic(join(dir, name), text, dir, 0o644, 'none');
function readJson<T>(path: string): T | null {
  try { return JSON.parse(readFileSync(path, 'utf8')) as T; } catch { return null; }
}

/**
 * Write the web view of `gitdir` into lsm/web/: fleet.json, and what the hosts that moved since
 * the last run (and `changed`, which the drain indexed) changed; files of any host that has none
 * yet. Problems are returned, never thrown: the drain's other work goes on, and `lsm fleet status`
 * shows them.
 */
export async function writeFleetWeb(gitdir: string, changed: Iterable<string>, o: WebOptions): Promise<WebReport> {
  const report: WebReport = { hosts: 0, diffs: 0, problems: [], buckets: 0, full: false };
  const web = join(gitdir, WEB_DIR);
  if (!ownWeb(gitdir)) return report; // root in another user's repository: that user's drain writes it
  try {
    for (const d of [web, join(web, 'h'), join(web, 'd'), join(web, 'w')]) mkdirSync(d, { recursive: true });
    await copyAssets(web);
    const now = o.now ?? Date.now();
    const rows = fleetStatus(gitdir, o.silentAfterMs, now); // from the shards: no host's own files
    // what a host's where lines and file are of: its tip and baseline as its row says (the refs are read only when a host moved)
    const version = (r: HostStatus) => `${r.tip} ${r.drift?.baseline ?? '-'}`;
    // looked up in batches, each host once: a host not in the first batch (a full rebuild reads every host) is looked up, never taken as having none
    const baselines = new Map<string, string | null>();
    const lookUp = (hosts: Iterable<string>) => {
      const miss = [...hosts].filter((h) => !baselines.has(h));
      if (!miss.length) return;
      const got = baselinesOf(gitdir, miss);
      for (const h of miss) baselines.set(h, got.get(h) ?? null);
    };
    let primed = false; // the hosts whose files are written, in one batch
    const baselineOf = (host: string) => {
      if (!primed) { primed = true; lookUp([...moved, ...rows.map((r) => r.host).filter((h) => !hasFile(h))]); }
      lookUp([host]);
      return baselines.get(host) ?? null;
    };
    const byHost = new Map(rows.map((r) => [r.host, r]));
    const state = readJson<State>(join(web, 'w', 'state.json'));
    const whereHosts = readJson<WhereHosts>(join(web, 'w', 'hosts.json'));
    const known = state?.v === 2 && typeof state.hosts === 'object' && whereHosts?.v === 2 && whereHosts.gen === state.gen && whereHosts.buckets === WHERE_BUCKETS ? state : null;
    const have = new Set(readdirSync(join(web, 'h')).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    const hasFile = (host: string) => have.has(host);
    const moved = new Set([...changed].filter((h) => byHost.has(h)));
    for (const r of rows) if (known?.hosts[r.host] !== version(r)) moved.add(r.host);
    const gone = known ? Object.keys(known.hosts).filter((h) => !byHost.has(h)) : [];
    const full = !known || gone.length > 0 || moved.size > PATCH_MAX;
    report.full = full;
    const whereGen = full ? randomBytes(8).toString('hex') : known.gen;

    const nows = new Map<string, HostNow>();
    const nowOf = (host: string) => {
      let n = nows.get(host);
      if (!n) nows.set(host, (n = hostNow(gitdir, host, byHost.get(host)!.tip, baselineOf(host))));
      return n;
    };
    // a host's lines now as `lsm fleet where` answers them: from its shard when that holds the host at this tip and baseline
    const linesNow = new Map<string, Lines>();
    const readLines = (hosts: Iterable<string>) => {
      const byShard = new Map<number, string[]>();
      lookUp(hosts);
      for (const h of hosts) {
        if (linesNow.has(h)) continue;
        const list = byShard.get(shardOf(h));
        if (list) list.push(h); else byShard.set(shardOf(h), [h]);
      }
      for (const [n, list] of byShard) {
        const shard = openShard(gitdir, n);
        // (and no push of the host recorded since the shard was built: its arrival changes the lines' since)
        const after = shard && pushedSince(gitdir, shard.head.pushes).hostsAfter(shard.head.pushes);
        const held = new Set(list.filter((h) => after && !after.has(h) && shard.holds(h, byHost.get(h)!.tip, baselineOf(h))));
        const postings = held.size ? shard!.postings('') : null;
        if (postings) {
          const placed = new Map<string, [number, string, [string, number]][]>();
          for (const [key, list2] of postings) {
            for (const [h, place, spans] of list2) {
              const open = spans[spans.length - 1];
              if (!held.has(h) || open[2] !== null) continue;
              const mine = placed.get(h);
              if (mine) mine.push([place, key, [open[0], open[1]]]); else placed.set(h, [[place, key, [open[0], open[1]]]]);
            }
          }
          for (const h of held) linesNow.set(h, Object.fromEntries((placed.get(h) ?? []).sort((a, b) => a[0] - b[0]).map(([, k, v]) => [k, v])));
        }
        for (const h of list) if (!linesNow.has(h)) linesNow.set(h, nowOf(h).lines);
        Shard.closeAll();
      }
    };
    const linesOf = (host: string) => { readLines([host]); return linesNow.get(host)!; };
    const oldFiles = new Map<string, HostFile | null>();
    for (const host of moved) {
      const old = hostIdProblem(host) ? null : readJson<HostFile>(join(web, 'h', `${host}.json`));
      // taken as what the where data holds of the host only when written at the tip state.json records
      oldFiles.set(host, old && known?.hosts[host]?.startsWith(`${old.status?.tip} `) ? old : null);
    }

    // the where data: every bucket from every host's lines, or the moved hosts' changes patched in
    let days: Day[] | null = null;
    if (full) {
      readLines(rows.map((r) => r.host));
      const built = buildWhere(rows.map((r) => ({ host: r.host, lines: linesOf(r.host) })), whereGen);
      await write(join(web, 'w'), 'hosts.json', JSON.stringify(built.hosts));
      for (const [n, b] of built.buckets.entries()) await write(join(web, 'w'), `${n}.json`, JSON.stringify(b));
      report.buckets = built.buckets.length;
      rmSync(join(web, 'where.json'), { force: true }); // the single file of before
    } else {
      const hostsDoc = whereHosts!;
      const touched = new Map<number, WhereBucket>();
      const bucket = (n: number) => {
        let b = touched.get(n);
        if (!b) {
          const got = readJson<WhereBucket>(join(web, 'w', `${n}.json`));
          if (!got || got.gen !== hostsDoc.gen) throw new Error(`w/${n}.json does not belong to w/hosts.json`);
          touched.set(n, (b = got));
        }
        return b;
      };
      let grown = false;
      readLines(moved); // a shard read once for all its moved hosts
      for (const host of moved) {
        const lines = linesOf(host);
        let i = hostsDoc.hosts.indexOf(host);
        // the keys whose answer for this host changed; every key when what was written is unknown
        let keys: Set<string> | null = null;
        const old = oldFiles.get(host);
        if (i < 0) { i = addHost(hostsDoc, host, lines); grown = true; keys = new Set(Object.keys(lines)); } // nothing of it written yet
        else if (old) {
          const before = new Map(old.sockets.map(([path, line, since]) => [`${path}\t${line}`, Date.parse(since)]));
          keys = new Set([...before.keys()].filter((k) => lines[k]?.[1] !== before.get(k)));
          for (const [k, [, t]] of Object.entries(lines)) if (before.get(k) !== t) keys.add(k);
        }
        const buckets = keys ? new Set([...keys].map(bucketOfKey)) : new Set(Array.from({ length: WHERE_BUCKETS }, (_, n) => n));
        for (const n of buckets) patchHost(bucket(n), i, keys, hostsDoc.since[i], lines);
      }
      if (grown) await write(join(web, 'w'), 'hosts.json', JSON.stringify(hostsDoc)); // before the buckets that name the new hosts
      for (const [n, b] of touched) await write(join(web, 'w'), `${n}.json`, JSON.stringify(b));
      report.buckets = touched.size;
      days = shiftDays(known.days, now);
    }

    // the host files: the moved hosts first (their newest diffs before anything else), then those without one
    const todo = new Set([...moved].sort());
    for (const r of rows) if (!have.has(r.host)) todo.add(r.host);
    let budget = DIFFS_PER_RUN;
    for (const host of todo) {
      if (hostIdProblem(host)) continue; // never a file name from anything but a valid host id
      const n = nowOf(host);
      const timeline = hostLog(gitdir, n);
      const sockets = Object.entries(linesOf(host)).map(([key, [commit, t]]): HostFile['sockets'][number] => {
        const tab = key.indexOf('\t');
        return [key.slice(0, tab), key.slice(tab + 1), new Date(t).toISOString(), commit];
      });
      if (days && moved.has(host)) {
        const old = oldFiles.get(host);
        if (old) countDays(days, timeline.filter((e) => !old.timeline.some((p) => p.commit === e.commit)));
        else days = null; // what was counted of this host is unknown: count the fleet again
      }
      await write(join(web, 'h'), `${host}.json`, JSON.stringify({ v: 1, status: byHost.get(host)!, sockets, timeline } satisfies HostFile));
      report.hosts++;
      for (const e of [...timeline].reverse()) {
        if (budget <= 0 || !COMMIT.test(e.commit) || existsSync(join(web, 'd', `${e.commit}.txt`))) continue;
        await write(join(web, 'd'), `${e.commit}.txt`, showText(gitdir, e.commit));
        budget--;
        report.diffs++;
      }
    }
    days ??= perDay(gitdir, now);
    await write(web, 'fleet.json', JSON.stringify({ v: 2, generated: new Date(now).toISOString(), silentAfterMs: o.silentAfterMs, days, hosts: fleetColumns(rows) }));
    // last: what it records is written; a run cut before this one does the moved hosts again
    const hosts: Record<string, string> = {};
    for (const r of rows) hosts[r.host] = version(r); // the moved ones' just written, the others' unchanged
    await write(join(web, 'w'), 'state.json', JSON.stringify({ v: 2, gen: whereGen, hosts, days } satisfies State));
  } catch (err) {
    report.problems.push(`fleet web view (${web}) not brought up to date: ${(err as Error).message}`);
  }
  return report;
}

/**
 * The pushed baselines of these hosts (the ones a run reads the files of): one git for-each-ref
 * naming their refs, or every ref read (fleetRefs) when they are many. At 10,000 hosts with loose
 * refs, reading every ref was the larger part of a drain after one push.
 */
function baselinesOf(gitdir: string, hosts: string[]): Map<string, string> {
  const wanted = new Set(hosts);
  if (wanted.size > 100 || hosts.some((h) => hostIdProblem(h))) return fleetRefs(gitdir).baselines;
  const out = new Map<string, string>();
  if (!wanted.size) return out;
  for (const l of gitOut(gitdir, ['for-each-ref', '--format=%(objectname) %(refname)', ...[...wanted].map(baselineRef)]).toString('utf8').split('\n')) {
    const [oid, ref] = l.split(' ');
    const host = ref ? baselineOfRef(ref) : null;
    if (host !== null && wanted.has(host)) out.set(host, oid);
  }
  return out;
}

const dayList = (now: number): Day[] => Array.from({ length: 30 }, (_, i) => ({ day: new Date(now - (29 - i) * 86_400_000).toISOString().slice(0, 10), n: 0 }));
function countDays(days: Day[], entries: LogEntry[]): void {
  const at = new Map(days.map((d, i) => [d.day, i]));
  for (const e of entries) { const i = at.get(e.time.slice(0, 10)); if (i !== undefined) days[i].n++; }
}
/** The last run's counts moved to today's 30 days (a change arrives when the server receives it: never in the past); null without them. */
function shiftDays(old: Day[] | undefined, now: number): Day[] | null {
  if (!Array.isArray(old) || old.length !== 30) return null;
  const days = dayList(now);
  const was = new Map(old.map((d) => [d.day, d.n]));
  for (const d of days) d.n = was.get(d.day) ?? 0;
  return days;
}
/** The whole fleet's changes a day over the last 30 days (by the server's arrival time, as `lsm fleet log --since` counts them), from the shards. */
function perDay(gitdir: string, now: number): Day[] {
  const days = dayList(now);
  countDays(days, fleetLog(gitdir, { since: Date.parse(days[0].day) }));
  return days;
}

/**
 * Whether this run may write lsm/web: any user but root may (the kernel refuses what it must not);
 * root only where root owns the repository and every directory down to lsm/web/h, d and w, none a
 * symbolic link (as catalog.ts's index: the web server's user could plant a link where root writes).
 */
function ownWeb(gitdir: string): boolean {
  if ((process.geteuid?.() ?? 0) !== 0) return true;
  return [gitdir, join(gitdir, 'lsm'), join(gitdir, WEB_DIR), ...['h', 'd', 'w'].map((d) => join(gitdir, WEB_DIR, d))].every((p) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    return !st || (st.uid === 0 && st.isDirectory());
  });
}

/**
 * The fleet's rows as fleet.json holds them: `lsm fleet status --json`'s (drift as counts), a column
 * each (a third of the rows' size, parsed that much faster: at 10,000 hosts the page waits on it).
 * Times in ms, flags 0/1, sockets as counts per `kinds`; web/app.js makes the rows again (its fleetRows).
 */
export function fleetColumns(rows: HostStatus[]) {
  const ms = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  const kinds = [...new Set(rows.flatMap((r) => Object.keys(r.sockets)))].sort();
  return {
    kinds,
    host: rows.map((r) => r.host), tip: rows.map((r) => r.tip), changes: rows.map((r) => r.changes),
    lastSeen: rows.map((r) => ms(r.lastSeen)), lastPush: rows.map((r) => ms(r.lastPush)),
    lastChange: rows.map((r) => ms(r.lastChange)), lastChangeCommitted: rows.map((r) => ms(r.lastChangeCommitted)),
    clockOff: rows.map((r) => +r.clockOff), silent: rows.map((r) => +r.silent),
    sockets: rows.map((r) => kinds.map((k) => r.sockets[k] ?? 0)),
    drift: rows.map((r) => (r.drift ? [r.drift.added.length, r.drift.removed.length] : null)),
  };
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
