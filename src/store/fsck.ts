// lsm verify's look at the repository: what `git fsck` finds (when git is installed) and what lsm
// itself knows to check: the index reads, the branch is there when earlier runs left traces, every
// loose object holds what its id says, the refs lsm keeps point to commits that read, and the
// journal matches history (which reads every commit, tree and blob of it).
import { igit, readRef, RefDamaged } from './git.js';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { damagedLooseObjects, damagedPackIndexes, damageText, isGitDamage } from './damage.js';
import { verifyJournal } from './journal.js';
import { layoutDamage, layoutLines } from './layout.js';
import { findGit } from './pack.js';
import { ALERTED_REF, earlierRunTraces, indexIntact } from './recover.js';
import { BASELINE_REF, BRANCH, HEAD_TEXT, headCommit, headNotBranch, refsFilesDamage, type Repo } from './repo.js';

export interface RepositoryCheck {
  damage: string[]; // the repository is damaged (exit 65)
  journal: string | null; // the journal differs from history (exit 1: lsm reindex)
}

const FSCK_LINES = 10;

export async function checkRepository(repo: Repo): Promise<RepositoryCheck> {
  const damage: string[] = [];
  const git = findGit();
  if (git) {
    const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    const r = spawnSync(git, ['-C', repo.dir, 'fsck', '--no-dangling', '--no-progress'], { encoding: 'utf8', timeout: 600_000, maxBuffer: 16 << 20 });
    if (r.status !== 0) {
      const lines = `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
      damage.push(...lines.slice(0, FSCK_LINES).map((l) => `git fsck: ${l}`));
      if (lines.length > FSCK_LINES) damage.push(`git fsck: ... and ${lines.length - FSCK_LINES} more lines (git -C ${repo.dir} fsck)`);
      if (lines.length === 0) damage.push(`git fsck failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    }
  }
  for (const line of layoutLines(layoutDamage(repo.gitdir))) damage.push(`${line}, not what lsm made: lsm never reads or writes through it (the next lsm -c moves it aside)`);
  const wrongHead = headNotBranch(repo);
  if (wrongHead !== null) damage.push(`.git/HEAD ${wrongHead}, not ${JSON.stringify(HEAD_TEXT.trim())}: git's tools do not see lsm's history (the next lsm -c sets it back)`);
  const refsFiles = refsFilesDamage(repo);
  if (refsFiles?.packedRefs) damage.push(`.git/packed-refs ${refsFiles.packedRefs}: git log and git fsck fail on it (the next lsm -c rewrites it with its valid lines)`);
  if (refsFiles?.config) damage.push(`.git/config ${refsFiles.config}: git log and git fsck fail on it (the next lsm -c sets it back)`);
  if (!indexIntact(repo)) damage.push(`the index ${join(repo.gitdir, 'index')} is not a git index (the next commit rebuilds it; git read-tree HEAD does now)`);
  for (const idx of damagedPackIndexes(repo.gitdir)) damage.push(`the pack index ${idx} is corrupt (the next lsm -c makes it again from its pack)`);
  for (const [oid, path] of damagedLooseObjects(repo.gitdir)) damage.push(`object ${oid} is corrupt: its content does not match its id (${path})`);
  let head: string | null = null;
  let headDamaged = false;
  try { head = await headCommit(repo); } catch (err) { damage.push((err as Error).message); headDamaged = true; }
  const traces = earlierRunTraces(repo);
  if (head === null && !headDamaged && traces.length) damage.push(`refs/heads/${BRANCH} is missing although ${traces.join(', ')} remain from earlier runs (the next lsm -c alerts and repairs it)`);
  const g = await igit();
  for (const ref of [ALERTED_REF, BASELINE_REF]) {
    let oid: string | null = null;
    try { oid = readRef(repo.gitdir, ref); } catch (err) { damage.push((err as Error).message); }
    if (!oid) continue;
    try { await g.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache }); } catch (err) {
      if (!isGitDamage(err)) throw err;
      damage.push(`${ref} points to ${oid}, which does not read: ${damageText(err, repo.gitdir)}`);
    }
  }
  let journal: string | null = null;
  try {
    journal = await verifyJournal(repo);
  } catch (err) {
    if (err instanceof RefDamaged) { damage.push(err.message); return { damage: [...new Set(damage)], journal }; }
    if (!isGitDamage(err)) throw err;
    damage.push(`history from HEAD does not read: ${damageText(err, repo.gitdir)}`);
  }
  return { damage: [...new Set(damage)], journal };
}
