// isomorphic-git writes only loose objects (3 or more per commit; 135 MB for 2,000 commits of a
// 430 KB file, 2.5 MB once packed). Every lsm.packEvery commits (git config; default 500) the loose
// objects go into a pack (`git repack -d`: only the new objects, so its cost does not grow with
// history), and every 20th time all packs become one (`git repack -a -d`). It runs under our lock,
// in the foreground, bounded in time. Without a git binary the objects stay loose; lsm reads both.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readChecked, writeChecked } from '../safe-path.js';
import { join } from 'node:path';
import type { Repo } from './repo.js';

let gitBinary: string | null | undefined;
export function findGit(): string | null {
  if (gitBinary === undefined) {
    gitBinary = (process.env.PATH ?? '/usr/bin:/bin').split(':').map((d) => `${d}/git`).find((p) => existsSync(p)) ?? null;
  }
  return gitBinary;
}

function packEvery(repo: Repo): number {
  try {
    const m = /^\[lsm\][^[]*?^\s*packEvery\s*=\s*(\d+)/im.exec(readFileSync(join(repo.gitdir, 'config'), 'utf8'));
    return m ? Math.max(1, Number(m[1])) : 500;
  } catch {
    return 500;
  }
}

/** Count this commit; pack when the count comes round. Returns what it ran, for tests and notes. */
export function packIfNeeded(repo: Repo, timeoutMs = 300_000): 'none' | 'incremental' | 'full' {
  const counter = join(repo.gitdir, 'lsm', 'commits-since-pack');
  let n = 0;
  try { n = Number(readChecked(counter)) || 0; } catch { /* first commit */ }
  n++;
  const every = packEvery(repo);
  const git = findGit();
  let ran: 'none' | 'incremental' | 'full' = 'none';
  if (n % every === 0 && git) {
    ran = (n / every) % 20 === 0 ? 'full' : 'incremental';
    // child_process only when a repack is due (every few hundred commits), not at every start
    const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    spawnSync(git, ['-C', repo.dir, 'repack', '-d', '-q', ...(ran === 'full' ? ['-a'] : [])], { stdio: 'ignore', timeout: timeoutMs });
  }
  mkdirSync(join(repo.gitdir, 'lsm'), { recursive: true });
  writeChecked(counter, String(n));
  return ran;
}
