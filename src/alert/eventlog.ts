// The event log: one JSON object per change, appended with O_APPEND whole or not at all, for log
// shippers and SIEMs. Fields: id (the alert's idempotency key: its commit id), time, host, commit,
// parent, summary, added/removed [{path, line, owners}], repo; then schema, times as ISO with ms. Notices about the spool itself
// (a quarantined file) are lines with an "event" field.
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, mkdirSync, readSync, writeSync } from 'node:fs';
import { openChecked } from '../safe-path.js';
import { dirname } from 'node:path';
import { LsmError, ioError } from '../errors.js';
import type { Alert, AlertLine } from './message.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Times as every JSON lsm writes them: RFC 3339 UTC with milliseconds. */
export function eventRecord(a: Alert): object {
  const since = (l: AlertLine) => (l.since ? { since: { commit: l.since.commit, time: iso(l.since.time) } } : {});
  return {
    id: a.id, schema: 1, time: iso(a.time), host: a.host, commit: a.commit, parent: a.parent, summary: a.summary, ...(a.reminder ? { reminder: true } : {}),
    added: a.added.map((l) => ({ path: l.path, line: l.line, owners: l.owners.map((o) => ({ ...o, startedAt: iso(o.startedAt) })), ...since(l) })),
    removed: a.removed.map((l) => ({ path: l.path, line: l.line, ...since(l) })), repo: a.repo,
  };
}

/** The id of the log's last line (ids come first in a line: only its start is read), or null. */
export function lastEventId(path: string): string | null {
  let fd: number;
  try { fd = openChecked(path, constants.O_RDONLY); } catch { return null; }
  try {
    const size = fstatSync(fd).size;
    if (size < 2) return null;
    if (!endsWithNewline(fd, size)) return null; // a torn line (a write a full disk cut short) is no alert's record
    // where the last line starts: after the newline before the final one, searched backwards
    let start = 0;
    const chunk = Buffer.alloc(1 << 16);
    for (let end = size - 1; end > 0;) {
      const from = Math.max(0, end - chunk.length);
      const n = readSync(fd, chunk, 0, end - from, from);
      const i = chunk.subarray(0, n).lastIndexOf(10);
      if (i >= 0) { start = from + i + 1; break; }
      end = from;
    }
    const head = Buffer.alloc(200);
    const n = readSync(fd, head, 0, 200, start);
    return /^\{"id":"([^"]+)"/.exec(head.subarray(0, n).toString('utf8'))?.[1] ?? null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Append the alert's line, unless it is already the log's last line: a run killed between the
 * append and recording it in the spool would otherwise write it twice (alerts reach the log in
 * order, so only the last line can be this alert's).
 */
export function appendEvent(path: string, a: Alert): void {
  if (lastEventId(path) === a.id) return;
  appendLine(path, JSON.stringify(eventRecord(a)));
}

/** A line about lsm itself (not a change), e.g. a file moved out of the spool. */
export function appendNotice(path: string, notice: Record<string, unknown>): void {
  appendLine(path, JSON.stringify({ id: null, schema: 1, time: new Date().toISOString(), ...notice }));
}

/**
 * One line, whole or not at all: one write at the end, then fsync; a write a full disk cut short
 * (or an fsync that failed) is cut off again, so `jq` never meets half a line, and the error is
 * thrown (the spool keeps the alert and retries it). A torn last line left by an older lsm (or a
 * power loss) is ended first, or this one would be glued to it.
 */
function appendLine(path: string, json: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  } catch (err) {
    throw ioError(`cannot write the event log ${path}`, err);
  }
  const line = Buffer.from(`${endsTorn(path) ? '\n' : ''}${json}\n`, 'utf8');
  const failed = (err: unknown) => (err instanceof LsmError ? err : ioError(`cannot write the event log ${path}`, err));
  let fd: number;
  try { fd = openChecked(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640); } catch (err) { throw failed(err); }
  let before = -1;
  try {
    before = fstatSync(fd).size;
    // a short write is tried again: the next one says why it stopped (ENOSPC)
    for (let done = 0; done < line.length;) {
      const n = writeSync(fd, line, done);
      if (n <= 0) throw Object.assign(new Error('nothing written'), { code: 'EIO' });
      done += n;
    }
    fsyncSync(fd);
  } catch (err) {
    if (before >= 0) cutBack(fd, before, line.length);
    throw failed(err);
  } finally {
    closeSync(fd);
  }
}

/** Cut what a failed append left, unless another writer appended since (then its line would go too). */
function cutBack(fd: number, before: number, length: number): void {
  try {
    const size = fstatSync(fd).size;
    if (size > before && size <= before + length) ftruncateSync(fd, before);
  } catch { /* the error that got us here is reported */ }
}

function endsTorn(path: string): boolean {
  let fd: number;
  try { fd = openChecked(path, constants.O_RDONLY); } catch { return false; }
  try {
    const size = fstatSync(fd).size;
    return size > 0 && !endsWithNewline(fd, size);
  } finally {
    closeSync(fd);
  }
}

function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a;
}
