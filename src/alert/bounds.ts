// Bounds on what a local user can put into an alert. A user controls their processes' command
// lines, names and exe paths, their sockets' paths and how many processes share a socket: 30
// processes with 1 MB command lines made a 30 MB mail that the SMTP server refused, and a root
// listener in the same change was never delivered. So every such field is cut to FIELD_MAX with a
// marker that says how much was cut and a hash of the whole, an owner list to OWNERS_SHOWN
// processes, and each channel's whole message to its own bound, dropping or condensing what users
// hold before what root holds. The change itself is whole in git: a cut alert says how to see it.
import { createHash } from 'node:crypto';
import { escapeField } from '../snapshot/escape.js';
import { parseLine } from '../snapshot/parse-line.js';

// The bounds, in bytes of UTF-8. All are far below the 10 MB that SMTP servers commonly accept
// (Postfix's default message_size_limit is 10,240,000): a mail is at most a 1 MiB body and a 1 MiB
// attachment, under 3 MB on the wire even as base64.
/** One field a user controls (a command line, an exe path, a user or container name): PATH_MAX. */
export const FIELD_MAX = 4096;
/** One snapshot line as an alert shows it (its owner groups hold exe paths of up to 4 KiB each). */
export const LINE_MAX = 8192;
/** Owners listed per socket; the others are counted, with the first PIDS_SHOWN of their pids. */
export const OWNERS_SHOWN = 3;
export const PIDS_SHOWN = 10;
/** The mail's text body, and the diff attached to it (a larger diff is not attached: see git). */
export const MAIL_BODY_MAX = 1 << 20;
export const MAIL_DIFF_MAX = 1 << 20;
/** One event-log line, newline included: syslog-ng's default message size; shippers split or drop longer lines. */
export const EVENT_LINE_MAX = 64 << 10;
/** A hook's JSON on stdin, newline included. */
export const HOOK_INPUT_MAX = 1 << 20;

export const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

// One unit that is never split: an escape of escapeField (\\, \xHH, \u{H..}) or one code point
// (a surrogate pair whole, thanks to /u)
const UNIT = /\\(?:x[0-9a-f]{2}|u\{[0-9a-f]{1,6}\}|\\)|[\s\S]/uy;

/**
 * The longest start of `text` that fits in `budget` bytes and ends between two units, and how many
 * bytes of the raw value it stands for (an escape is one byte, or the code point's UTF-8).
 */
export function prefixWithin(text: string, budget: number): string {
  return prefix(text, budget).text;
}

function prefix(text: string, budget: number): { text: string; raw: number } {
  let used = 0, raw = 0;
  UNIT.lastIndex = 0;
  for (let m: RegExpExecArray | null; (m = UNIT.exec(text)) !== null;) {
    const u = m[0];
    const cp = u.codePointAt(0)!;
    const n = u.length > 2 || cp < 0x80 ? u.length : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; // escapes are ASCII
    if (used + n > budget) return { text: text.slice(0, m.index), raw };
    used += n;
    raw += u.length === 1 || u.codePointAt(0)! >= 0x10000 ? n : u[1] === 'u' ? bytes(String.fromCodePoint(parseInt(u.slice(3, -1), 16))) : 1;
  }
  return { text, raw };
}

const MARKER = /…\[cut \d+ bytes, sha256:[0-9a-f]{16}\]/;

/** Whether a text holds a cut marker (a field cut here, or an alert spooled cut). */
export const isCut = (text: string): boolean => text.includes('…[cut ') && MARKER.test(text);

/**
 * `text` (escaped, as every field is) if it fits in `max` bytes, else its start and a marker:
 * 'start…[cut 1048000 bytes, sha256:0123456789abcdef]', at most `max` bytes in all. The cut falls
 * between escapes and characters, never inside one; the count is of the escaped text's bytes, the
 * hash (64 bits of SHA-256, as labelDir's) is of the whole escaped text, so two long values with a
 * common start stay apart. The same text always gives the same result, and a cut text is kept.
 */
export function boundField(text: string, max = FIELD_MAX): string {
  if (text.length * 3 <= max) return text; // a UTF-16 unit is at most 3 bytes of UTF-8
  const total = bytes(text);
  if (total <= max) return text;
  const hash = createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
  const marker = (cut: number) => `…[cut ${cut} bytes, sha256:${hash}]`;
  const keep = prefixWithin(text, max - bytes(marker(total))); // the count is at most total: as many digits
  return keep + marker(total - bytes(keep));
}

/**
 * A value lsm read raw (latin1, one char a byte, as the collector reads /proc): escaped, bounded
 * as boundField does, but escaping no more than can be shown (a 1 MB path costs what 4 KiB do)
 * and with the marker's count and hash of the raw bytes.
 */
function boundRawParts(parts: string[], max: number): string {
  const shown: string[] = [];
  let room = max + 4; // an escape is at least one byte a raw byte: this start is enough
  let whole = true;
  for (const p of parts) {
    if (room <= 0 || p.length > room) { whole = false; if (room > 0) shown.push(escapeField(p.slice(0, room))); break; }
    shown.push(escapeField(p));
    room -= p.length + 1;
  }
  const text = shown.join(' ');
  if (whole && bytes(text) <= max) return text;
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p, 'latin1');
  const total = parts.reduce((n, p) => n + p.length + 1, -1);
  const marker = (cut: number) => `…[cut ${cut} bytes, sha256:${hash.copy().digest('hex').slice(0, 16)}]`;
  const keep = prefix(text, max - bytes(marker(total)));
  return keep.text + marker(total - keep.raw);
}

/** One raw field (an exe path, a user or container name), escaped and bounded. */
export const boundRaw = (raw: string, max = FIELD_MAX): string => boundRawParts([raw], max);
// A piece of a rendered command line and how many raw bytes it stands for (a quote: none).
type Piece = [text: string, raw: number];
const ESCAPE_UNIT = /\\(?:x[0-9a-f]{2}|u\{[0-9a-f]{1,6}\}|\\)|[\s\S]/gu;
// what a shell takes as it is in a word: no quote, no expansion, no split (non-ASCII: visible, escapeField kept it)
const BARE = /^(?:[A-Za-z0-9_@%+=:,./-]|[^\x00-\x7f])$/u;
const PLAIN_WORD = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/; // ASCII: the raw byte is its own escape
const rawOf = (u: string): number => (u.length > 1 && u[0] === '\\' ? (u[1] === 'u' ? bytes(String.fromCodePoint(parseInt(u.slice(3, -1), 16))) : 1) : bytes(u));

/**
 * One argument as a person reads it and a shell reads it back: escaped by escapeField, a space
 * shown as a space, then quoted only when needed: bare ('-m', '/usr/bin/x'), in single quotes when
 * a shell would split or expand it ('nc -l 4444', "it'\''s"), as $'...' when it holds an escape
 * ($'a\\b', $'-l\x0a4444': bash and zsh read \\ and \xHH back as the bytes; \u{H} stays readable only).
 * Quoted too: a first word with '=' (a shell takes it for an assignment), a word starting with '='
 * (zsh expands =cmd).
 */
function argPieces(raw: string, first: boolean): Piece[] {
  if (raw === '') return [["''", 0]];
  const units = escapeField(raw).match(ESCAPE_UNIT)!;
  if (units.every((u) => BARE.test(u)) && units[0] !== '=' && !(first && units.includes('='))) return units.map((u) => [u, rawOf(u)]);
  const dollar = units.some((u) => u.length > 1 && u !== '\\x20');
  const quote = (u: string): Piece => [u === '\\x20' ? ' ' : u === "'" ? (dollar ? "\\'" : "'\\''") : u, rawOf(u)];
  return [[dollar ? "$'" : "'", 0], ...units.map(quote), ["'", 0]];
}

/**
 * A raw argv as a person reads it: each argument escaped and quoted as argPieces says, joined by
 * spaces, bounded as boundRawParts bounds (escaping no more than can be shown, the marker's count
 * of the raw bytes not shown and its hash of /proc/PID/cmdline's bytes); a cut may fall inside a
 * quoted argument, never inside an escape or a character.
 */
// for a command line, the marker's hash is of the arguments each ended by a NUL, so
// `sha256sum /proc/PID/cmdline` matches while the process runs
export function boundArgv(args: string[], max = FIELD_MAX): string {
  // the common command line (plain words that fit) is joined as it is, without pieces
  if (args.every((p, i) => PLAIN_WORD.test(p) && (i > 0 || !p.includes('=')))) {
    const text = args.join(' ');
    if (text.length <= max) return text;
  }
  const pieces: Piece[] = [];
  let room = max + 4; // a raw byte is at least one byte shown: this start is enough
  let whole = true;
  for (const [i, p] of args.entries()) {
    if (room <= 0) { whole = false; break; }
    const part = p.length > room ? p.slice(0, room) : p;
    if (i > 0) pieces.push([' ', 1]); // the NUL that ended the argument before
    pieces.push(...argPieces(part, i === 0));
    room -= p.length + 1;
    if (part !== p) { whole = false; break; }
  }
  const text = pieces.map((x) => x[0]).join('');
  if (whole && bytes(text) <= max) return text;
  const hash = createHash('sha256');
  for (const p of args) hash.update(`${p}\0`, 'latin1');
  const total = args.reduce((n, p) => n + p.length + 1, 0);
  const marker = (cut: number) => `…[cut ${cut} bytes, sha256:${hash.copy().digest('hex').slice(0, 16)}]`;
  const budget = max - bytes(marker(total)); // the count is at most total: as many digits
  let used = 0, raw = 0, keep = '';
  for (const [t, r] of pieces) {
    const n = bytes(t);
    if (used + n > budget) break;
    used += n; raw += r; keep += t;
  }
  return keep + marker(total - raw);
}

/** The fields of an alert's owner that a user controls. */
export interface BoundableOwner { pid: number; uid?: number | null; user: string; exe: string; cmdline: string; container: string | null }
export interface MoreOwners { count: number; pids: number[] }

/** Root's process: uid 0 (an alert spooled before uids were kept: its user name, from root's passwd). */
export const isRootOwner = (o: { uid?: number | null; user: string }): boolean => (o.uid === undefined ? o.user === 'root' : o.uid === 0);

/**
 * The owners a socket shows: root's first, at most OWNERS_SHOWN, each field bounded; the rest
 * counted, with their first pids. Applied again to what it returned, it returns the same.
 */
export function boundOwners<O extends BoundableOwner>(owners: O[], more?: MoreOwners): { owners: O[]; more?: MoreOwners } {
  const sorted = [...owners.filter(isRootOwner), ...owners.filter((o) => !isRootOwner(o))];
  const shown = sorted.slice(0, OWNERS_SHOWN).map((o) => ({
    ...o, user: boundField(o.user), exe: boundField(o.exe), cmdline: boundField(o.cmdline),
    container: o.container === null ? null : boundField(o.container),
  }));
  const rest = sorted.slice(OWNERS_SHOWN);
  const count = rest.length + (more?.count ?? 0);
  if (count === 0) return { owners: shown };
  return { owners: shown, more: { count, pids: [...rest.map((o) => o.pid), ...(more?.pids ?? [])].slice(0, PIDS_SHOWN) } };
}

/** 'and 27 more processes (pids 5, 6, 7, ...)' */
export function moreOwnersText(m: MoreOwners): string {
  const listed = m.pids.length ? ` (pid${m.count === 1 ? '' : 's'} ${m.pids.join(', ')}${m.count > m.pids.length ? ', ...' : ''})` : '';
  return `and ${m.count} more process${m.count === 1 ? '' : 'es'}${listed}`;
}

/**
 * A line of the alert root holds: one of its owners now is root's, or (no owner known now, e.g.
 * a socket that is gone) the snapshot line names root among its users. A user can neither make
 * their socket root's nor add an owner to root's.
 */
export function isRootLine(l: { path: string; line: string; owners: { uid?: number | null; user: string }[] }): boolean {
  if (l.owners.length) return l.owners.some(isRootOwner);
  return parseLine(l.path, l.line).owners.some((o) => o.users.includes('root'));
}

/** Root's lines first, each group in its order: what users hold is cut first. */
export function rootFirst<L extends Parameters<typeof isRootLine>[0]>(lines: L[]): L[] {
  const root = lines.map(isRootLine);
  return [...lines.filter((_, i) => root[i]), ...lines.filter((_, i) => !root[i])];
}

/**
 * Fit entries, most important first, into `budget` bytes: each whole while they fit, then (from
 * the first that does not) each brief, then none. size() is what one entry costs.
 */
export function fitEntries<E, R>(entries: E[], budget: number, whole: (e: E) => R, brief: (e: E) => R, size: (r: R) => number): { kept: R[]; condensed: number; omitted: number; left: number } {
  const kept: R[] = [];
  let condensed = 0;
  let briefNow = false;
  for (const e of entries) {
    let r = briefNow ? null : whole(e);
    if (r === null || size(r) > budget) {
      briefNow = true;
      r = brief(e);
      if (size(r) > budget) break;
      condensed++;
    }
    kept.push(r);
    budget -= size(r);
  }
  return { kept, condensed, omitted: entries.length - kept.length, left: budget };
}
