// The journal: .git/lsm/journal.jsonl, one record per commit, oldest first, each naming the lines
// the commit added and removed. It answers blame (first seen, last seen, every interval) and log
// filters without reading a single blob: isomorphic-git has no blame, and walking every blob of a
// long history costs seconds per question. Each commit appends one record (cost flat in history
// size). It is derived data, never the only copy of anything: `lsm reindex` rebuilds it from
// history and `lsm verify` checks it against history; a journal that fell behind HEAD (a scan
// killed between commit and append) is caught up from the commits it misses.
import { igit } from './git.js';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, readSync } from 'node:fs';
import { appendChecked, openChecked, truncateChecked } from '../safe-path.js';
import { dirname } from 'node:path';
import type { Change, FileChange } from '../types.js';
import { writeFileAtomic } from './atomic-fs.js';
import { fileChange } from './changes.js';
import { journalBytes, journalPath, linesWith, parseRecord, stampNewest, type JournalRecord } from './journal-read.js';
import { headCommit, readBlobText, textLines, type Repo } from './repo.js';

export { stampNewest } from './journal-read.js';

export function recordOf(change: Change): JournalRecord {
  return {
    c: change.commit, p: change.parent, t: change.time, s: change.summary,
    a: change.files.flatMap((f) => f.added.map((l) => [f.path, l] as [string, string])),
    r: change.files.flatMap((f) => f.removed.map((l) => [f.path, l] as [string, string])),
  };
}

/**
 * The commit of the last complete record, reading only the file's tail: 64 KiB, more only when a
 * record is longer (reading a fixed 1 MiB tail made a commit 2-3 ms slower once history grew).
 */
function tailCommit(path: string): { commit: string | null; goodLength: number; newest: number } {
  let fd: number;
  try { fd = openChecked(path, constants.O_RDONLY); } catch { return { commit: null, goodLength: 0, newest: -Infinity }; }
  try {
    const size = fstatSync(fd).size;
    for (let want = Math.min(size, 1 << 16); ; want = Math.min(size, want * 4)) {
      const buf = Buffer.alloc(want);
      readSync(fd, buf, 0, want, size - want);
      const text = buf.toString('utf8');
      const end = text.lastIndexOf('\n');
      // (end 0: lastIndexOf from -1 would find that same newline at 0, not the one before it)
      const start = end <= 0 ? -1 : text.lastIndexOf('\n', end - 1);
      if (start < 0 && want < size) continue; // the last record starts before this window
      if (end < 0) return { commit: null, goodLength: 0, newest: -Infinity };
      // (anything after the last newline is a torn or foreign tail: goodLength leaves it out)
      const rec = parseRecord(text.slice(start + 1, end));
      return rec ? { commit: rec.c, goodLength: size - want + end + 1, newest: Math.max(rec.t, rec.m ?? -Infinity) } : { commit: null, goodLength: 0, newest: -Infinity };
    }
  } finally {
    closeSync(fd);
  }
}

export function appendRecord(repo: Repo, rec: JournalRecord): void {
  mkdirSync(dirname(journalPath(repo)), { recursive: true });
  appendChecked(journalPath(repo), JSON.stringify(rec) + '\n');
}

/**
 * Records for every commit from the root to `head` (or from `stopAt`, excluded), oldest first,
 * read from history. Trees and blobs are read once each by id (unchanged subtrees and files share
 * ids from commit to commit), so a rebuild reads each object once, not once per commit.
 */
export async function recordsFromHistory(repo: Repo, head: string | null, stopAt: string | null = null, newestBefore = -Infinity): Promise<JournalRecord[] | null> {
  const git = await igit();
  const commits: { oid: string; parent: string | null; time: number; summary: string; tree: string }[] = [];
  let oid: string | undefined = head ?? undefined;
  while (oid && oid !== stopAt) {
    const { commit } = await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    commits.push({ oid, parent: commit.parent[0] ?? null, time: commit.committer.timestamp * 1000, summary: commit.message.split('\n')[0], tree: commit.tree });
    oid = commit.parent[0];
  }
  // stopAt is not an ancestor of head (or head is none: a branch deleted by hand)
  if (stopAt && oid !== stopAt) return null;
  const trees = new Map<string, Map<string, string>>(); // tree id -> path -> blob id (flattened)
  const flatten = async (oid: string): Promise<Map<string, string>> => {
    const known = trees.get(oid);
    if (known) return known;
    const files = new Map<string, string>();
    const { tree } = await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    for (const e of tree) {
      if (e.type === 'blob') files.set(e.path, e.oid);
      else if (e.type === 'tree') for (const [p, b] of await flatten(e.oid)) files.set(`${e.path}/${p}`, b);
    }
    trees.set(oid, files);
    return files;
  };
  const blobs = new Map<string, string[]>();
  const lines = async (oid: string | undefined): Promise<string[]> => {
    if (!oid) return [];
    let l = blobs.get(oid);
    if (!l) { l = textLines(await readBlobText(repo, oid)); blobs.set(oid, l); }
    return l;
  };
  const records: JournalRecord[] = [];
  commits.reverse();
  let before = commits[0]?.parent ? await flatten((await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid: commits[0].parent, cache: repo.cache })).commit.tree) : new Map<string, string>();
  for (const c of commits) {
    const after = await flatten(c.tree);
    const files: FileChange[] = [];
    for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      if (before.get(path) === after.get(path)) continue;
      const fc = fileChange(path, await lines(before.get(path)), await lines(after.get(path)));
      if (fc) files.push(fc);
    }
    const stamped = stampNewest(recordOf({ commit: c.oid, parent: c.parent, time: c.time, summary: c.summary, files }), newestBefore);
    records.push(stamped.rec);
    newestBefore = stamped.newest;
    before = after;
    if (blobs.size > 4096) blobs.clear(); // bounded memory on long histories
  }
  return records;
}

/** Rewrite the whole journal from history (lsm reindex). Call under the lock. */
export async function rebuildJournal(repo: Repo, head?: string | null): Promise<number> {
  return (await writeJournalFromHistory(repo, head)).length;
}

async function writeJournalFromHistory(repo: Repo, head?: string | null): Promise<JournalRecord[]> {
  const records = (await recordsFromHistory(repo, head === undefined ? await headCommit(repo) : head))!;
  mkdirSync(dirname(journalPath(repo)), { recursive: true });
  await writeFileAtomic(journalPath(repo), records.map((r) => JSON.stringify(r) + '\n').join(''), repo.gitdir, 0o644, 'none');
  return records;
}

/**
 * Make the journal end at `head` (default HEAD): append the records of the commits it misses, or
 * rebuild it when its last record is not in head's history. Call under the lock.
 */
export async function catchUpJournal(repo: Repo, head?: string | null): Promise<number> {
  const target = head === undefined ? await headCommit(repo) : head;
  const path = journalPath(repo);
  const tail = tailCommit(path);
  let size = 0;
  try { size = lstatSync(path).size; } catch { /* none */ }
  // a tail with no newline (torn, or garbage) is cut first: the next record would be glued to it
  if (tail.commit === target && tail.goodLength === size) return tail.newest;
  try { truncateChecked(path, tail.goodLength); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
  const missing = tail.commit ? await recordsFromHistory(repo, target, tail.commit, tail.newest) : null;
  // up to target, not HEAD: a commit catches up to its parent, then appends its own record
  if (missing === null) return newestOf(await writeJournalFromHistory(repo, target));
  for (const rec of missing) appendRecord(repo, rec);
  return missing.length ? newestOf(missing) : tail.newest;
}

/** The newest commit time of these records (the last one's, with its m). */
function newestOf(records: JournalRecord[]): number {
  const last = records.at(-1);
  return last ? Math.max(last.t, last.m ?? -Infinity) : -Infinity;
}

/**
 * null when the journal matches history, else what differs (lsm verify). Records are compared as
 * text: searching the bytes (linesWith) relies on each record being written as JSON.stringify
 * writes it, so a record equal in value but written otherwise does not match either.
 */
export async function verifyJournal(repo: Repo): Promise<string | null> {
  const want = (await recordsFromHistory(repo, await headCommit(repo)))!;
  const have = [...linesWith(journalBytes(repo))];
  if (have.length !== want.length) return `the journal has ${have.length} records, history ${want.length} commits`;
  for (let i = 0; i < want.length; i++) {
    if (have[i] !== JSON.stringify(want[i])) return `record ${i + 1} (commit ${want[i].c.slice(0, 10)}) does not match history`;
  }
  return null;
}
