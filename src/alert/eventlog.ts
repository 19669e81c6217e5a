// The event log: one JSON object per change, appended with O_APPEND in a single write, for log
// shippers and SIEMs. Fields: id (the alert's idempotency key: its commit id), time, host, commit,
// parent, summary, added/removed [{path, line, owners}], repo; then schema, times as ISO with ms. Notices about the spool itself
// (a quarantined file) are lines with an "event" field.
import { closeSync, constants, fstatSync, mkdirSync, readSync } from 'node:fs';
import { appendChecked, openChecked } from '../safe-path.js';
import { dirname } from 'node:path';
import { EVENT_LINE_MAX } from './bounds.js';
import type { Alert } from './message.js';
import { alertRecord } from './record.js';

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

/** One line, in one write; a torn last line is ended first, or this one would be glued to it. */
function appendLine(path: string, json: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  appendChecked(path, `${endsTorn(path) ? '\n' : ''}${json}\n`, 0o640);
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
