// A damaged repository (a ref gone, an object truncated, a pack or the index corrupt) is an alert,
// never a fresh start and never isomorphic-git's "internal error ... report this to the
// application's developers": this names what is damaged, where, and what to run, in lsm's words.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LsmError } from '../errors.js';

export interface DamageData {
  repo: string; // the work tree
  what: string; // one line: what is damaged, and where
}

/** The repository is damaged: exit EXIT.DAMAGED with one line naming the damage and `git fsck`. */
export class RepositoryDamaged extends LsmError {
  constructor(damage: DamageData) {
    super(`repository ${damage.repo} is damaged: ${damage.what} (git -C ${damage.repo} fsck says more; lsm verify checks it)`, 'Damaged', { ...damage });
  }
}

/** An error of isomorphic-git about the repository's content (not a system error such as ENOSPC). */
export function isGitDamage(err: unknown): boolean {
  const e = err as { caller?: unknown; code?: unknown; errno?: unknown };
  return err instanceof Error && 'caller' in e && typeof e.code === 'string' && e.errno === undefined && !/^E[A-Z]+$/.test(e.code);
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
    // missing: neither loose nor in any pack (where() would say 'in a pack')
    return oid ? `object ${oid} is missing${gitdir ? ` (not in ${join(gitdir, 'objects')}, loose or packed)` : ''}` : `${e.data?.what ?? 'an object'} is missing`;
  }
  if (/incorrect header check|invalid (stored block|distance|code)|unexpected end|too far back|buffer error/i.test(text)) {
    const bad = gitdir ? damagedLooseObjects(gitdir)[0] : undefined; // zlib's error names no object: look for it
    return bad ? `object ${bad[0]} is corrupt: it does not inflate (${bad[1]})` : `an object is corrupt (zlib: ${text.split('\n')[0]})`;
  }
  const idx = gitdir ? damagedPackIndexes(gitdir)[0] : undefined; // a torn .idx reads as an offset out of range
  if (idx) return `the pack index ${idx} is corrupt`;
  return `${e?.code ?? 'error'}: ${text.split('\n').map((l) => l.trim()).filter((l) => l && !/internal error|report this|isomorphic-git|file an issue/i.test(l)).join(' ').slice(0, 300)}`;
}

/** A git error as RepositoryDamaged; any other error unchanged. */
export function asDamage(err: unknown, repoDir: string): unknown {
  return isGitDamage(err) ? new RepositoryDamaged({ repo: repoDir, what: damageText(err, join(repoDir, '.git')) }) : err;
}

/** Whether a loose object's file holds that very object (inflates, its header, its id). */
function looseIntact(path: string, oid: string): boolean {
  try {
    // zlib only when damage is looked for: every command imports this module (cli/exit.ts)
    const { inflateSync } = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
    const raw = inflateSync(readFileSync(path));
    const nul = raw.indexOf(0);
    const m = /^(blob|tree|commit|tag) (\d+)$/.exec(raw.subarray(0, Math.max(nul, 0)).toString('latin1'));
    return !!m && Number(m[2]) === raw.length - nul - 1 && createHash('sha1').update(raw).digest('hex') === oid;
  } catch {
    return false;
  }
}

/** Loose objects whose file does not hold them (truncated, altered), as [oid, path]. */
export function damagedLooseObjects(gitdir: string): [string, string][] {
  const objects = join(gitdir, 'objects');
  const bad: [string, string][] = [];
  let dirs: string[] = [];
  try { dirs = readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d)); } catch { return bad; }
  for (const d of dirs) {
    let names: string[] = [];
    try { names = readdirSync(join(objects, d)); } catch { continue; }
    for (const n of names) if (/^[0-9a-f]{38}$/.test(n) && !looseIntact(join(objects, d, n), d + n)) bad.push([d + n, join(objects, d, n)]);
  }
  return bad;
}

/**
 * Pack indexes (.git/objects/pack/*.idx, version 2) that are not whole: the size their fan-out
 * table says and their own checksum. A truncated one made isomorphic-git read past its end.
 */
export function damagedPackIndexes(gitdir: string): string[] {
  const dir = join(gitdir, 'objects', 'pack');
  let names: string[] = [];
  try { names = readdirSync(dir).filter((n) => n.endsWith('.idx')); } catch { return []; }
  return names.map((n) => join(dir, n)).filter((path) => {
    try {
      const buf = readFileSync(path);
      if (buf.length < 8 + 1024 + 40 || buf.readUInt32BE(0) !== 0xff744f63 || buf.readUInt32BE(4) !== 2) return true;
      const count = buf.readUInt32BE(8 + 255 * 4);
      if (buf.length < 8 + 1024 + count * 28 + 40) return true;
      return !createHash('sha1').update(buf.subarray(0, buf.length - 20)).digest().equals(buf.subarray(buf.length - 20));
    } catch {
      return true;
    }
  });
}
