// The fleet questions, answered from the index (brought up to the branches first): status, where,
// log, blame, diff. Each reads only the part of the index it needs (catalog.ts). Pure data out;
// the CLI prints.
import { lineMatcher } from '../store/blame.js';
import { arrival, currentLines, fleetRefs, lastSeen, readHostChanges, readHostHistory, readHostNow, updateHostIndex, type FleetChange, type HostHistory, type HostNow } from './catalog.js';

const byName = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Every host's current index, updated where its branch or baseline moved (a mirror clone indexes itself on first use). */
export function fleetNow(gitdir: string, only?: string): HostNow[] {
  const { tips, baselines } = fleetRefs(gitdir);
  const out: HostNow[] = [];
  for (const [host, tip] of byName(tips)) {
    if (only !== undefined && host !== only) continue;
    const baseline = baselines.get(host) ?? null;
    // taken only when built from this very tip and intact (its checksum); else that host is rebuilt
    const now = readHostNow(gitdir, host, tip);
    out.push(now && now.baseline === baseline ? now : updateHostIndex(gitdir, host, tip, null, baseline));
  }
  return out;
}

/** One of a host's other index files, proven as 'now' is; rebuilt (once) when it is not. */
function proven<T>(gitdir: string, n: HostNow, read: (gitdir: string, host: string, tip: string) => T | null): T {
  const got = read(gitdir, n.host, n.tip);
  if (got !== null) return got;
  updateHostIndex(gitdir, n.host, n.tip, null, n.baseline);
  const again = read(gitdir, n.host, n.tip);
  if (again === null) throw new Error(`the index of hosts/${n.host} cannot be rebuilt`);
  return again;
}

/** Every host's line history (blame, log --grep): the big part, read only by those. */
function fleetHistories(gitdir: string, only?: string): HostHistory[] {
  return fleetNow(gitdir, only).map((n) => proven(gitdir, n, readHostHistory));
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

/** `nows`: fleetNow's answer when the caller has it already (the web view reads it once). */
export function fleetStatus(gitdir: string, silentAfterMs: number, now = Date.now(), nows = fleetNow(gitdir)): HostStatus[] {
  return nows.map((idx) => {
    const sockets: Record<string, number> = {};
    for (const key of Object.keys(idx.lines)) {
      const path = key.slice(0, key.indexOf('\t'));
      const kind = path.slice(path.lastIndexOf('/') + 1);
      sockets[kind] = (sockets[kind] ?? 0) + 1;
    }
    const seen = lastSeen(gitdir, idx.host) ?? idx.received ?? idx.lastChange;
    return {
      host: idx.host, tip: idx.tip, lastSeen: iso(seen), lastPush: iso(idx.received), changes: idx.changes,
      lastChange: iso(idx.lastChange), lastChangeCommitted: iso(idx.lastChangeCommitted), clockOff: far(idx.lastChange, idx.lastChangeCommitted),
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

/** time: when the server received the change (the host's date when no push record says); committed: the host's own date */
export interface LogEntry { host: string; commit: string; time: string; received: boolean; committed: string; clockOff: boolean; summary: string; added: number; removed: number }

const logEntry = (host: string, c: FleetChange): LogEntry & { at: number } => {
  const at = arrival(c);
  return { host, commit: c.c, time: iso(at)!, received: c.rt !== null, committed: iso(c.t)!, clockOff: far(at, c.t), summary: c.s, added: c.a, removed: c.r, at };
};

/** One host's changes as `fleetLog({ host })` lists them, from the index the caller has read already (fleetNow's). */
export function hostLog(gitdir: string, idx: HostNow): LogEntry[] {
  return proven(gitdir, idx, readHostChanges).map((c) => logEntry(idx.host, c)).sort((a, b) => a.at - b.at).map(({ at: _at, ...e }) => e);
}

/** One timeline, by when the server received each change (the hosts' clocks are theirs to set). */
export function fleetLog(gitdir: string, o: { since?: number; host?: string; grep?: string }): LogEntry[] {
  const all: (LogEntry & { at: number })[] = [];
  const since = o.since;
  const add = (host: string, c: FleetChange) => {
    const e = logEntry(host, c);
    if (since === undefined || e.at >= since) all.push(e);
  };
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
      for (const c of idx.changes) if (commits.has(c.c)) add(idx.host, c);
    }
  } else {
    for (const idx of fleetNow(gitdir, o.host)) {
      // a host with no change since (by the latest arrival of any) is skipped unread
      if (since !== undefined && (idx.latestChange === null || idx.latestChange < since)) continue;
      for (const c of proven(gitdir, idx, readHostChanges)) add(idx.host, c);
    }
  }
  all.sort((a, b) => a.at - b.at || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return all.map(({ at: _at, ...e }) => e);
}

export interface BlameEntry { host: string; path: string; line: string; intervals: { from: string; fromCommit: string; to: string | null; toCommit: string | null }[] }

export function fleetBlame(gitdir: string, what: string): BlameEntry[] {
  const match = lineMatcher(what);
  const out: BlameEntry[] = [];
  for (const idx of fleetHistories(gitdir)) {
    let at: Map<string, number> | undefined; // the server's times, made for a host with a match
    for (const [key, spans] of Object.entries(idx.lines)) {
      if (!key.includes(match.needle)) continue;
      const { path, line } = split(key);
      if (!match(path, line)) continue;
      at ??= new Map(idx.changes.map((c) => [c.c, arrival(c)]));
      const when = (c: string | null, t: number | null) => (c === null ? null : iso(at!.get(c) ?? t));
      out.push({ host: idx.host, path, line, intervals: spans.map((s) => ({ from: when(s[0], s[1])!, fromCommit: s[0], to: when(s[2], s[3]), toCommit: s[2] })) });
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
