// What the central drain could not do. It runs apart from any terminal (the post-receive hook starts
// it with no stderr), so its problems are kept here for `lsm fleet status` and `lsm fleet check`,
// until a run does everything again.
import { readdirSync, rmSync } from 'node:fs';
import { replaceFile } from '../safe-path.js';
import { join } from 'node:path';
import { readBounded } from '../store/git.js';

const FAILING = 'lsm/central-failing';

export interface CentralFailing { since: number; problems: string[] }

/** How many pushes wait in lsm/queue, as a drain's problem says it. */
export const pushesWait = (n: number): string => `${n} push${n === 1 ? '' : 'es'} wait${n === 1 ? 's' : ''}`;
// the count a drain wrote is of its moment: pushes queued since wait too
const WAITING = /\(kept, retried next time; \d+ push(?:es)? waits?\)/;

/** Remember the last drain's or check's problems (none: forget them); when this cannot be written, the caller's own report still says. */
export function recordCentralProblems(gitdir: string, problems: string[], now = Date.now()): void {
  const path = join(gitdir, FAILING);
  try {
    if (problems.length === 0) { rmSync(path, { force: true }); return; }
    const since = centralFailing(gitdir)?.since ?? now;
    replaceFile(path, JSON.stringify({ since, problems: problems.slice(0, 20) } satisfies CentralFailing));
  } catch { /* lsm/ not writable: every other write here fails too, and says so */ }
}

/**
 * The last drain's or check's problems; and a push queued longer than `staleMs` ago is one too (no
 * drain ran since, or one died mid-way: killed, out of memory), whatever the last run recorded.
 */
export function centralFailing(gitdir: string, now = Date.now(), staleMs = 120_000): CentralFailing | null {
  let failing: CentralFailing | null = null;
  // never through a link, never blocking on a FIFO (what it is instead: central-layout.ts says)
  try { failing = JSON.parse(readBounded(join(gitdir, FAILING), 1 << 20) ?? 'null') as CentralFailing | null; } catch { /* none recorded */ }
  let queued: number[] = [];
  try { queued = readdirSync(join(gitdir, 'lsm', 'queue')).filter((n) => /^\d+-\d+$/.test(n)).map((n) => Number(n.split('-')[0])); } catch { /* no queue */ }
  if (failing && queued.length) failing.problems = failing.problems.map((p) => p.replace(WAITING, `(kept, retried next time; ${pushesWait(queued.length)})`));
  const oldest = queued.length ? Math.min(...queued) : null;
  if (oldest === null || now - oldest < staleMs) return failing;
  const stale = `${queued.length} push${queued.length === 1 ? '' : 'es'} queued since ${new Date(oldest).toISOString()} not recorded yet (no drain ran since, or it died; lsm fleet check drains them)`;
  return { since: Math.min(failing?.since ?? oldest, oldest), problems: [stale, ...(failing?.problems ?? [])] };
}
