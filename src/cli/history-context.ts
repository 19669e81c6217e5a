// Reading the journal for history commands: caught up to HEAD first (taking the lock only when it
// is behind, which happens only after a scan was killed between commit and journal append).
import { catchUpJournal, readJournal, type JournalRecord } from '../store/journal.js';
import { lockRepository } from '../store/lock.js';
import { headCommit, requireRepo } from '../store/repo.js';

export async function readJournalCaughtUp(repoDir: string): Promise<JournalRecord[]> {
  const repo = requireRepo(repoDir);
  const head = await headCommit(repo);
  let records = readJournal(repo);
  if ((records[records.length - 1]?.c ?? null) !== head) {
    const lock = await lockRepository(repo.gitdir);
    try { await catchUpJournal(repo); } finally { lock.release(); }
    records = readJournal(repo);
  }
  return records;
}
