// What the central drain could not do. It runs apart from any terminal (the post-receive hook starts
// it with no stderr), so its problems are kept here for `lsm fleet status` and `lsm fleet check`,
// until a run does everything again.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FAILING = 'lsm/central-failing';

export interface CentralFailing { since: number; problems: string[] }

/** Remember the last drain's or check's problems (none: forget them); when this cannot be written, the caller's own report still says. */
export function recordCentralProblems(gitdir: string, problems: string[], now = Date.now()): void {
  const path = join(gitdir, FAILING);
  try {
    if (problems.length === 0) { rmSync(path, { force: true }); return; }
    const since = centralFailing(gitdir)?.since ?? now;
    writeFileSync(`${path}.${process.pid}.tmp`, JSON.stringify({ since, problems: problems.slice(0, 20) } satisfies CentralFailing));
    renameSync(`${path}.${process.pid}.tmp`, path);
  } catch { /* lsm/ not writable: every other write here fails too, and says so */ }
}

export function centralFailing(gitdir: string): CentralFailing | null {
  try { return JSON.parse(readFileSync(join(gitdir, FAILING), 'utf8')) as CentralFailing; } catch { return null; }
}
