// Commit a snapshot when, and only when, it differs from HEAD. The comparison is by blob ids
// against the HEAD tree, so the common no-change scan reads a few small objects and writes nothing.
import { igit, readRef, RefDamaged } from './git.js';
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
import { crashPoint } from '../testing/crash-point.js';
import { BASELINE_REF, BRANCH, HEAD_TEXT, headCommit, headNotBranch, initRepo, refsFilesDamage, repairRefsFiles, linesBlobId, readBlobText, textLines, treeFiles, type Repo } from './repo.js';
import { asDamage, damageText, isGitDamage, RepositoryDamaged } from './damage.js';
import { readTreeCache, writeTreeCache, writeTrees } from './tree.js';
import { layoutDamage, repairLayout } from './layout.js';

// What only a commit or a repair uses: the no-change scan (cron's lsm -c) does not load it.
const writing = () => Promise.all([import('./journal.js'), import('./pack.js'), import('./recover.js')]);

// Present while HEAD may be ahead of the work tree (a scan killed between commit and checkout).
const STALE_WORKTREE = 'lsm-worktree-stale';

export interface CommitOptions {
  now?: number; // unix ms; tests pin it
  host?: string;
  lockWaitMs?: number;
  clockStep?: string; // a step of the wall clock this run measured (run/clock.ts): one more line of the message
}

export async function commitSnapshot(dir: string, snapshot: Snapshot, options: CommitOptions = {}): Promise<Change | null> {
  const repo = await initRepo(dir);
  const lock = await lockRepository(repo.gitdir, options.lockWaitMs);
  try {
    // set right first, before anything is read or written through them: the paths lsm made (a link
    // planted there is never followed), packed-refs and config (git fails fatally on a line it refuses)
    const fixed: string[] = [];
    const layout = layoutDamage(repo.gitdir);
    if (layout.length) fixed.push(...repairLayout(repo.gitdir, layout));
    await cleanTmp(repo.gitdir);
    const refsFiles = refsFilesDamage(repo);
    if (refsFiles) fixed.push(...await repairRefsFiles(repo, refsFiles));
    const damage: string[] = []; // what was found damaged, and what was done about it
    let head: string | null = null;
    let refDamaged = false;
    try { head = await headCommit(repo); } catch (err) {
      if (!(err instanceof RefDamaged)) throw err;
      damage.push(`refs/heads/${BRANCH} is damaged (${JSON.stringify(err.text)}; overwritten by this commit)`);
      refDamaged = true;
    }
    let headFiles = new Map<string, string>();
    if (refDamaged) { /* a repair, below */ } else if (head === null) {
      // a repository is new only with no trace of an earlier run: else its branch was lost
      const traces = (await import('./recover.js')).earlierRunTraces(repo);
      if (traces.length) damage.push(`refs/heads/${BRANCH} is missing (${traces.join(', ')} remain from earlier runs)`);
    } else {
      try { headFiles = await headTreeFiles(repo, head); } catch (err) { damage.push(`HEAD ${head.slice(0, 10)}: ${whatFailed(err, repo)}`); }
    }
    const ids = new Map([...snapshot].map(([path, lines]) => [path, linesBlobId(lines)]));
    let changed = [...ids].some(([p, id]) => headFiles.get(p) !== id) || [...headFiles.keys()].some((p) => !ids.has(p));
    const stale = existsSync(join(repo.gitdir, STALE_WORKTREE));
    let wrongHead = headNotBranch(repo); // lsm reads the branch itself, but git log and every git tool read HEAD
    if (head && !changed && !stale && damage.length === 0 && wrongHead === null && fixed.length === 0) return null; // the common case: nothing read, nothing written
    const [{ appendRecord, catchUpJournal, recordOf, stampNewest }, { packIfNeeded }, { DAMAGED_DIR, indexIntact, keepJournal, moveDamagedObjects, moveHeadDirAside, moveIndexAside, rebuildPackIndexes, recoverParent, REPAIR_PREFIX }] = await writing();
    // about to write on top of HEAD: it must read whole (the cache above spared reading its trees),
    // and so must the blobs the diff reads (a damaged one must be repaired, not lose the alert)
    const oldTexts = new Map<string, string>(); // blob id -> text
    if (head && damage.length === 0 && changed) {
      try {
        await treeFiles(repo, head);
        for (const [path, id] of headFiles) if (ids.get(path) !== id) oldTexts.set(id, await readBlobText(repo, id));
      } catch (err) { damage.push(`HEAD ${head.slice(0, 10)}: ${whatFailed(err, repo)}`); }
    }
    const historyDamaged = damage.length > 0;
    damage.unshift(...fixed);
    let indexRebuilt = false;
    if (!indexIntact(repo)) {
      damage.push(`the index ${join(repo.gitdir, 'index')} is not a git index (moved to ${moveIndexAside(repo)}; rebuilt from the snapshot)`);
      indexRebuilt = true;
    }
    if (wrongHead !== null) {
      const movedTo = moveHeadDirAside(repo);
      if (movedTo) wrongHead += ` (a directory, moved to ${movedTo})`;
      await writeFileAtomic(join(repo.gitdir, 'HEAD'), HEAD_TEXT, repo.gitdir);
      damage.push(`.git/HEAD ${wrongHead}, not ${JSON.stringify(HEAD_TEXT.trim())}: git's tools did not see lsm's history (set back)`);
    }
    let parent = head;
    if (historyDamaged) {
      damage.push(...await rebuildPackIndexes(repo));
      const moved = moveDamagedObjects(repo);
      if (moved.length) damage.push(`${moved.length} corrupt loose object${moved.length === 1 ? '' : 's'} (${moved.map((o) => o.slice(0, 10)).join(', ')}) moved to ${join(repo.gitdir, DAMAGED_DIR)}`);
      // every blob of this snapshot written first: one damaged with the same content is whole again
      await writeBlobs(repo, [...snapshot.values()].map(fileText));
      const found = await recoverParent(repo, head);
      parent = found.parent;
      headFiles = found.files;
      if (parent === head && head) damage.push(`HEAD ${head.slice(0, 10)} reads whole again: this commit continues from it`);
      else if (parent) damage.push(`this commit continues from ${parent.slice(0, 10)}, the newest commit that reads whole (from ${found.source})${head ? `, not from HEAD ${head.slice(0, 10)}` : ''}`);
      else damage.push(`no commit lsm made reads whole (${found.tips.length ? `the newest known: ${found.tips[0].oid.slice(0, 10)}, from ${found.tips[0].source}` : 'none is known'}): this commit starts a new history and holds the full state`);
      const baseline = readBaselineSafe(repo);
      if (baseline && !(await readsCommit(repo, baseline))) damage.push(`the baseline ${baseline.slice(0, 10)} does not read: lsm -g approves the current state again`);
      changed = true;
    } else if (stale && !indexRebuilt) {
      await syncWorktree(repo, await worktreeAndIndexFiles(repo), headFiles);
      if (!changed) return null;
    }
    // the text only of files that differ: what is written (all of them when the work tree is rebuilt)
    const rewrite = damage.length > 0;
    const texts = new Map([...snapshot].filter(([path]) => rewrite || headFiles.get(path) !== ids.get(path)).map(([path, lines]) => [path, fileText(lines)]));

    const files: FileChange[] = [];
    for (const path of [...new Set([...headFiles.keys(), ...ids.keys()])].sort()) {
      const before = headFiles.get(path);
      if (before === ids.get(path)) continue;
      const old = before ? textLines(oldTexts.get(before) ?? await readBlobText(repo, before)) : [];
      const fc = fileChange(path, old, snapshot.get(path) ?? []);
      if (fc) files.push(fc);
    }
    const what = files.length ? summarize(files) : 'empty';
    const summary = damage.length ? `${REPAIR_PREFIX}: ${damageKind(damage[0])}; ${parent ? '' : 'the full state: '}${what}`
      : `${parent ? '' : 'first snapshot '}${what}`;
    const now = Math.floor((options.now ?? Date.now()) / 1000) * 1000; // git keeps seconds
    // a clock stepped back (a host booted before its time was set, a wrong NTP server): the commit
    // keeps the clock's word, and its message and the run say it; the journal keeps the walk right
    const before = parent ? await commitTime(repo, parent) : null;
    const stepped = before !== null && now < before;
    const clockSaid = (commit: string) => `the clock read ${new Date(now).toISOString()}, before the previous commit's ${new Date(before!).toISOString()} (stepped back by ${Math.round((before! - now) / 1000)} s): commit ${commit}stamped as the clock read; set the clock (timedatectl, NTP)`;
    const body = (damage.length ? `\n${damage.map((d) => `- ${d}`).join('\n')}\nCheck the rest with: git -C ${dir} fsck; lsm verify --repo ${dir}\n` : '')
      + (stepped ? `\n${clockSaid('')}\n` : '') + (options.clockStep ? `\n${options.clockStep}\n` : '');
    const host = options.host ?? hostname();
    let commit: string;
    try {
      const git = await igit();
      await writeBlobs(repo, [...texts.values()]); // (only the files that differ from HEAD, unless rebuilding)
      const tree = await writeTrees(repo, ids);
      crashPoint('commit-objects-written');
      writeChecked(join(repo.gitdir, STALE_WORKTREE), '');
      commit = await git.commit({
        fs: repo.fs, dir: repo.dir, gitdir: repo.gitdir, tree, parent: parent ? [parent] : [],
        ref: `refs/heads/${BRANCH}`, message: `${summary}\n${body}`,
        author: { name: 'lsm', email: `lsm@${host}`, timestamp: Math.floor(now / 1000), timezoneOffset: new Date(now).getTimezoneOffset() },
      });
    } catch (err) {
      throw isGitDamage(err) ? asDamage(err, dir) : ioError(`cannot commit to ${dir}`, err);
    }
    crashPoint('commit-ref-updated');
    // after damage the work tree and index are rewritten whole: neither is to be trusted
    await syncWorktree(repo, rewrite ? await worktreeFiles(repo.dir) : headFiles, ids, texts);
    await writeTreeCache(repo, commit, ids);
    crashPoint('commit-worktree-written');
    const change: Change = { commit, parent, time: now, summary, files };
    if (stepped) change.clock = clockSaid(`${commit.slice(0, 10)} `);
    if (damage.length) change.damage = new RepositoryDamaged({ repo: dir, what: `${damage.join('; ')}; alerted as commit ${commit.slice(0, 10)}` }).message;
    try {
      if (historyDamaged) keepJournal(repo);
      const newest = await catchUpJournal(repo, parent);
      appendRecord(repo, stampNewest(recordOf(change), newest).rec);
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

/** A commit's time (unix ms); null when it does not read (the damage paths say why). */
async function commitTime(repo: Repo, oid: string): Promise<number | null> {
  try { return (await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache })).commit.committer.timestamp * 1000; } catch { return null; }
}

function readBaselineSafe(repo: Repo): string | null {
  try { return readRef(repo.gitdir, BASELINE_REF); } catch { return null; }
}

async function readsCommit(repo: Repo, oid: string): Promise<boolean> {
  try { await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache }); return true; } catch (err) { if (isGitDamage(err)) return false; throw err; }
}

/** What a read of HEAD met, in lsm's words; anything but damage (EACCES, EIO) goes up as it is. */
function whatFailed(err: unknown, repo: Repo): string {
  if (!isGitDamage(err)) throw err;
  return damageText(err, repo.gitdir);
}

/** The first damage, short, for the commit's first line: what kind, not the whole story. */
function damageKind(first: string): string {
  if (first.startsWith('refs/heads/')) return `refs/heads/${BRANCH} was ${first.includes('is missing') ? 'missing' : 'damaged'}`;
  if (first.startsWith('the index')) return 'the index was not a git index';
  if (first.startsWith('.git/HEAD')) return '.git/HEAD did not name the branch';
  if (/^\.git\/(packed-refs|config) (line|is larger)/.test(first)) return `${first.split(' ')[0]} had a line git refuses`;
  if (first.startsWith('.git/')) return `${first.split(' ')[0]} was not what lsm made`;
  const m = /(object [0-9a-f]{10})[0-9a-f]* is (corrupt|missing)|pack .* is corrupt/.exec(first);
  return m ? (m[1] ? `${m[1]} was ${m[2]}` : 'a pack was corrupt') : 'HEAD did not read';
}

/** New blobs written side by side: their fsyncs overlap instead of queueing. */
async function writeBlobs(repo: Repo, texts: string[]): Promise<void> {
  const git = await igit();
  await Promise.all(texts.map((text) => git.writeBlob({ fs: repo.fs, gitdir: repo.gitdir, blob: Buffer.from(text, 'utf8') })));
}

/** HEAD's files (path -> blob id), from the cache when it is of HEAD, else read from its tree. */
async function headTreeFiles(repo: Repo, head: string): Promise<Map<string, string>> {
  const cached = await readTreeCache(repo);
  if (cached?.commit === head) return cached.files;
  const files = await treeFiles(repo, head);
  await writeTreeCache(repo, head, files).catch(() => {});
  return files;
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
