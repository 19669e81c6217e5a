// The fleet questions, answered from the index (brought up to the branches first): status, where,
// log, blame, diff. The whole fleet's questions read its shards (shards.ts: each proven against the
// refs and its checksums), and a host whose branch moved since its shard was built from the host's
// own files (catalog.ts); one host's questions read that host's files. Pure data out; the CLI prints.
import { checkCentralLayout } from './central-layout.js';
import { lineMatcher } from '../store/blame.js';
import { arrival, currentLines, fleetRefs, hostNow, lastSeen, openShard, provenPart, pushedSince, readHostChanges, readHostHistory, rebuildShard, type FleetChange, type FleetRefs, type HostHistory, type HostNow } from './catalog.js';
import { OVERLAY_MAX, SHARDS, Shard, shardOf, summaryOf, type HostSummary, type Interval } from './shards.js';

const byName = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Hosts' current indexes, updated where a branch or baseline moved (a mirror clone indexes itself on first use): one host's, or every host's from its own files. */
export function fleetNow(gitdir: string, only?: string): HostNow[] {
  const { tips, baselines } = fleetRefs(gitdir);
  const out: HostNow[] = [];
  for (const [host, tip] of byName(tips)) {
    if (only !== undefined && host !== only) continue;
    // taken only when built from this very tip and intact (its checksum); else that host is rebuilt
    out.push(hostNow(gitdir, host, tip, baselines.get(host) ?? null));
  }
  return out;
}

/** Every host's line history (blame, log --grep of one host). */
function fleetHistories(gitdir: string, only?: string): HostHistory[] {
  return fleetNow(gitdir, only).map((n) => provenPart(gitdir, n, readHostHistory));
}

interface ShardPart { n: number; shard: Shard; fresh: Set<string> }
/** The fleet as a question sees it: each shard with the hosts it answers for, and the hosts that moved since (from their own files). */
interface View { gitdir: string; refs: FleetRefs; parts: ShardPart[]; moved: HostNow[] }

function fleetView(gitdir: string): View {
  const refs = fleetRefs(gitdir);
  const groups: string[][] = Array.from({ length: SHARDS }, () => []);
  for (const host of refs.tips.keys()) groups[shardOf(host)].push(host);
  const view: View = { gitdir, refs, parts: [], moved: [] };
  const at = (h: string): [string, string | null] => [refs.tips.get(h)!, refs.baselines.get(h) ?? null];
  const shards = groups.map((hosts, n) => (hosts.length ? openShard(gitdir, n) : null));
  // the hosts pushed since each shard was built (by the size of the push record it was built with): the record read once, from the oldest
  const from = Math.min(...shards.map((s) => s?.head.pushes ?? Infinity));
  const pushed = Number.isFinite(from) ? pushedSince(gitdir, from) : null;
  groups.forEach((hosts, n) => {
    if (!hosts.length) return;
    let shard = shards[n];
    // a host is answered from its shard only when the shard holds its tip, its baseline and every push recorded of it
    const after = shard && pushed!.hostsAfter(shard.head.pushes);
    let moved = shard && after ? hosts.filter((h) => !shard!.holds(h, ...at(h)) || after.has(h)) : hosts;
    if (!shard || !after || moved.length > OVERLAY_MAX) { shard = rebuildShard(gitdir, n, refs); moved = []; }
    view.parts.push({ n, shard, fresh: new Set(hosts.filter((h) => !moved.includes(h))) });
    for (const h of moved) view.moved.push(hostNow(gitdir, h, ...at(h)));
  });
  return view;
}

/** What each shard answers (`read` gives null when a part fails its checksum: that shard is rebuilt, then read again). */
function fromShards<T>(view: View, read: (s: Shard) => T | null): [ShardPart, T][] {
  return view.parts.map((p) => {
    let got = read(p.shard);
    if (got === null) {
      p.shard = rebuildShard(view.gitdir, p.n, view.refs); // its fresh hosts stay as they are: the rebuild holds them at the same tips
      got = read(p.shard);
      if (got === null) throw new Error(`shard ${p.n} of the fleet index cannot be rebuilt`);
    }
    return [p, got];
  });
}

/** A question over the whole fleet; the shard files it opened are closed after. */
function asked<T>(gitdir: string, answer: (view: View) => T): T {
  checkCentralLayout(gitdir); // a damaged lsm/ is said (65), never read through nor answered from
  try { return answer(fleetView(gitdir)); } finally { Shard.closeAll(); }
}

export interface DriftLine { path: string; line: string }
export interface HostStatus {
  host: string; tip: string; lastSeen: string | null; lastPush: string | null; changes: number;
  /** when the server received the last change; the host's own date on it beside, and whether they are far apart */
  lastChange: string | null; lastChangeCommitted: string | null; clockOff: boolean;
  sockets: Record<string, number>; silent: boolean;
  /** null: the host pushed no baseline (or one the index cannot place) */
  drift: { baseline: string; added: DriftLine[]; removed: DriftLine[] } | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
/** A host's clock this far from the server's arrival time is flagged. */
export const CLOCK_OFF_MS = 86_400_000;
const far = (a: number | null, b: number | null) => a !== null && b !== null && Math.abs(a - b) > CLOCK_OFF_MS;
const split = (key: string): DriftLine => { const tab = key.indexOf('\t'); return { path: key.slice(0, tab), line: key.slice(tab + 1) }; };

/** `nows`: fleetNow's answer when the caller has read it already (the web view reads it once). */
export function fleetStatus(gitdir: string, silentAfterMs: number, now = Date.now(), nows?: HostNow[]): HostStatus[] {
  const rows = nows ? nows.map(summaryOf) : asked(gitdir, (view) => {
    const all: HostSummary[] = view.moved.map(summaryOf);
    for (const [p, summaries] of fromShards(view, (s) => s.summaries())) for (const s of summaries) if (p.fresh.has(s.host)) all.push(s);
    return all.sort((a, b) => cmp(a.host, b.host));
  });
  return rows.map((idx) => {
    const seen = lastSeen(gitdir, idx.host) ?? idx.received ?? idx.lastChange;
    return {
      host: idx.host, tip: idx.tip, lastSeen: iso(seen), lastPush: iso(idx.received), changes: idx.changes,
      lastChange: iso(idx.lastChange), lastChangeCommitted: iso(idx.lastChangeCommitted), clockOff: far(idx.lastChange, idx.lastChangeCommitted),
      sockets: idx.sockets, silent: seen === null || now - seen > silentAfterMs,
      drift: idx.baseline && idx.drift ? { baseline: idx.baseline, added: idx.drift.added.map(split), removed: idx.drift.removed.map(split) } : null,
    };
  });
}

export interface WhereHit { host: string; path: string; line: string; since: string; commit: string }

/**
 * Every host's lines that match, in the hosts' order (a host's lines in the order they first
 * appeared), each as `hit` makes it from the line's intervals (with the server's times): from the
 * shards, and for the hosts that moved since, from their own histories.
 */
function matching<T>(view: View, what: string, hit: (host: string, path: string, line: string, spans: Interval[]) => T | null): T[] {
  const match = lineMatcher(what);
  const found: [string, number, T][] = [];
  const take = (host: string, place: number, key: string, spans: () => Interval[]) => {
    const { path, line } = split(key);
    if (!match(path, line)) return;
    const got = hit(host, path, line, spans());
    if (got !== null) found.push([host, place, got]);
  };
  for (const [p, keys] of fromShards(view, (s) => s.postings(match.needle))) {
    for (const [key, list] of keys) for (const [host, place, spans] of list) if (p.fresh.has(host)) take(host, place, key, () => spans);
  }
  for (const n of view.moved) {
    const h = provenPart(view.gitdir, n, readHostHistory);
    const at = new Map(h.changes.map((c) => [c.c, arrival(c)]));
    Object.entries(h.lines).forEach(([key, spans], place) => {
      if (key.includes(match.needle)) take(h.host, place, key, () => spans.map(([fc, ft, tc, tt]): Interval => [fc, at.get(fc) ?? ft, tc, tc === null ? null : at.get(tc) ?? tt]));
    });
  }
  found.sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]);
  return found.map((f) => f[2]);
}

export function fleetWhere(gitdir: string, what: string): WhereHit[] {
  return asked(gitdir, (view) => matching(view, what, (host, path, line, spans) => {
    const open = spans[spans.length - 1];
    return open[2] === null ? { host, path, line, since: iso(open[1])!, commit: open[0] } : null;
  }));
}

/** time: when the server received the change (the host's date when no push record says); committed: the host's own date */
export interface LogEntry { host: string; commit: string; time: string; received: boolean; committed: string; clockOff: boolean; summary: string; added: number; removed: number }

type Timed = LogEntry & { at: number; pos: number };
const logEntry = (host: string, c: FleetChange, pos: number): Timed => {
  const at = arrival(c);
  return { host, commit: c.c, time: iso(at)!, received: c.rt !== null, committed: iso(c.t)!, clockOff: far(at, c.t), summary: c.s, added: c.a, removed: c.r, at, pos };
};
const timeline = (all: Timed[]): LogEntry[] => all.sort((a, b) => a.at - b.at || cmp(a.host, b.host) || a.pos - b.pos).map(({ at: _at, pos: _pos, ...e }) => e);

/** One host's changes as `fleetLog({ host })` lists them, from the index the caller has read already (fleetNow's). */
export function hostLog(gitdir: string, idx: HostNow): LogEntry[] {
  return timeline(provenPart(gitdir, idx, readHostChanges).map((c, pos) => logEntry(idx.host, c, pos)));
}

/** One timeline, by when the server received each change (the hosts' clocks are theirs to set). */
export function fleetLog(gitdir: string, o: { since?: number; host?: string; grep?: string }): LogEntry[] {
  const all: Timed[] = [];
  const since = o.since;
  const add = (host: string, c: FleetChange, pos: number) => {
    const e = logEntry(host, c, pos);
    if (since === undefined || e.at >= since) all.push(e);
  };
  // the changes that added or removed a line: each interval's two ends
  const ends = (spans: [string, number, string | null, number | null][], into: Set<string>) => { for (const s of spans) { into.add(s[0]); if (s[2]) into.add(s[2]); } };
  const changesOf = (n: HostNow, only?: Set<string>) => provenPart(gitdir, n, readHostChanges).forEach((c, pos) => { if (!only || only.has(c.c)) add(n.host, c, pos); });
  // a host with no change since (by the latest arrival of any) is skipped unread
  const quiet = (n: HostNow) => since !== undefined && (n.latestChange === null || n.latestChange < since);
  if (o.host !== undefined && o.grep) {
    const match = lineMatcher(o.grep);
    for (const idx of fleetHistories(gitdir, o.host)) {
      const commits = new Set<string>();
      for (const [key, spans] of Object.entries(idx.lines)) {
        if (!key.includes(match.needle)) continue;
        const { path, line } = split(key);
        if (match(path, line)) ends(spans, commits);
      }
      idx.changes.forEach((c, pos) => { if (commits.has(c.c)) add(idx.host, c, pos); });
    }
  } else if (o.host !== undefined) {
    for (const n of fleetNow(gitdir, o.host)) if (!quiet(n)) changesOf(n);
  } else if (o.grep) {
    asked(gitdir, (view) => {
      const commits = new Map<string, Set<string>>();
      matching(view, o.grep!, (host, _path, _line, spans) => { if (!commits.has(host)) commits.set(host, new Set()); ends(spans, commits.get(host)!); return null; });
      for (const [host, set] of commits) changesOf(hostNow(gitdir, host, view.refs.tips.get(host)!, view.refs.baselines.get(host) ?? null), set);
    });
  } else {
    asked(gitdir, (view) => {
      for (const [p, rows] of fromShards(view, (s) => s.changes(since))) {
        for (const [, host, pos, c, t, s, a, r, rt] of rows) if (p.fresh.has(host)) add(host, { c, t, s, a, r, rt }, pos);
      }
      for (const n of view.moved) if (!quiet(n)) changesOf(n);
    });
  }
  return timeline(all);
}

export interface BlameEntry { host: string; path: string; line: string; intervals: { from: string; fromCommit: string; to: string | null; toCommit: string | null }[] }

export function fleetBlame(gitdir: string, what: string): BlameEntry[] {
  return asked(gitdir, (view) => matching(view, what, (host, path, line, spans) => ({
    host, path, line, intervals: spans.map(([fromCommit, from, toCommit, to]) => ({ from: iso(from)!, fromCommit, to: toCommit === null ? null : iso(to), toCommit })),
  })));
}

export interface FleetDiff { a: string; b: string; files: { path: string; onlyA: string[]; onlyB: string[] }[] }

/** Two hosts' current snapshots: per file, the lines only one of them has. */
export function fleetDiff(gitdir: string, a: string, b: string): FleetDiff | null {
  const [ia] = fleetNow(gitdir, a), [ib] = fleetNow(gitdir, b);
  if (!ia || !ib) return null;
  const la = currentLines(ia), lb = currentLines(ib);
  const files: FleetDiff['files'] = [];
  for (const path of [...new Set([...la.keys(), ...lb.keys()])].sort()) {
    const sa = new Set(la.get(path) ?? []), sb = new Set(lb.get(path) ?? []);
    const onlyA = [...sa].filter((l) => !sb.has(l)).sort(), onlyB = [...sb].filter((l) => !sa.has(l)).sort();
    if (onlyA.length || onlyB.length) files.push({ path, onlyA, onlyB });
  }
  return { a, b, files };
}
