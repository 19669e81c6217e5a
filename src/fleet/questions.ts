// The fleet questions, answered from the index (brought up to the branches first): status, where,
// log, blame, diff. Each reads only the part of the index it needs (catalog.ts). Pure data out;
// the CLI prints.
import { lineMatcher } from '../store/blame.js';
import { currentLines, fleetRefs, lastSeen, readHostChanges, readHostHistory, readHostNow, updateHostIndex, type HostHistory, type HostNow } from './catalog.js';

const byName = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Every host's current index, updated where its branch or baseline moved (a mirror clone indexes itself on first use). */
export function fleetNow(gitdir: string, only?: string): HostNow[] {
  const { tips, baselines } = fleetRefs(gitdir);
  const out: HostNow[] = [];
  for (const [host, tip] of byName(tips)) {
    if (only !== undefined && host !== only) continue;
    const baseline = baselines.get(host) ?? null;
    const now = readHostNow(gitdir, host);
    out.push(now && now.tip === tip && now.baseline === baseline ? now : updateHostIndex(gitdir, host, tip, null, baseline));
  }
  return out;
}

/** Every host's line history (blame, log --grep): the big part, read only by those. */
function fleetHistories(gitdir: string, only?: string): HostHistory[] {
  return fleetNow(gitdir, only).map((n) => readHostHistory(gitdir, n.host)!).filter(Boolean);
}

export interface DriftLine { path: string; line: string }
export interface HostStatus {
  host: string; tip: string; lastSeen: string | null; lastPush: string | null; lastChange: string | null; changes: number;
  sockets: Record<string, number>; silent: boolean;
  /** null: the host pushed no baseline (or one the index cannot place) */
  drift: { baseline: string; added: DriftLine[]; removed: DriftLine[] } | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const split = (key: string): DriftLine => { const tab = key.indexOf('\t'); return { path: key.slice(0, tab), line: key.slice(tab + 1) }; };

export function fleetStatus(gitdir: string, silentAfterMs: number, now = Date.now()): HostStatus[] {
  return fleetNow(gitdir).map((idx) => {
    const sockets: Record<string, number> = {};
    for (const key of Object.keys(idx.lines)) {
      const path = key.slice(0, key.indexOf('\t'));
      const kind = path.slice(path.lastIndexOf('/') + 1);
      sockets[kind] = (sockets[kind] ?? 0) + 1;
    }
    const seen = lastSeen(gitdir, idx.host) ?? idx.received ?? idx.lastChange;
    return {
      host: idx.host, tip: idx.tip, lastSeen: iso(seen), lastPush: iso(idx.received), lastChange: iso(idx.lastChange), changes: idx.changes,
      sockets, silent: seen === null || now - seen > silentAfterMs,
      drift: idx.baseline && idx.drift ? { baseline: idx.baseline, added: idx.drift.added.map(split), removed: idx.drift.removed.map(split) } : null,
    };
  });
}

export interface WhereHit { host: string; path: string; line: string; since: string; commit: string }

export function fleetWhere(gitdir: string, what: string): WhereHit[] {
  const match = lineMatcher(what);
  const hits: WhereHit[] = [];
  for (const idx of fleetNow(gitdir)) {
    for (const [key, [commit, t]] of Object.entries(idx.lines)) {
      if (!key.includes(match.needle)) continue;
      const { path, line } = split(key);
      if (match(path, line)) hits.push({ host: idx.host, path, line, since: iso(t)!, commit });
    }
  }
  return hits;
}

export interface LogEntry { host: string; commit: string; time: string; summary: string; added: number; removed: number }

export function fleetLog(gitdir: string, o: { since?: number; host?: string; grep?: string }): LogEntry[] {
  const all: (LogEntry & { t: number })[] = [];
  const add = (host: string, c: { c: string; t: number; s: string; a: number; r: number }) => all.push({ host, commit: c.c, time: iso(c.t)!, summary: c.s, added: c.a, removed: c.r, t: c.t });
  const since = o.since;
  if (o.grep) {
    const match = lineMatcher(o.grep);
    for (const idx of fleetHistories(gitdir, o.host)) {
      const commits = new Set<string>();
      for (const [key, spans] of Object.entries(idx.lines)) {
        if (!key.includes(match.needle)) continue;
        const { path, line } = split(key);
        if (!match(path, line)) continue;
        for (const s of spans) { commits.add(s[0]); if (s[2]) commits.add(s[2]); }
      }
      for (const c of idx.changes) if ((since === undefined || c.t >= since) && commits.has(c.c)) add(idx.host, c);
    }
  } else {
    for (const idx of fleetNow(gitdir, o.host)) {
      // a host with no change since (by the latest time any of its commits carries) is skipped unread
      if (since !== undefined && (idx.latestChange === null || idx.latestChange < since)) continue;
      for (const c of readHostChanges(gitdir, idx.host)) if (since === undefined || c.t >= since) add(idx.host, c);
    }
  }
  all.sort((a, b) => a.t - b.t || (a.host < b.host ? -1 : 1));
  return all.map(({ t: _t, ...e }) => e);
}

export interface BlameEntry { host: string; path: string; line: string; intervals: { from: string; fromCommit: string; to: string | null; toCommit: string | null }[] }

export function fleetBlame(gitdir: string, what: string): BlameEntry[] {
  const match = lineMatcher(what);
  const out: BlameEntry[] = [];
  for (const idx of fleetHistories(gitdir)) {
    for (const [key, spans] of Object.entries(idx.lines)) {
      if (!key.includes(match.needle)) continue;
      const { path, line } = split(key);
      if (!match(path, line)) continue;
      out.push({ host: idx.host, path, line, intervals: spans.map((s) => ({ from: iso(s[1])!, fromCommit: s[0], to: iso(s[3]), toCommit: s[2] })) });
    }
  }
  return out;
}

export interface FleetDiff { a: string; b: string; files: { path: string; onlyA: string[]; onlyB: string[] }[] }

/** Two hosts' current snapshots: per file, the lines only one of them has. */
export function fleetDiff(gitdir: string, a: string, b: string): FleetDiff | null {
  const all = new Map(fleetNow(gitdir).map((i) => [i.host, i]));
  const ia = all.get(a), ib = all.get(b);
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
