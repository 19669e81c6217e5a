// What lsm knows it had, for a repository found damaged: the commits it made (the branch, the tree
// cache, the reflog, the journal, refs/lsm/alerted, the record of spooled commits, the baseline),
// and which of them can still be read whole. A repository is new only when none of these exists;
// otherwise a missing branch or an unreadable HEAD is damage, repaired on top of the newest commit
// still whole (or, with none, a new history whose first commit says where the old one ended).
import { igit, readRef } from './git.js';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { damagedLooseObjects, damagedPackIndexes, damageText, isGitDamage } from './damage.js';
import { journalBytes, linesBackward, parseRecord } from './journal-read.js';
import { BASELINE_REF, BRANCH, treeFiles, type Repo } from './repo.js';
import { readTreeCache, writeTrees } from './tree.js';

export const ALERTED_REF = 'refs/lsm/alerted';
export const SPOOLED_LOG = 'lsm/spooled';
/** Damaged files moved aside (never deleted: they are evidence), under .git */
export const DAMAGED_DIR = 'lsm/damaged';
/** The first line of a commit that repaired a damaged repository starts so (the alert's summary). */
export const REPAIR_PREFIX = 'repository damaged';

export const isRepairMessage = (message: string) => message.startsWith(REPAIR_PREFIX);

function nonEmpty(path: string): boolean {
  try { return statSync(path).size > 0; } catch { return false; }
}

function refExists(repo: Repo, ref: string): boolean {
  try { return readRef(repo.gitdir, ref) !== null; } catch { return true; } // damaged: still a trace
}

/** The traces of earlier lsm runs this repository holds (names for a message); none: it is new. */
export function earlierRunTraces(repo: Repo): string[] {
  const g = repo.gitdir;
  const traces: [string, boolean][] = [
    [ALERTED_REF, refExists(repo, ALERTED_REF)],
    [BASELINE_REF, refExists(repo, BASELINE_REF)],
    ['the journal', nonEmpty(join(g, 'lsm', 'journal.jsonl'))],
    ['the record of alerted commits', nonEmpty(join(g, SPOOLED_LOG))],
    ['the tree cache', nonEmpty(join(g, 'lsm', 'head-tree.json'))],
    ['the reflog', nonEmpty(join(g, 'logs', 'refs', 'heads', BRANCH))],
  ];
  return traces.filter(([, found]) => found).map(([name]) => name);
}

const OID = /^[0-9a-f]{40}$/;

function lines(path: string): string[] {
  try { return readFileSync(path, 'utf8').split('\n'); } catch { return []; }
}

/** Commits lsm made, newest first as far as each source can tell, each with where it was found. */
export async function knownTips(repo: Repo, head: string | null): Promise<{ oid: string; source: string }[]> {
  const found: { oid: string; source: string }[] = [];
  const add = (oid: string | null | undefined, source: string) => { if (oid && OID.test(oid) && !found.some((f) => f.oid === oid)) found.push({ oid, source }); };
  const ref = (name: string) => { try { return readRef(repo.gitdir, name); } catch { return null; } };
  add(head, `refs/heads/${BRANCH}`);
  add((await readTreeCache(repo))?.commit, 'the tree cache');
  for (const l of lines(join(repo.gitdir, 'logs', 'refs', 'heads', BRANCH)).reverse().slice(0, 50)) add(l.split(' ')[1], 'the reflog');
  let n = 0;
  for (const l of linesBackward(journalBytes(repo))) {
    const rec = parseRecord(l);
    if (rec) { add(rec.c, 'the journal'); add(rec.p, 'the journal'); }
    if (++n >= 50) break;
  }
  add(ref(ALERTED_REF), ALERTED_REF);
  for (const l of lines(join(repo.gitdir, SPOOLED_LOG)).reverse().slice(0, 50)) add(l, 'the record of alerted commits');
  add(ref(BASELINE_REF), BASELINE_REF);
  return found;
}

/**
 * A commit's files when the commit, its trees and every blob read whole; null when any is damaged
 * or missing. Trees that are damaged are written again from the tree cache when it is of this
 * commit and gives the same root tree id (then they are whole again).
 */
export async function wholeFiles(repo: Repo, oid: string): Promise<Map<string, string> | null> {
  const git = await igit();
  try {
    const { commit } = await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    let files: Map<string, string>;
    try {
      files = await treeFiles(repo, oid);
    } catch (err) {
      if (!isGitDamage(err)) throw err;
      const cached = await readTreeCache(repo);
      if (cached?.commit !== oid || (await writeTrees(repo, cached.files)) !== commit.tree) return null;
      repo.cache = {}; // isomorphic-git may keep what it read before the rewrite
      files = await treeFiles(repo, oid);
    }
    for (const blob of new Set(files.values())) await git.readBlob({ fs: repo.fs, gitdir: repo.gitdir, oid: blob, cache: repo.cache });
    return files;
  } catch (err) {
    if (isGitDamage(err)) return null;
    throw err;
  }
}

/** The newest commit lsm made that reads whole, and its files; parent null: none does. */
export async function recoverParent(repo: Repo, head: string | null): Promise<{ parent: string | null; files: Map<string, string>; source: string | null; tips: { oid: string; source: string }[] }> {
  const tips = await knownTips(repo, head);
  for (const tip of tips.slice(0, 40)) {
    const files = await wholeFiles(repo, tip.oid);
    if (files) return { parent: tip.oid, files, source: tip.source, tips };
  }
  return { parent: null, files: new Map(), source: null, tips };
}

function moveAside(repo: Repo, path: string, name: string): string {
  const dir = join(repo.gitdir, DAMAGED_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const to = join(dir, `${name}.${Date.now()}`);
  renameSync(path, to);
  return to;
}

/**
 * Move damaged loose objects to .git/lsm/damaged: isomorphic-git never writes an object whose
 * file exists, so the same object could never be made whole again. Returns their ids.
 */
export function moveDamagedObjects(repo: Repo): string[] {
  const moved: string[] = [];
  for (const [oid, path] of damagedLooseObjects(repo.gitdir)) { moveAside(repo, path, oid); moved.push(oid); }
  if (moved.length) repo.cache = {};
  return moved;
}

/**
 * Pack indexes that are not whole, moved aside and made again from their packs (a .idx is derived
 * data: a truncated one need not cost the history). Returns what was done, one line each.
 */
export async function rebuildPackIndexes(repo: Repo): Promise<string[]> {
  const done: string[] = [];
  for (const idx of damagedPackIndexes(repo.gitdir)) {
    const movedTo = moveAside(repo, idx, basename(idx));
    try {
      await (await igit()).indexPack({ fs: repo.fs, dir: repo.dir, gitdir: repo.gitdir, filepath: relative(repo.dir, idx.replace(/\.idx$/, '.pack')), cache: repo.cache });
      done.push(`the pack index ${idx} was corrupt (moved to ${movedTo}; made again from its pack)`);
    } catch (err) {
      if (!isGitDamage(err)) throw err;
      done.push(`the pack index ${idx} was corrupt (moved to ${movedTo}); its pack does not index either: ${damageText(err, repo.gitdir)}`);
    }
  }
  if (done.length) repo.cache = {};
  return done;
}

/** Whether .git/index is a git index (its signature, version and checksum); a missing one is. */
export function indexIntact(repo: Repo): boolean {
  let buf: Buffer;
  try { buf = readFileSync(join(repo.gitdir, 'index')); } catch (err) { return (err as NodeJS.ErrnoException).code === 'ENOENT'; }
  if (buf.length < 32 || buf.toString('latin1', 0, 4) !== 'DIRC') return false;
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) return false;
  return createHash('sha1').update(buf.subarray(0, buf.length - 20)).digest().equals(buf.subarray(buf.length - 20));
}

/** Move a damaged index aside (rebuilt by the caller from the snapshot); returns where it went. */
export function moveIndexAside(repo: Repo): string {
  return moveAside(repo, join(repo.gitdir, 'index'), 'index');
}

/** Move a .git/HEAD that is a directory aside (a file is written in its place); returns where it went. */
export function moveHeadDirAside(repo: Repo): string | null {
  const path = join(repo.gitdir, 'HEAD');
  try { if (!lstatSync(path).isDirectory()) return null; } catch { return null; }
  return moveAside(repo, path, 'HEAD');
}

/** Move the journal aside before a repaired history's journal is rebuilt (it knew the old history). */
export function keepJournal(repo: Repo): void {
  const path = join(repo.gitdir, 'lsm', 'journal.jsonl');
  if (existsSync(path)) moveAside(repo, path, 'journal.jsonl');
}
