// Reading the journal (see journal.ts, which writes it) with nothing but node:fs, so history
// questions load no more than this.
import { readBytesChecked } from '../safe-path.js';
import { join } from 'node:path';
import { LsmError } from '../errors.js';
import type { Repo } from './repo.js';

export interface JournalRecord {
  c: string; // commit
  p: string | null; // parent
  t: number; // commit time, unix ms
  m?: number; // the newest commit time of this record and every one before it, when later than t: the clock stepped back (see recordNewest)
  s: string; // summary
  a: [string, string][]; // added [path, line]
  r: [string, string][]; // removed [path, line]
}

export function journalPath(repo: Repo): string {
  return join(repo.gitdir, 'lsm', 'journal.jsonl');
}

// A question touches few records, and parsing every one (10,000 commits: 23 ms) cost more than the
// rest of the answer. So the journal is read as bytes, searched for text each wanted record must
// hold (buffer search, 1 ms), and only the lines found are decoded and parsed. A line is a record
// only when its newline is written: a torn last line (a crash mid-append) is left out.

/** The journal's bytes; empty when there is none. */
export function journalBytes(repo: Repo): Buffer {
  try { return readBytesChecked(journalPath(repo)); } catch { return Buffer.alloc(0); }
}

/**
 * How `text` appears inside a record's JSON. JSON.stringify escapes each character on its own, so a
 * line holds `text` exactly when its record holds this; but a lone surrogate is written escaped
 * while half of a pair is not, so such a text gives '' (matches every record).
 */
export function jsonNeedle(text: string): string {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text) ? '' : JSON.stringify(text).slice(1, -1);
}

/** The record lines holding each of these texts (in a path, a line, anywhere), oldest first. */
export function* linesWith(buf: Buffer, texts: string[] = []): Generator<string> {
  const needles = texts.map(jsonNeedle);
  const first = needles[0] ?? '';
  for (let from = 0; from < buf.length;) {
    const at = buf.indexOf(first, from);
    if (at < 0) return;
    const start = at === 0 ? 0 : buf.lastIndexOf(0x0a, at - 1) + 1; // never before from: buf[from - 1] is a newline
    const end = buf.indexOf(0x0a, at);
    if (end < 0) return; // torn last line
    from = end + 1;
    const line = buf.toString('utf8', start, end);
    if (line && needles.every((n) => line.includes(n))) yield line;
  }
}

/** Every record line, newest first. */
export function* linesBackward(buf: Buffer): Generator<string> {
  for (let end = buf.lastIndexOf(0x0a); end > 0;) {
    const start = buf.lastIndexOf(0x0a, end - 1) + 1;
    if (start < end) yield buf.toString('utf8', start, end);
    end = start - 1;
  }
}

export function parseRecord(line: string): JournalRecord | null {
  try {
    const rec = JSON.parse(line) as JournalRecord;
    return typeof rec === 'object' && rec !== null && typeof rec.c === 'string' ? rec : null;
  } catch {
    return null;
  }
}

/** A line of the journal that is not a record: the journal is damaged and must be rebuilt. */
export class JournalDamaged extends LsmError {
  constructor(line: string) {
    super(`the journal (.git/lsm/journal.jsonl) holds a line that is not a record (${JSON.stringify(line.slice(0, 40))}): run lsm reindex (it is rebuilt from history)`);
  }
}

/** The records of some lines, in their order; a line that does not parse throws (never skipped silently). */
export function* parseRecords(lines: Iterable<string>): Generator<JournalRecord> {
  for (const line of lines) {
    const rec = parseRecord(line);
    if (!rec) throw new JournalDamaged(line);
    yield rec;
  }
}

/**
 * A record's commit time, read without parsing the record: `"t":` occurs in a record only as its
 * key, since inside a JSON string every quote is escaped. Any other form of number: parsed.
 */
export function recordTime(line: string): number {
  const m = /"t":(-?\d+)[,}]/.exec(line);
  return m ? Number(m[1]) : (parseRecord(line)?.t ?? NaN);
}

/**
 * The newest commit time of this record and of every record before it, read as recordTime reads
 * t: a walk newest first may stop at the first record whose recordNewest is before what it wants,
 * though its t alone may be before it (a clock stepped back) while an older record's is not.
 */
export function recordNewest(line: string): number {
  const s = line.indexOf('"s":'); // m is written before the summary (stampNewest): no need to search the lines
  const m = /"m":(-?\d+)[,}]/.exec(s < 0 ? line : line.slice(0, s));
  return m ? Number(m[1]) : recordTime(line);
}

/** rec stamped with the newest commit time before it (`before`), when that is later than its own; and the newest time with it. */
export function stampNewest(rec: JournalRecord, before: number): { rec: JournalRecord; newest: number } {
  const { c, p, t, s, a, r } = rec;
  return before > t ? { rec: { c, p, t, m: before, s, a, r }, newest: before } : { rec: { c, p, t, s, a, r }, newest: t };
}

/** The commit of the last record; null when there is none. */
export function lastCommit(buf: Buffer): string | null {
  for (const line of linesBackward(buf)) return parseRecord(line)?.c ?? null;
  return null;
}

/** Every record. */
export function readJournal(repo: Repo): JournalRecord[] {
  return [...parseRecords(linesWith(journalBytes(repo)))];
}
