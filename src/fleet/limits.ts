// Per-host limits of the central repository, checked by the guard inside each push: how many bytes
// a push may bring (measured in git's quarantine, before anything is kept), how big a snapshot file
// may be and how many lines it may hold, and how many pushes a host may make a minute. A host with
// valid credentials must not be able to fill the server's disk, its index or its mail. Defaults fit
// a busy host (100k sockets: a 10 MB host/tcp of 100k lines, ~2 MB compressed) with room to spare.
import { closeSync, constants, mkdirSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openCentral, readCentral } from './central-layout.js';

export interface FleetLimits {
  /** bytes the push brings (git's quarantine: packs and loose objects) */
  pushBytes: number;
  /** bytes of one snapshot file */
  fileBytes: number;
  /** lines of one snapshot file */
  lines: number;
  /** pushes a host may make in any 60 seconds (heartbeats, which change nothing, are not counted) */
  pushesPerMinute: number;
  /** commits one push may bring (a host's snapshots: each is indexed, and listed in its central mail); not a config key */
  pushCommits: number;
}

export const DEFAULT_LIMITS: FleetLimits = { pushBytes: 64 << 20, fileBytes: 32 << 20, lines: 500_000, pushesPerMinute: 12, pushCommits: 1000 };

/** The config key of each limit: a refusal names it, so the admin knows what to raise. */
export type KeyedLimit = Exclude<keyof FleetLimits, 'pushCommits'>;
export const LIMIT_KEYS: Record<KeyedLimit, string> = {
  pushBytes: 'FLEET_MAX_PUSH_BYTES', fileBytes: 'FLEET_MAX_FILE_BYTES', lines: 'FLEET_MAX_LINES', pushesPerMinute: 'FLEET_MAX_PUSHES_PER_MINUTE',
};

/** A refusal a host answers by pushing its backlog in steps (src/fleet/push.ts): the push as a whole is too big. */
export const STEPPED = /FLEET_MAX_PUSH_BYTES\b|commits a push\b/;

/** The uncompressed bytes of the snapshot files one push may bring: this many times FLEET_MAX_PUSH_BYTES (git's deltas make a small pack of many big files). */
export const TEXT_PER_PUSH_BYTE = 4;

/** The limits the central config sets (FLEET_MAX_*). */
export function limitsOf(c: { fleetMaxPushBytes: number; fleetMaxFileBytes: number; fleetMaxLines: number; fleetMaxPushesPerMinute: number }): FleetLimits {
  return { pushBytes: c.fleetMaxPushBytes, fileBytes: c.fleetMaxFileBytes, lines: c.fleetMaxLines, pushesPerMinute: c.fleetMaxPushesPerMinute, pushCommits: DEFAULT_LIMITS.pushCommits };
}

/** 33554432 -> '32 MiB', 1500 -> '1500 bytes': what a person reads beside the exact number. */
export function humanBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1 << 30], ['MiB', 1 << 20], ['KiB', 1 << 10]] as const) {
    if (n >= size) return `${(n / size).toFixed(n % size === 0 ? 0 : 1)} ${unit}`;
  }
  return `${n} bytes`;
}

/** Why a value is over its limit ('host/tcp has 600000 lines, over FLEET_MAX_LINES=500000'), or null. */
export function overLimit(limits: FleetLimits, which: KeyedLimit, value: number, what: string): string | null {
  const max = limits[which];
  if (value <= max) return null;
  const bytes = which === 'pushBytes' || which === 'fileBytes';
  const shown = bytes ? `${value} bytes (${humanBytes(value)})` : `${value} lines`;
  return `${what} ${shown}, over ${LIMIT_KEYS[which]}=${max}${bytes ? ` (${humanBytes(max)})` : ''}`;
}

/** What the push brought: the bytes of every file in git's quarantine, and the ids of its objects. */
export interface Quarantine { bytes: number; packIndexes: string[]; loose: string[] }

export function readQuarantine(dir: string): Quarantine {
  const q: Quarantine = { bytes: 0, packIndexes: [], loose: [] };
  const walk = (d: string, top: string) => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) { walk(p, n); continue; }
      q.bytes += st.size;
      if (top === 'pack' && n.endsWith('.idx')) q.packIndexes.push(p);
      else if (/^[0-9a-f]{2}$/.test(top) && /^[0-9a-f]{38}$/.test(n)) q.loose.push(top + n);
    }
  };
  walk(dir, '');
  return q;
}

/**
 * The object ids a pack index (version 2, what index-pack writes) lists, read here rather than by
 * a `git show-index` per pack (the guard runs inside every push); null: not an index this knows.
 */
export function packIndexOids(idx: Buffer): string[] | null {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) return null;
  const n = idx.readUInt32BE(8 + 255 * 4);
  const at = 8 + 1024;
  if (idx.length < at + n * 20) return null;
  const oids = new Array<string>(n);
  for (let i = 0; i < n; i++) oids[i] = idx.toString('hex', at + i * 20, at + i * 20 + 20);
  return oids;
}

const WINDOW_MS = 60_000;

/** The times of a host's counted pushes within the last minute (lsm/rate/<host>: one ms time a line). */
export function recentPushes(text: string, now: number): number[] {
  return text.split('\n').map(Number).filter((t) => t > now - WINDOW_MS && t <= now);
}

/** Why one more push now would be too many, or null. */
export function rateProblem(limits: FleetLimits, recent: number[], now: number): string | null {
  if (recent.length < limits.pushesPerMinute) return null;
  const wait = Math.max(1, Math.ceil((Math.min(...recent) + WINDOW_MS - now) / 1000));
  return `${recent.length + 1} pushes in a minute, over ${LIMIT_KEYS.pushesPerMinute}=${limits.pushesPerMinute}; try again in ${wait}s`;
}

/**
 * Count a push of `host` now, unless the host is over its rate: then the refusal (not counted, so
 * a host that retries is let in once the minute has passed). The file is appended to (concurrent
 * pushes each add their line) and rewritten with the last minute only when it has grown.
 */
export function countPush(gitdir: string, host: string, limits: FleetLimits, now: number): string | null {
  const file = `lsm/rate/${host}`;
  // never through a link, never waiting on a FIFO: anything else there is thrown as its damage (central-layout.ts)
  const text = readCentral(gitdir, file) ?? ''; // null: the first push
  const recent = recentPushes(text, now);
  const refused = rateProblem(limits, recent, now);
  if (refused) return refused;
  mkdirSync(join(gitdir, 'lsm', 'rate'), { recursive: true });
  const write = (path: string, flags: number, data: string) => {
    const fd = openCentral(gitdir, path, constants.O_WRONLY | constants.O_CREAT | flags)!;
    try { writeSync(fd, data); } finally { closeSync(fd); }
  };
  if (text.length > 64 * (limits.pushesPerMinute + 16)) {
    write(`${file}.${process.pid}.tmp`, constants.O_TRUNC, [...recent, now].map((t) => `${t}\n`).join(''));
    renameSync(join(gitdir, `${file}.${process.pid}.tmp`), join(gitdir, file));
  } else write(file, constants.O_APPEND, `${now}\n`);
  return null;
}
