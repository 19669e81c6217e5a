// Durations as people write them: 500ms, 10s, 10m, 2h, 3d (also '3 days', '12 hours'), in ms.
// One parser for watch --interval, INTERVAL, DRIFT windows and log --since '3 days ago'.
import { EXIT, LsmError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?|d|days?|w|weeks?)$/i.exec(text.trim());
  if (!m) return null;
  const unit = m[2].toLowerCase();
  return Number(m[1]) * UNITS[unit === 'ms' ? 'ms' : unit[0]];
}

/** A duration within [min, max] ms, else null: every duration lsm waits or compares with is bounded. */
export function durationIn(text: string, min: number, max: number): number | null {
  const ms = parseDuration(text);
  return ms !== null && ms >= min && ms <= max ? ms : null;
}

/** ms as the largest unit that holds it whole: 86400000 -> 1d, 90000 -> 90s. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's']) if (ms >= UNITS[unit] && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}

// the latest time a Date holds (+275760-09-13): a time past it is no time at all
const LAST_TIME = 8.64e15;

/** A point in time as people write it: '3 days ago', 12h (ago), yesterday, or a date. */
export function parseTime(text: string, now = Date.now()): number {
  const ago = parseDuration(text.replace(/\s+ago$/i, ''));
  const t = ago !== null ? now - ago : text === 'yesterday' ? now - 864e5 : Date.parse(text);
  if (!(t >= 0 && t <= LAST_TIME)) throw new LsmError(`cannot read the time '${text}' (try 2026-11-24, '2026-11-24 08:00', '3 days ago' or 12h)`, EXIT.USAGE);
  return t;
}
