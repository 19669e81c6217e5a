// What differs between two snapshots. Lines within a file are unique and sorted, so added and
// removed lines come from a set difference: exact and linear, whatever the size of the change.
import type { FileChange } from '../types.js';

export function fileChange(path: string, before: string[], after: string[]): FileChange | null {
  const old = new Set(before);
  const now = new Set(after);
  const added = after.filter((l) => !old.has(l));
  const removed = before.filter((l) => !now.has(l));
  return added.length || removed.length ? { path, added, removed } : null;
}

/** '+2 -1: host/tcp +1, host/unix +1 -1' */
export function summarize(files: FileChange[]): string {
  const plus = files.reduce((n, f) => n + f.added.length, 0);
  const minus = files.reduce((n, f) => n + f.removed.length, 0);
  const parts = files.map((f) => [f.path, f.added.length ? `+${f.added.length}` : '', f.removed.length ? `-${f.removed.length}` : ''].filter(Boolean).join(' '));
  return `+${plus} -${minus}: ${parts.join(', ')}`;
}
