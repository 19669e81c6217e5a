// isomorphic-git writes only loose objects (3 or more per commit; 135 MB for 2,000 commits of a
// 430 KB file, 2.5 MB once packed). After a commit, `git gc --auto` packs them when git's own
// threshold is passed (gc.auto, 6700 loose objects): a cheap check otherwise. It runs in the
// foreground (under our lock, bounded in time), never detached.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Repo } from './repo.js';

let gitBinary: string | null | undefined;
function findGit(): string | null {
  if (gitBinary === undefined) {
    gitBinary = (process.env.PATH ?? '/usr/bin:/bin').split(':').map((d) => `${d}/git`).find((p) => existsSync(p)) ?? null;
  }
  return gitBinary;
}

/** Pack loose objects when there are many; a no-op without a git binary. */
export function packIfNeeded(repo: Repo, timeoutMs = 120_000): void {
  const git = findGit();
  if (!git) return; // without git, loose objects stay; lsm still reads everything
  spawnSync(git, ['-C', repo.dir, '-c', 'gc.autoDetach=false', '-c', 'gc.autoPackLimit=20', 'gc', '--auto', '--quiet'], { stdio: 'ignore', timeout: timeoutMs });
}
