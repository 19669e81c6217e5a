// Drift: what differs now (HEAD) from the approved baseline, and since when each difference stands.
import type { FileChange } from '../types.js';
import { baselineHistory, readBaseline, type BaselineMove } from './baseline.js';
import { blame } from './blame.js';
import { diffFiles } from './history.js';
import type { JournalRecord } from './journal-read.js';
import { headCommit, treeFiles, type Repo } from './repo.js';

/** since: unix ms; commit: the commit that added (or removed) it, null when the journal does not say */
export interface DriftLine { path: string; line: string; kind: 'added' | 'removed'; since: number; commit: string | null }
export interface Drift {
  baseline: string | null;
  head: string | null;
  approved: BaselineMove | null; // the move that set the baseline: who and when
  lines: DriftLine[];
}

export async function computeDrift(repo: Repo, records: JournalRecord[]): Promise<Drift> {
  const baseline = await readBaseline(repo);
  const head = await headCommit(repo);
  const moves = baselineHistory(repo);
  const approved = [...moves].reverse().find((m) => m.to === baseline) ?? null;
  if (!baseline || !head || baseline === head) return { baseline, head, approved, lines: [] };
  const files: FileChange[] = await diffFiles(repo, await treeFiles(repo, baseline), await treeFiles(repo, head));
  const wanted = new Set(files.flatMap((f) => [...f.added, ...f.removed].map((l) => `${f.path}\n${l}`)));
  const history = new Map(blame(records, (p, l) => wanted.has(`${p}\n${l}`)).map((b) => [`${b.path}\n${b.line}`, b]));
  const lines: DriftLine[] = [];
  for (const f of files) {
    for (const line of f.added) {
      const last = history.get(`${f.path}\n${line}`)?.intervals.pop();
      lines.push({ path: f.path, line, kind: 'added', since: last?.from.time ?? Date.now(), commit: last?.from.commit ?? null });
    }
    for (const line of f.removed) {
      const last = history.get(`${f.path}\n${line}`)?.intervals.pop();
      lines.push({ path: f.path, line, kind: 'removed', since: last?.to?.time ?? Date.now(), commit: last?.to?.commit ?? null });
    }
  }
  return { baseline, head, approved, lines };
}
