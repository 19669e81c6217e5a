// Durations as people write them: 500ms, 10s, 10m, 2h, 3d (also '3 days', '12 hours'), in ms.
// One parser for watch --interval, INTERVAL, DRIFT windows and log --since '3 days ago'.
const UNITS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?|d|days?|w|weeks?)$/i.exec(text.trim());
  if (!m) return null;
  const unit = m[2].toLowerCase();
  return Number(m[1]) * UNITS[unit === 'ms' ? 'ms' : unit[0]];
}
