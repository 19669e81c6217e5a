// A damaged repository (a ref gone, an object truncated, a pack or the index corrupt) is an alert,
// never a fresh start and never isomorphic-git's "internal error ... report this to the
// application's developers": this names what is damaged, where, and what to run, in lsm's words.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, LsmError } from '../errors.js';

export interface DamageData {
  repo: string; // the work tree
  what: string; // one line: what is damaged, and where
}

/** The repository is damaged: exit EXIT.DAMAGED with one line naming the damage and `git fsck`. */
export class RepositoryDamaged extends LsmError {
  readonly code = 'RepositoryDamaged';
  constructor(readonly data: DamageData) {
    super(`repository ${data.repo} is damaged: ${data.what} (git -C ${data.repo} fsck says more; lsm verify checks it)`, EXIT.DAMAGED);
  }
}

/** An error of isomorphic-git about the repository's content (not a system error such as ENOSPC). */
export function isGitDamage(err: unknown): boolean {
  const e = err as { caller?: unknown; code?: unknown; errno?: unknown };
  return !!e && typeof e === 'object' && 'caller' in e && typeof e.code === 'string' && e.errno === undefined && !/^E[A-Z]+$/.test(e.code);
}

/**
 * isomorphic-git's message as one line of lsm's: what is damaged (the object and its file, the
 * pack, the index), without its advice to report a bug. gitdir: to name the files.
 */
export function damageText(err: unknown, gitdir?: string): string {
  const e = err as { code?: string; message?: string; data?: { message?: string; what?: string } };
  const text = String(e?.data?.message ?? e?.message ?? err);
  const where = (oid: string) => {
    const loose = gitdir ? join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)) : null;
    return loose && existsSync(loose) ? ` (${loose})` : gitdir ? ` (in a pack in ${join(gitdir, 'objects', 'pack')})` : '';
  };
  let m = /SHA check failed! Expected ([0-9a-f]{40})/.exec(text);
  if (m) return `object ${m[1]} is corrupt: its content does not match its id${where(m[1])}`;
  m = /Packfile payload corrupted: .* but expected ([0-9a-f]{40})/.exec(text);
  if (m) return `pack ${gitdir ? join(gitdir, 'objects', 'pack') + '/' : ''}pack-${m[1]}.pack is corrupt`;
  m = /Invalid dircache|index file/i.exec(text);
  if (m) return `the index ${gitdir ? join(gitdir, 'index') : '.git/index'} is not a git index`;
  if (e?.code === 'NotFoundError') {
    const oid = /[0-9a-f]{40}/.exec(String(e.data?.what ?? text))?.[0];
    return oid ? `object ${oid} is missing${where(oid)}` : `${e.data?.what ?? 'an object'} is missing`;
  }
  if (/incorrect header check|invalid (stored block|distance|code)|unexpected end|too far back/i.test(text)) return `an object is corrupt (zlib: ${text.split('\n')[0]})`;
  return `${e?.code ?? 'error'}: ${text.split('\n').map((l) => l.trim()).filter((l) => l && !/internal error|report this|isomorphic-git|file an issue/i.test(l)).join(' ').slice(0, 300)}`;
}

/** A git error as RepositoryDamaged; any other error unchanged. */
export function asDamage(err: unknown, repoDir: string): unknown {
  return isGitDamage(err) ? new RepositoryDamaged({ repo: repoDir, what: damageText(err, join(repoDir, '.git')) }) : err;
}
