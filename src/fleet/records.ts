// The fleet index's records, per host (catalog.ts reads and writes them; shards.ts builds from
// them): their own module so that the two do not import each other.

export interface FleetChange { c: string; t: number; s: string; a: number; r: number; rt: number | null } // commit, host's time (ms), summary, +lines, -lines, server's arrival (ms)
/** When the server received a change; the host's date when no push record says. */
export const arrival = (c: FleetChange): number => c.rt ?? c.t;
/** [from commit, from time, to commit | null, to time | null] */
export type Span = [string, number, string | null, number | null];

export interface HostHistory {
  v: 3;
  host: string;
  tip: string;
  changes: FleetChange[];
  lines: Record<string, Span[]>; // 'path\tline' -> its intervals, oldest first
}

export interface HostNow {
  v: 3;
  host: string;
  tip: string;
  received: number | null; // unix ms of the last push the server recorded (lsm/pushes.jsonl)
  changes: number;
  lastChange: number | null; // when the last change arrived
  lastChangeCommitted: number | null; // the host's own date on it
  latestChange: number | null; // the latest arrival of any change
  lines: Record<string, [string, number]>; // 'path\tline' present now -> [commit, arrival] since when
  baseline: string | null; // the host's pushed baseline (refs/heads/baselines/<host>)
  drift: { added: string[]; removed: string[] } | null; // keys now and not in the baseline, and the other way; null: no baseline (or not in the history)
}
