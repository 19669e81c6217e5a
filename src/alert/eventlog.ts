// The event log: one JSON object per change, appended with O_APPEND in a single write, for log
// shippers and SIEMs. Fields: time, host, commit, parent, summary, added/removed [{path, line,
// owners}], repo.
import { mkdirSync } from 'node:fs';
import { appendChecked } from '../safe-path.js';
import { dirname } from 'node:path';
import type { Alert } from './message.js';

export function eventRecord(a: Alert): object {
  return {
    time: new Date(a.time).toISOString(), host: a.host, commit: a.commit, parent: a.parent, summary: a.summary,
    added: a.added, removed: a.removed.map(({ path, line }) => ({ path, line })), repo: a.repo,
  };
}

export function appendEvent(path: string, a: Alert): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  appendChecked(path, JSON.stringify(eventRecord(a)) + '\n', 0o640);
}
