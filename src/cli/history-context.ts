// Reading the journal for history commands: caught up to HEAD first (taking the lock only when it
// is behind, which happens only after a scan was killed between commit and journal append; what
// catching up needs, isomorphic-git included, is loaded only then).
import { JournalDamaged, journalBytes, lastCommit, linesWith, parseRecords, type JournalRecord } from '../store/journal-read.js';
import { headCommit, requireRepo } from '../store/repo.js';

/** The journal's bytes, caught up: search them with linesWith / linesBackward, parse what is found. */
export async function journalCaughtUp(repoDir: string): Promise<Buffer> {
  const repo = requireRepo(repoDir);
  const head = await headCommit(repo);
  let buf = journalBytes(repo);
  if (lastCommit(buf) !== head) {
    const [{ lockRepository }, { catchUpJournal }] = await Promise.all([import('../store/lock.js'), import('../store/journal.js')]);
    const lock = await lockRepository(repo.gitdir);
    try { await catchUpJournal(repo); } finally { lock.release(); }
    buf = journalBytes(repo);
  }
  return buf;
}

export async function readJournalCaughtUp(repoDir: string): Promise<JournalRecord[]> {
  try {
    return [...parseRecords(linesWith(await journalCaughtUp(repoDir)))];
  } catch (err) {
    if (!(err instanceof JournalDamaged)) throw err;
    // derived data: rebuilt from history, and said so (a damaged line must not hide changes)
    const repo = requireRepo(repoDir);
    const [{ lockRepository }, { rebuildJournal }] = await Promise.all([import('../store/lock.js'), import('../store/journal.js')]);
    const lock = await lockRepository(repo.gitdir);
    try { await rebuildJournal(repo); } finally { lock.release(); }
    process.stderr.write('lsm: the journal held a damaged line: rebuilt it from history\n');
    return [...parseRecords(linesWith(journalBytes(repo)))];
  }
}
