// The event log: one JSON object per change, appended with O_APPEND whole or not at all, for log
// shippers and SIEMs. Fields: id (the alert's idempotency key: its commit id), time, host, commit,
// parent, summary, added/removed [{path, line, owners}], repo; then schema, times as ISO with ms. Notices about the spool itself
// (a quarantined file) are lines with an "event" field.
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, mkdirSync, readSync, writeSync } from 'node:fs';
import { openChecked } from '../safe-path.js';
import { dirname } from 'node:path';
import { EVENT_LINE_MAX } from './bounds.js';
import type { Alert } from './message.js';
import { alertRecord } from './record.js';
import { LsmError, ioError } from '../errors.js';

/** The alert's line, at most EVENT_LINE_MAX bytes with its newline (record.ts). */
export function eventRecord(a: Alert): Record<string, unknown> {
  return alertRecord(a, EVENT_LINE_MAX - 1);
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

/** Append the alert's line, unless it is there already (see loggedLast). */
export function appendEvent(path: string, a: Alert): void {
  if (loggedLast(path, a)) return;
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

const TAIL_FIRST = 64 * 1024;
const TAIL_MAX = 4 * 1024 * 1024;

/**
 * Whether the alert's line is in the log already: the last line about its repository is the
 * alert's own. A run killed between the append and recording it in the spool writes the line
 * again otherwise, and lines may have come after it meanwhile (a notice about the spool, another
 * repository's alerts sharing the log), which are passed over. This spool's next alert cannot: it
 * waits for this one. Read backwards from the end, 4 MiB at most.
 */
export function loggedLast(path: string, a: Alert): boolean {
  let fd: number;
  try { fd = openChecked(path, constants.O_RDONLY); } catch { return false; }
  try {
    const size = fstatSync(fd).size;
    for (let n = Math.min(size, TAIL_FIRST); ; n = Math.min(size, n * 4)) {
      const tail = Buffer.alloc(n);
      readSync(fd, tail, 0, n, size - n);
      const lines = tail.toString('utf8').split('\n');
      lines.pop(); // after the last newline: nothing, or a torn line (no alert's record)
      if (n < size) lines.shift(); // may start mid-line
      for (let i = lines.length - 1; i >= 0; i--) {
        let rec: { id?: unknown; repo?: unknown } | null = null;
        try { rec = JSON.parse(lines[i]) as { id?: unknown; repo?: unknown }; } catch { /* not a record */ }
        if (rec && typeof rec.id === 'string' && rec.repo === a.repo) return rec.id === a.id;
      }
      if (n >= size || n >= TAIL_MAX) return false;
    }
  } finally {
    closeSync(fd);
  }
}
