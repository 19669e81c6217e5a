// Commit a snapshot when, and only when, it differs from HEAD. The comparison is by blob ids
// against the HEAD tree, so the common no-change scan reads a few small objects and writes nothing.
import { igit } from './git.js';
import { existsSync, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { LsmError, ioError } from '../errors.js';
import { fileText } from '../snapshot/index.js';
import type { Change, FileChange, Snapshot } from '../types.js';
import { cleanTmp, mkdirp, writeFileAtomic } from './atomic-fs.js';
import { writeChecked } from '../safe-path.js';
import { fileChange, summarize } from './changes.js';
import { lockRepository } from './lock.js';
import { appendRecord, catchUpJournal, recordOf } from './journal.js';
import { packIfNeeded } from './pack.js';
import { crashPoint } from '../testing/crash-point.js';
import { BRANCH, headCommit, initRepo, linesBlobId, readBlobText, textLines, treeFiles, type Repo } from './repo.js';

// Present while HEAD may be ahead of the work tree (a scan killed between commit and checkout).
const STALE_WORKTREE = 'lsm-worktree-stale';

export interface CommitOptions {
  now?: number; // unix ms; tests pin it
  host?: string;
  lockWaitMs?: number;
}

export async function commitSnapshot(dir: string, snapshot: Snapshot, options: CommitOptions = {}): Promise<Change | null> {
  const repo = await initRepo(dir);
  const lock = await lockRepository(repo.gitdir, options.lockWaitMs);
  try {
    await cleanTmp(repo.gitdir);
    const head = await headCommit(repo);
    const headFiles = head ? await headTreeFiles(repo, head) : new Map<string, string>();
    if (existsSync(join(repo.gitdir, STALE_WORKTREE))) await syncWorktree(repo, await worktreeAndIndexFiles(repo), headFiles);

    const ids = new Map([...snapshot].map(([path, lines]) => [path, linesBlobId(lines)]));
    const changed = [...ids].some(([p, id]) => headFiles.get(p) !== id) || [...headFiles.keys()].some((p) => !ids.has(p));
    if (head && !changed) return null;
    // the text only of files that differ: what is written
    const texts = new Map([...snapshot].filter(([path]) => headFiles.get(path) !== ids.get(path)).map(([path, lines]) => [path, fileText(lines)]));

    const files: FileChange[] = [];
    for (const path of [...new Set([...headFiles.keys(), ...ids.keys()])].sort()) {
      const before = headFiles.get(path);
      if (before === ids.get(path)) continue;
      const old = before ? textLines(await readBlobText(repo, before)) : [];
      const fc = fileChange(path, old, snapshot.get(path) ?? []);
      if (fc) files.push(fc);
    }
    const summary = `${head ? '' : 'first snapshot '}${files.length ? summarize(files) : 'empty'}`;
    const now = Math.floor((options.now ?? Date.now()) / 1000) * 1000; // git keeps seconds
    const host = options.host ?? hostname();
    let commit: string;
    try {
      // new blobs written side by side: their fsyncs overlap instead of queueing
      const git = await igit();
      // (texts holds only the files that differ from HEAD)
      await Promise.all([...texts.values()].map((text) => git.writeBlob({ fs: repo.fs, gitdir: repo.gitdir, blob: Buffer.from(text, 'utf8') })));
      const tree = await writeTrees(repo, ids);
      crashPoint('commit-objects-written');
      writeChecked(join(repo.gitdir, STALE_WORKTREE), '');
      commit = await git.commit({
        fs: repo.fs, dir: repo.dir, gitdir: repo.gitdir, tree, parent: head ? [head] : [],
        ref: `refs/heads/${BRANCH}`, message: `${summary}\n`,
        author: { name: 'lsm', email: `lsm@${host}`, timestamp: Math.floor(now / 1000), timezoneOffset: new Date(now).getTimezoneOffset() },
      });
    } catch (err) {
      throw ioError(`cannot commit to ${dir}`, err);
    }
    crashPoint('commit-ref-updated');
    await syncWorktree(repo, headFiles, ids, texts);
    await writeTreeCache(repo, commit, ids);
    crashPoint('commit-worktree-written');
    const change = { commit, parent: head, time: now, summary, files };
    try {
      await catchUpJournal(repo, head);
      appendRecord(repo, recordOf(change));
      crashPoint('commit-journal-appended');
    } catch {
      // derived data: the next commit (or lsm reindex) catches the journal up from history
    }
    try {
      packIfNeeded(repo);
    } catch (err) {
      if (err instanceof LsmError) throw err; // a planted symlink: refused, loudly
      // a count toward the next repack, after the commit: what is written next (the spool) reports a full disk
    }
    return change;
  } finally {
    lock.release();
  }
}

// HEAD's files (path -> blob id), cached beside the journal: the no-change scan compares against
// it without loading isomorphic-git or inflating a tree (derived data, checked by commit id).
const TREE_CACHE = 'lsm/head-tree.json';

async function headTreeFiles(repo: Repo, head: string): Promise<Map<string, string>> {
  try {
    const cached = JSON.parse(await fsp.readFile(join(repo.gitdir, TREE_CACHE), 'utf8')) as { commit: string; files: Record<string, string> };
    if (cached.commit === head) return new Map(Object.entries(cached.files));
  } catch { /* missing or stale: read the tree */ }
  const files = await treeFiles(repo, head);
  await writeTreeCache(repo, head, files).catch(() => {});
  return files;
}

async function writeTreeCache(repo: Repo, commit: string, files: Map<string, string>): Promise<void> {
  mkdirp(join(repo.gitdir, 'lsm'));
  await writeFileAtomic(join(repo.gitdir, TREE_CACHE), JSON.stringify({ commit, files: Object.fromEntries(files) }), repo.gitdir, 0o644, 'none');
}

/**
 * Files in the work tree or the index, with no ids: every one is rewritten or deleted. The index
 * counts too: a scan killed between deleting a file and removing it from the index left an entry
 * that no work-tree file names.
 */
async function worktreeAndIndexFiles(repo: Repo): Promise<Map<string, string>> {
  const files = await worktreeFiles(repo.dir);
  for (const path of await (await igit()).listFiles({ fs: repo.fs, dir: repo.dir, gitdir: repo.gitdir, cache: repo.cache })) files.set(path, '');
  return files;
}

/** Files in the work tree (outside .git), with no ids. */
async function worktreeFiles(dir: string, prefix = ''): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const e of await fsp.readdir(join(dir, prefix), { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [p, id] of await worktreeFiles(dir, path)) files.set(p, id);
    else files.set(path, '');
  }
  return files;
}

/** Tree objects for path -> blob id, bottom-up; returns the root tree id. */
async function writeTrees(repo: Repo, ids: Map<string, string>): Promise<string> {
  type Dir = { files: Map<string, string>; dirs: Map<string, Dir> };
  const root: Dir = { files: new Map(), dirs: new Map() };
  for (const [path, id] of ids) {
    const parts = path.split('/');
    let d = root;
    for (const p of parts.slice(0, -1)) {
      if (!d.dirs.has(p)) d.dirs.set(p, { files: new Map(), dirs: new Map() });
      d = d.dirs.get(p)!;
    }
    d.files.set(parts[parts.length - 1], id);
  }
  const write = async (d: Dir): Promise<string> => {
    const blobs = [...d.files].map(([path, oid]) => ({ mode: '100644', path, oid, type: 'blob' as const }));
    const subtrees = await Promise.all([...d.dirs].map(async ([path, sub]) => ({ mode: '040000', path, oid: await write(sub), type: 'tree' as const })));
    const tree = [...blobs, ...subtrees];
    return (await igit()).writeTree({ fs: repo.fs, gitdir: repo.gitdir, tree });
  };
  return write(root);
}

/**
 * Bring the work tree and index to the committed snapshot: write what differs from `before`,
 * delete what is gone. Best effort: the next scan redoes it while the stale marker remains.
 */
async function syncWorktree(repo: Repo, before: Map<string, string>, after: Map<string, string>, texts?: Map<string, string>): Promise<void> {
  try {
    for (const [path, id] of after) {
      const full = join(repo.dir, path);
      if (before.get(path) === id && existsSync(full)) continue;
      const text = texts?.get(path) ?? (await readBlobText(repo, id));
      mkdirp(dirname(full)); // (a full disk says ENOSPC, not ENOENT)
      await writeFileAtomic(full, text, dirname(full), 0o644, 'none'); // the work tree: HEAD has it
      await (await igit()).add({ fs: repo.fs, dir: repo.dir, gitdir: repo.gitdir, filepath: path, cache: repo.cache });
      crashPoint('commit-worktree-file-written'); // the work tree half old, half new
    }
    for (const path of before.keys()) {
      if (after.has(path)) continue;
      await fsp.unlink(join(repo.dir, path)).catch(() => {});
      crashPoint('commit-worktree-file-unlinked'); // deleted, still in the index
      await (await igit()).remove({ fs: repo.fs, dir: repo.dir, gitdir: repo.gitdir, filepath: path, cache: repo.cache });
      // directories left empty go too, up to the work tree's root (a namespace gone: netns/ when it was the last)
      for (let d = dirname(join(repo.dir, path)); d !== repo.dir && d.startsWith(repo.dir + '/'); d = dirname(d)) {
        if (!(await fsp.rmdir(d).then(() => true, () => false))) break; // not empty
      }
    }
    await fsp.unlink(join(repo.gitdir, STALE_WORKTREE)).catch(() => {});
  } catch (err) {
    throw ioError(`committed, but cannot update the work tree of ${repo.dir}`, err);
  }
}
