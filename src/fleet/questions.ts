// The fleet questions, answered from the index (brought up to the branches first): status, where,
// log, blame, diff. Pure data out; the CLI prints.
import { lineMatcher } from '../store/blame.js';
import { currentLines, hostTips, lastSeen, readAllIndexes, updateHostIndex, type HostIndex } from './catalog.js';

/** Every host's index, updated where its branch moved (a mirror clone indexes itself on first use). */
export function fleetIndexes(gitdir: string): HostIndex[] {
  const tips = hostTips(gitdir);
  const have = new Map(readAllIndexes(gitdir).map((i) => [i.host, i]));
  const out: HostIndex[] = [];
  for (const [host, tip] of [...tips].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const idx = have.get(host);
    out.push(idx && idx.tip === tip ? idx : updateHostIndex(gitdir, host, tip, null));
  }
  return out;
}

export interface HostStatus {
  host: string; tip: string; lastSeen: string | null; lastPush: string | null; lastChange: string | null; changes: number;
  sockets: Record<string, number>; silent: boolean;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function fleetStatus(gitdir: string, silentAfterMs: number, now = Date.now()): HostStatus[] {
  return fleetIndexes(gitdir).map((idx) => {
    const sockets: Record<string, number> = {};
    for (const [path, lines] of currentLines(idx)) {
      const kind = path.slice(path.lastIndexOf('/') + 1);
      sockets[kind] = (sockets[kind] ?? 0) + lines.length;
    }
    const last = idx.changes[idx.changes.length - 1];
    const seen = lastSeen(gitdir, idx.host) ?? idx.received ?? last?.t ?? null;
    return {
      host: idx.host, tip: idx.tip, lastSeen: iso(seen), lastPush: iso(idx.received), lastChange: iso(last?.t ?? null), changes: idx.changes.length,
      sockets, silent: seen === null || now - seen > silentAfterMs,
    };
  });
}

export interface WhereHit { host: string; path: string; line: string; since: string; commit: string }

export function fleetWhere(gitdir: string, what: string): WhereHit[] {
  const match = lineMatcher(what);
  const hits: WhereHit[] = [];
  for (const idx of fleetIndexes(gitdir)) {
    for (const [key, spans] of Object.entries(idx.lines)) {
      const open = spans[spans.length - 1];
      if (open[2] !== null || !key.includes(match.needle)) continue;
      const tab = key.indexOf('\t');
      if (match(key.slice(0, tab), key.slice(tab + 1))) hits.push({ host: idx.host, path: key.slice(0, tab), line: key.slice(tab + 1), since: iso(open[1])!, commit: open[0] });
    }
  }
  return hits;
}

export interface LogEntry { host: string; commit: string; time: string; summary: string; added: number; removed: number }

export function fleetLog(gitdir: string, o: { since?: number; host?: string; grep?: string }): LogEntry[] {
  const all: (LogEntry & { t: number })[] = [];
  for (const idx of fleetIndexes(gitdir).filter((i) => !o.host || i.host === o.host)) {
    let commits: Set<string> | null = null;
    if (o.grep) {
      const match = lineMatcher(o.grep);
      commits = new Set();
      for (const [key, spans] of Object.entries(idx.lines)) {
        if (!key.includes(match.needle)) continue;
        const tab = key.indexOf('\t');
        if (!match(key.slice(0, tab), key.slice(tab + 1))) continue;
        for (const s of spans) { commits.add(s[0]); if (s[2]) commits.add(s[2]); }
      }
    }
    for (const c of idx.changes) {
      if (o.since !== undefined && c.t < o.since) continue;
      if (commits && !commits.has(c.c)) continue;
      all.push({ host: idx.host, commit: c.c, time: iso(c.t)!, summary: c.s, added: c.a, removed: c.r, t: c.t });
    }
  }
  all.sort((a, b) => a.t - b.t || (a.host < b.host ? -1 : 1));
  return all.map(({ t: _t, ...e }) => e);
}

export interface BlameEntry { host: string; path: string; line: string; intervals: { from: string; fromCommit: string; to: string | null; toCommit: string | null }[] }

export function fleetBlame(gitdir: string, what: string): BlameEntry[] {
  const match = lineMatcher(what);
  const out: BlameEntry[] = [];
  for (const idx of fleetIndexes(gitdir)) {
    for (const [key, spans] of Object.entries(idx.lines)) {
      if (!key.includes(match.needle)) continue;
      const tab = key.indexOf('\t');
      if (!match(key.slice(0, tab), key.slice(tab + 1))) continue;
      out.push({ host: idx.host, path: key.slice(0, tab), line: key.slice(tab + 1), intervals: spans.map((s) => ({ from: iso(s[1])!, fromCommit: s[0], to: iso(s[3]), toCommit: s[2] })) });
    }
  }
  return out;
}

export interface FleetDiff { a: string; b: string; files: { path: string; onlyA: string[]; onlyB: string[] }[] }

/** Two hosts' current snapshots: per file, the lines only one of them has. */
export function fleetDiff(gitdir: string, a: string, b: string): FleetDiff | null {
  const all = new Map(fleetIndexes(gitdir).map((i) => [i.host, i]));
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
