// The one JSON shape every command prints (README, "JSON output"): an object with a schema version,
// times as RFC 3339 UTC with milliseconds, one change object, and each socket as an object with its
// fields beside the line text it stands for.
import { parseLine, type LineOwner } from '../snapshot/parse-line.js';
import type { Drift } from '../store/drift.js';
import type { FileChange } from '../types.js';

/** Bumped when a field changes meaning or goes away (a new field does not bump it). */
export const SCHEMA = 1;

/** '2026-11-25T19:00:00.000Z' */
export function jsonTime(ms: number): string;
export function jsonTime(ms: number | null): string | null;
export function jsonTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export interface SocketJson {
  path: string; // the snapshot file: 'host/tcp', 'netns/web/unix'
  namespace: string;
  kind: string;
  line: string; // the snapshot line, as in the file and the mail
  endpoint: string;
  address: string | null;
  port: number | null;
  protocol: string | null;
  type: string | null;
  owners: LineOwner[];
}

export function socketJson(path: string, line: string): SocketJson {
  const { namespace, kind, endpoint, address, port, protocol, type, owners } = parseLine(path, line);
  return { path, namespace, kind, line, endpoint, address, port, protocol, type, owners };
}

export interface ChangeJson {
  commit: string | null; // null: the sockets now (lsm diff with no revision)
  parent: string | null;
  time: string | null;
  summary: string;
  added: SocketJson[];
  removed: SocketJson[];
}

/** One change: added and removed as (path, line) pairs, or as a Change's files. */
export function changeJson(c: { commit: string | null; parent: string | null; time: number | null; summary: string; files?: FileChange[]; added?: [string, string][]; removed?: [string, string][] }): ChangeJson {
  const pairs = (which: 'added' | 'removed') => c[which] ?? (c.files ?? []).flatMap((f) => f[which].map((l) => [f.path, l] as [string, string]));
  return {
    commit: c.commit, parent: c.parent, time: jsonTime(c.time), summary: c.summary,
    added: pairs('added').map(([p, l]) => socketJson(p, l)), removed: pairs('removed').map(([p, l]) => socketJson(p, l)),
  };
}

/** What every --json output is: { schema, ...payload }, one line. */
export function json(payload: object): string {
  return JSON.stringify({ schema: SCHEMA, ...payload });
}

/** Drift from the baseline: each line a socket, with whether it was added or removed, since when and by which commit. */
export function driftJson(d: Drift): object {
  return {
    baseline: d.baseline, head: d.head,
    approved: d.approved && { who: d.approved.who, time: jsonTime(d.approved.time), message: d.approved.message, from: d.approved.from, to: d.approved.to },
    drift: d.lines.map((l) => ({ ...socketJson(l.path, l.line), change: l.kind, since: jsonTime(l.since), commit: l.commit })),
  };
}
