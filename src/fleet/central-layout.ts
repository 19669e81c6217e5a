// What lsm keeps in the central repository's lsm/ (the push record, how far it was spooled, when
// each host was last seen, the queue the post-receive hook fills, the held changes, the index):
// each path a real directory or a regular file, never a symbolic link, a FIFO or the other kind.
// Anything else is damage (a restore gone wrong, a hand edit, a plant). One place decides: every
// drain, check and question asks here first, and then neither reads nor writes through such a
// path (a FIFO would hang the drain; a link would be followed), but says which path it is and
// what to do, in one line, until it is moved aside. Nothing is moved but the index's (derived from
// the branches: reindex moves it aside and makes it again): the push record and the held changes
// are not derived, so what to keep is the admin's call.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, renameSync, type Dirent, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { LsmError, reason } from '../errors.js';
import { describe } from '../store/layout.js';

type Kind = 'dir' | 'file';
const INDEX_HINT = 'lsm fleet reindex makes it again';
// [path under the gitdir, what it must be, what every entry in it must be, how it comes back];
// lsm/index.key is its reader's to judge (index-key.ts: it names a key that is not one)
const LAYOUT: [string, Kind, Kind | null, string][] = [
  ['lsm', 'dir', null, 'it holds the push record: move it aside, then put back its files (lsm fleet reindex makes the index again)'],
  ['lsm/pushes.jsonl', 'file', null, 'the record of when each host pushed: restore it, or lsm starts a new record (push times before it are lost)'],
  ['lsm/pushes.spooled', 'file', null, 'how far central alerts were spooled: without it they start from the beginning of lsm/pushes.jsonl (the spool drops repeats)'],
  ['lsm/central-failing', 'file', null, 'what the last drain could not do: made again by the next'],
  ['lsm/users', 'file', null, 'who may push which hosts: put its lines back (until then the guard refuses every push)'],
  ['lsm/rate', 'dir', 'file', 'the pushes each host made in the last minute: made again by the next push'],
  ['lsm/seen', 'dir', 'file', 'when each host was last seen: made again at its next push'],
  ['lsm/queue', 'dir', 'file', 'pushes not recorded yet: keep its files, lsm fleet check records them'],
  ['lsm/digest', 'dir', 'file', 'changes held for the next central mail: keep its files'],
  ['lsm/index', 'dir', null, INDEX_HINT],
  ['lsm/index/history', 'dir', 'file', INDEX_HINT], ['lsm/index/changes', 'dir', 'file', INDEX_HINT],
  ['lsm/index/now', 'dir', 'file', INDEX_HINT], ['lsm/index/shards', 'dir', 'file', INDEX_HINT],
];

const fits = (st: Stats | Dirent, kind: Kind) => !st.isSymbolicLink() && (kind === 'dir' ? st.isDirectory() : st.isFile());

const damageLine = (full: string, what: string, kind: Kind, hint: string) =>
  `fleet server: ${full} is ${what}, not ${kind === 'dir' ? 'a directory' : 'a regular file'}: damage, neither read nor written through; move it aside (mv ${full} ${full}.damaged), ${hint}`;

/** What a path of lsm/ must be and how it comes back: its own rule, or its directory's rule for entries. */
function ruleOf(path: string): [Kind, string] | null {
  const own = LAYOUT.find(([p]) => p === path);
  if (own) return [own[1], own[3]];
  const dir = LAYOUT.find(([p]) => p === dirname(path));
  return dir?.[2] ? [dir[2], dir[3]] : null;
}

/**
 * The paths of lsm/ that are not what lsm makes, each as one line naming it, what it is, and what
 * to do; parents first (a bad directory's entries are not looked at). A few lstats and one readdir
 * (with the entries' types) per directory: cheap enough for every question.
 */
export function centralDamage(gitdir: string): string[] {
  return layoutDamage(gitdir).map((d) => d.line);
}

interface Damage { path: string; rel: string; line: string }

function layoutDamage(gitdir: string): Damage[] {
  const found: Damage[] = [];
  const bad: string[] = [];
  for (const [path, kind, entries, hint] of LAYOUT) {
    if (bad.some((b) => path.startsWith(`${b}/`))) continue;
    const full = join(gitdir, path);
    const unreadable = (err: unknown) => found.push({ path: full, rel: path, line: `fleet server: cannot read ${full}: ${reason(err)}` });
    let st: Stats | undefined;
    try { st = lstatSync(full, { throwIfNoEntry: false }); } catch (err) { unreadable(err); continue; }
    if (!st) continue; // not made yet
    const say = (p: string, rel: string, w: string, k: Kind) => found.push({ path: p, rel, line: damageLine(p, w, k, hint) });
    if (!fits(st, kind)) { say(full, path, describe(full, st), kind); bad.push(path); continue; }
    if (!entries) continue;
    let list: Dirent[] = [];
    try { list = readdirSync(full, { withFileTypes: true }); } catch (err) { unreadable(err); continue; }
    for (const e of list) if (!fits(e, entries)) say(join(full, e.name), `${path}/${e.name}`, describe(join(full, e.name), e), entries);
  }
  return found;
}

const inIndex = (d: Damage) => d.rel === 'lsm/index' || d.rel.startsWith('lsm/index/');

/**
 * The index's part of the damage, for verify: each a difference it reports (never read through);
 * damage elsewhere in lsm/ is thrown (65), as by checkCentralLayout.
 */
export function indexDamage(gitdir: string): string[] {
  const found = layoutDamage(gitdir);
  const other = found.filter((d) => !inIndex(d));
  if (other.length) throw damageError(other.map((d) => d.line));
  return found.map((d) => d.line);
}

/**
 * For reindex: what is damaged in the index (derived data, made again from the branches) is moved
 * into lsm/damaged/, never followed, and said (one line each); damage elsewhere is thrown (65).
 */
export function moveIndexDamageAside(gitdir: string): string[] {
  indexDamage(gitdir); // throws for the rest of lsm/
  const moved: string[] = [];
  for (const d of layoutDamage(gitdir)) {
    const to = join(gitdir, 'lsm', 'damaged', `${d.rel.replaceAll('/', '_')}.${Date.now()}`);
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    renameSync(d.path, to); // a link is moved as the link, never what it points to
    moved.push(`${d.path}: damage moved to ${to} (the index is made again from the branches)`);
  }
  return moved;
}

/** The damage found as one error (exit 65), one line: the first, and how many more. */
const damageError = (lines: string[]) => new LsmError(lines[0] + (lines.length > 1 ? ` (and ${lines.length - 1} more damaged)` : ''), 'Damaged', { damage: lines });
const damaged = (line: string) => damageError([line]);

/** Throw the damage found (exit 65). */
export function checkCentralLayout(gitdir: string): void {
  const found = centralDamage(gitdir);
  if (found.length) throw damageError(found);
}

/**
 * Open one file of lsm/ (a path of LAYOUT, or an entry of one of its directories) as centralDamage
 * would have it, for the guard inside every push: each directory above it lstat'ed, the file opened
 * without following a link and without waiting on a FIFO, and what was opened fstat'ed. Anything
 * but a regular file is thrown as its damage line (65). Null: not made yet. The caller closes.
 */
export function openCentral(gitdir: string, path: string, flags = constants.O_RDONLY): number | null {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    const st = lstatSync(join(gitdir, dir), { throwIfNoEntry: false });
    if (!st) return null;
    const rule = ruleOf(dir);
    if (!st.isDirectory() || st.isSymbolicLink()) throw damaged(damageLine(join(gitdir, dir), describe(join(gitdir, dir), st), 'dir', rule?.[1] ?? 'lsm makes it again'));
  }
  const full = join(gitdir, path);
  const hint = ruleOf(path)?.[1] ?? 'lsm makes it again';
  let fd: number;
  try { fd = openSync(full, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644); } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !(flags & constants.O_CREAT)) return null;
    const st = lstatSync(full, { throwIfNoEntry: false });
    if (st && !fits(st, 'file')) throw damaged(damageLine(full, describe(full, st), 'file', hint)); // ELOOP, EISDIR, ENXIO
    throw err;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) { closeSync(fd); throw damaged(damageLine(full, describe(full, st), 'file', hint)); } // swapped in after the lstat
  return fd;
}

/** The text of one file of lsm/ (a regular file: read to its end), null when not made yet; damage thrown as openCentral does. */
export function readCentral(gitdir: string, path: string): string | null {
  const fd = openCentral(gitdir, path);
  if (fd === null) return null;
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const buf = Buffer.allocUnsafe(1 << 16);
      const got = readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      chunks.push(buf.subarray(0, got));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally { closeSync(fd); }
}
