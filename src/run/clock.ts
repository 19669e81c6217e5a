// A wall clock stepped between runs, forward or back: each scan reads the wall clock and the boot
// time (CLOCK_BOOTTIME, /proc/uptime: it counts suspend too, and nobody sets it) and compares how
// far each went since the last run on the same boot (/proc/sys/kernel/random/boot_id). A commit
// dated before its parent catches only a step back, and only when the run commits; this sees a
// step forward too, on every run. Kept in .git/lsm/clock.json: the last reading, and the last
// step seen (lsm status, METRICS_FILE).
import { closeSync, constants, mkdirSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LsmError, reason } from '../errors.js';
import { openChecked, replaceFile } from '../safe-path.js';

// How far the two clocks may part without a step: NTP (ntpd, timesyncd: the kernel's PLL) slews
// the wall clock at most 500 ppm, 0.3 s over a 10 min cron interval; the second covers
// /proc/uptime's 10 ms, a run preempted between its two reads on a loaded host, and a leap second.
const SLEW = 500e-6;
const JITTER_MS = 1000;
export const clockTolerance = (elapsedMs: number) => JITTER_MS + SLEW * Math.max(elapsedMs, 0);

export interface ClockReading { boot: string; wall: number; up: number } // boot id; unix ms; ms since boot
export interface ClockStep { by: number; at: number } // by: ms, + forward, - back; at: unix ms seen
export interface ClockState extends ClockReading { steps: number; last: ClockStep | null }

export const clockFile = (repoDir: string) => join(repoDir, '.git', 'lsm', 'clock.json');

/** Now, by both clocks: two small reads of /proc. */
export function readClock(): ClockReading {
  const up = /^(\d+)\.(\d\d) /.exec(readFileSync('/proc/uptime', 'latin1'));
  const wall = Date.now(); // right after: the two readings are microseconds apart
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
  if (!up || !BOOT_ID.test(boot)) throw new Error('/proc/uptime or /proc/sys/kernel/random/boot_id does not read as the kernel writes it');
  return { boot, wall, up: Number(up[1]) * 1000 + Number(up[2]) * 10 };
}

const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_STATE = 4096;
const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const ms = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** The state as the last run left it: null when there is none; `refused` when it is not what lsm wrote (never followed). */
export function readClockState(repoDir: string): { state: ClockState | null; refused?: string } {
  const file = clockFile(repoDir);
  let text: string;
  try {
    const fd = openChecked(file, constants.O_RDONLY); // (non-blocking: a FIFO planted there is refused, never waited on)
    try {
      const buf = Buffer.alloc(MAX_STATE + 1);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally { closeSync(fd); }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: null };
    return { state: null, refused: err instanceof LsmError ? err.message : `cannot read ${file}: ${reason(err)}` };
  }
  let s: Partial<ClockState> | null = null;
  try { s = text.length > MAX_STATE ? null : JSON.parse(text) as Partial<ClockState>; } catch { /* below */ }
  const last = s?.last;
  if (!s || typeof s.boot !== 'string' || !BOOT_ID.test(s.boot) || !ms(s.wall) || !count(s.up) || !count(s.steps)
    || (last !== null && !(ms(last?.by) && ms(last?.at)))) return { state: null, refused: `refusing ${file}: it does not read as lsm writes it` };
  return { state: { boot: s.boot, wall: s.wall!, up: s.up!, steps: s.steps!, last: last ?? null } };
}

/** The step since the last run on this boot, when the clocks parted by more than the tolerance. */
export function clockStep(prev: ClockReading | null, now: ClockReading): number | null {
  if (!prev || prev.boot !== now.boot) return null; // a reboot: the boot time started again, the clock is compared from here
  const by = (now.wall - prev.wall) - (now.up - prev.up);
  return Math.abs(by) > clockTolerance(now.up - prev.up) ? by : null;
}

const iso = (t: number) => new Date(t).toISOString();

/** One line, for stderr and the commit's message. */
export function stepLine(by: number, prev: ClockReading, now: ClockReading): string {
  const s = (v: number) => Math.round(v / 1000);
  return `the clock stepped ${by > 0 ? 'forward' : 'back'} by ${s(Math.abs(by))} s between runs: since the run at ${iso(prev.wall)} it counted ${s(now.wall - prev.wall)} s, `
    + `the boot time ${s(now.up - prev.up)} s; times stamped across it are off by the step: if the clock is wrong now (it reads ${iso(now.wall)}), set it (timedatectl, NTP)`;
}

export interface ClockCheck {
  said: string[]; // what this run says about the clock (stderr; the step goes in the commit's message too)
  step: string | null;
  next: ClockState | null; // what to record once the commit has set .git/lsm right (null: the clock did not read)
}

/** Read both clocks and the last run's state; nothing is written here (see saveClockState). */
export function measureClock(repoDir: string): ClockCheck {
  const { state, refused } = readClockState(repoDir);
  const said: string[] = [];
  if (refused) said.push(`the clock is not compared with the last run: ${refused} (replaced by this run's reading)`);
  let now: ClockReading;
  try { now = readClock(); } catch (err) {
    return { said: [...said, `a step of the clock cannot be measured: ${reason(err)}`], step: null, next: null };
  }
  const by = clockStep(state, now);
  const step = by === null ? null : stepLine(by, state!, now);
  if (step) said.push(step);
  const next: ClockState = { ...now, steps: (state?.steps ?? 0) + (by === null ? 0 : 1), last: by === null ? state?.last ?? null : { by, at: now.wall } };
  return { said, step, next };
}

/** Record this run's reading: a new file renamed over the old (a link planted there is replaced, never followed). */
export function saveClockState(repoDir: string, state: ClockState): void {
  const file = clockFile(repoDir);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    replaceFile(file, JSON.stringify(state) + '\n');
  } catch (err) {
    throw new Error(`cannot record the clock's reading in ${file} (the next run cannot tell a step): ${reason(err)}`, { cause: err });
  }
}

/** For lsm status: the last step seen and when, or why the state does not read; null when neither. */
export function clockStatusLine(repoDir: string): string | null {
  const { state, refused } = readClockState(repoDir);
  if (refused) return `the clock's last reading is not used (${refused}): the next lsm -c records a new one`;
  if (!state?.last) return null;
  const { by, at } = state.last;
  return `the clock last stepped ${by > 0 ? 'forward' : 'back'} by ${Math.round(Math.abs(by) / 1000)} s, seen at ${iso(at)} (${state.steps} step${state.steps === 1 ? '' : 's'} seen between runs)`;
}
