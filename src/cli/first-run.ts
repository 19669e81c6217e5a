// What the first scan of a repository says on a terminal, besides the sockets it recorded: where
// the history went and what to run next (issue 20: an admin should not need the README for that).
// Only on a terminal: cron drops stdout, and a pipe or a script wants the data alone.
import { resolve } from 'node:path';
import { shellWord } from '../alert/message.js';
import type { Change } from '../types.js';
import { out } from './output.js';

/** A change that started the repository's history (not a repair that started a new one). */
export function isFirstScan(change: Change | null): change is Change {
  return change !== null && change.parent === null && !change.damage;
}

/**
 * The 2 lines a first scan prints on a terminal. `approved`: this run also approved the state as
 * the baseline (lsm -c's first run does); `repoFlag`: the repository is not the default one, so
 * the commands name it.
 */
export function firstScanHint(repoDir: string, repoFlag: boolean, approved: boolean): string {
  const repo = shellWord(resolve(repoDir));
  const flag = repoFlag ? ` --repo=${repo}` : '';
  return [
    `history: the git repository ${repo} (lsm log${flag}; git -C ${repo} log -p)`,
    approved
      ? `next: lsm -c${flag} (what cron runs) reports what changes from now on; lsm install schedules it`
      : `next: lsm -g${flag} approves this state as the baseline; lsm -c${flag} (what cron runs) then reports changes and drift; lsm install schedules it`,
  ].join('\n');
}

/** Print the hint when this change was the first scan and stdout is a terminal. */
export function sayFirstScan(change: Change | null, repoDir: string, repoFlag: boolean, approved: boolean): void {
  if (isFirstScan(change) && process.stdout.isTTY) out(firstScanHint(repoDir, repoFlag, approved));
}
