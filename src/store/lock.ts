// isomorphic-git has no cross-process locking: two scans at once take this lock, a file created
// with O_EXCL that names its holder (pid and process start time, so a reused pid is not mistaken
// for the holder). A lock whose holder is gone is stale and taken over; taking over is itself
// guarded by a short-lived second lock so two scans never both steal it.
import { closeSync, lstatSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EXIT, LsmError, ioError } from '../errors.js';
import { describe } from './layout.js';

export interface Lock { release(): void }

interface Holder { pid: number; start: string; host: string; since: number; boot?: string }

function read(path: string): string | null {
  try { return readFileSync(path, 'latin1').trim(); } catch { return null; }
}

/** This boot of this machine: the same in every process until a reboot, whatever the hostname. */
const bootId = () => read('/proc/sys/kernel/random/boot_id') ?? '';

function processStart(pid: number): string | null {
  const stat = read(`/proc/${pid}/stat`);
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

const HOUR = 3_600_000;

/**
 * Whether the lock's holder may still run. The same boot of this machine: its pid and start time
 * say (a renamed host included). This host's name but another boot: it died with that boot. A
 * lock from an older lsm (no boot id) under this name: its pid says, as before. Any other name (a
 * renamed host, or another machine sharing the storage): only when the lock predates this boot and
 * is over an hour old is it provably not ours and surely not a live lsm (they hold it seconds).
 */
function holderAlive(h: Holder, path: string): boolean {
  const boot = bootId();
  const local = () => { const start = processStart(h.pid); return start !== null && start === h.start; };
  if (h.boot && boot && h.boot === boot) return local();
  if (h.host === hostname()) return h.boot && boot ? false : local();
  const uptime = Number(read('/proc/uptime')?.split(' ')[0] ?? NaN) * 1000;
  let mtime = Date.now();
  try { mtime = statSync(path).mtimeMs; } catch { /* gone: below */ }
  return !(Date.now() - mtime > Math.max(uptime, HOUR));
}

function readHolder(path: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return typeof h.pid === 'number' ? h : null;
  } catch {
    return null; // half-written or garbage: treated as stale below when old enough
  }
}

/**
 * A lock path that is not a regular file (a directory, a symbolic link, a FIFO: damage or a plant)
 * would pass for a lock held for ever, be stolen in a loop, or hang its read: said as what it is (65).
 */
function checkLockType(path: string): void {
  let st;
  try { st = lstatSync(path); } catch { return; } // gone since: tried again
  if (st.isFile()) return;
  throw new LsmError(`lock ${path} is ${describe(path, st)}, not a file lsm made: damage, never followed; move it aside (mv ${path} ${path}.damaged), then run lsm again`, 'Damaged', { damage: path });
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') { checkLockType(path); return false; }
    throw ioError(`cannot create lock ${path}`, err);
  }
  try {
    writeSync(fd, content);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(path); } catch { /* ignore */ }
    throw ioError(`cannot lock ${path}`, err); // a full disk: no half-written lock left behind
  }
  closeSync(fd);
  return true;
}

function ageMs(path: string): number {
  try { return Date.now() - statSync(path).mtimeMs; } catch { return 0; }
}

/** Take over a lock whose holder is gone. Returns true when the lock file was removed. */
function removeIfStale(path: string): boolean {
  const holder = readHolder(path);
  if (holder ? holderAlive(holder, path) : ageMs(path) < 5000) return false;
  const guard = `${path}.steal`;
  if (!tryCreate(guard, String(process.pid))) {
    if (ageMs(guard) > 10_000) { try { unlinkSync(guard); } catch { /* someone else did */ } }
    return false;
  }
  try {
    const again = readHolder(path); // still the same dead holder?
    if (JSON.stringify(again) !== JSON.stringify(holder)) return false;
    try { unlinkSync(path); } catch { /* gone already */ }
    return true;
  } finally {
    try { unlinkSync(guard); } catch { /* ignore */ }
  }
}

/**
 * Lock the repository at gitdir. Waits up to waitMs for a live holder, polling; then fails with
 * exit code 75 (EX_TEMPFAIL) so cron simply tries again next time.
 */
export async function lockRepository(gitdir: string, waitMs = 30_000): Promise<Lock> {
  const path = join(gitdir, 'lsm.lock');
  const me: Holder = { pid: process.pid, start: processStart(process.pid) ?? '', host: hostname(), since: Date.now(), boot: bootId() };
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    if (tryCreate(path, JSON.stringify(me))) {
      return { release: () => { if (readHolder(path)?.pid === me.pid) { try { unlinkSync(path); } catch { /* ignore */ } } } };
    }
    if (removeIfStale(path)) continue;
    if (Date.now() >= deadline) {
      const h = readHolder(path);
      throw new LsmError(`repository is busy: another lsm (pid ${h?.pid ?? '?'}) holds ${path}`, EXIT.BUSY);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LsmError(`could not lock ${path}`, EXIT.BUSY);
}
