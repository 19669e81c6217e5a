// Reading the journal for history commands: caught up to HEAD first (taking the lock only when it
// is behind, which happens only after a scan was killed between commit and journal append; what
// catching up needs, isomorphic-git included, is loaded only then).
import { journalBytes, lastCommit, linesWith, parseRecords, type JournalRecord } from '../store/journal-read.js';
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
  return [...parseRecords(linesWith(await journalCaughtUp(repoDir)))];
}
