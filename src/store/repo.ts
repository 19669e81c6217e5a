// The git repository: a normal repository with a work tree, so `git log -p`, `git blame` and every
// git tool work on it directly. Reading goes through isomorphic-git; every write is atomic (see
// atomic-fs.ts) and happens under the repository lock.
import { igit, packedRefsKept, readBounded, readRef } from './git.js';
import { configBadLine } from './git-config.js';
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LsmError, EXIT, ioError } from '../errors.js';
import type { Snapshot } from '../types.js';
import { atomicFs, writeFileAtomic } from './atomic-fs.js';
import { crashPoint } from '../testing/crash-point.js';

export const BRANCH = 'main';
export const BASELINE_REF = 'refs/lsm/baseline';

export interface Repo {
  dir: string;
  gitdir: string;
  fs: ReturnType<typeof atomicFs>;
  cache: object; // isomorphic-git's object cache, shared by the calls of one command
}

export function openRepo(dir: string): Repo {
  const gitdir = join(dir, '.git');
  return { dir, gitdir, fs: atomicFs(gitdir), cache: {} };
}

/** A repository whose HEAD was deleted is still one (its objects are there): damage to repair, not a place for a new one. */
export function repoExists(dir: string): boolean {
  return existsSync(join(dir, '.git', 'HEAD')) || existsSync(join(dir, '.git', 'objects'));
}

export const HEAD_TEXT = `ref: refs/heads/${BRANCH}\n`;

/** What is wrong with .git/HEAD (detached, emptied, redirected, a symlink), or null when it names the branch. */
export function headNotBranch(repo: Repo): string | null {
  let text: string;
  try {
    // never follow a link, never wait on a FIFO, never read more than a ref's worth
    const fd = openSync(join(repo.gitdir, 'HEAD'), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const buf = Buffer.alloc(256);
    try { text = buf.toString('utf8', 0, readSync(fd, buf, 0, buf.length, null)); } finally { closeSync(fd); }
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  return text.trim() === HEAD_TEXT.trim() ? null : `read ${JSON.stringify(text.trim().slice(0, 60))}`;
}

/** .git/config as lsm's init writes it: a damaged one is set back to this (nothing a user planted is kept). */
export const CONFIG_TEXT = '[core]\n\tautocrlf = false\n\trepositoryformatversion = 0\n\tfilemode = false\n\tbare = false\n\tlogallrefupdates = true\n\tsymlinks = false\n\tignorecase = true\n';

/**
 * What git would refuse in .git/packed-refs or .git/config (git log and git fsck fail fatally on it
 * while lsm, reading them itself, saw nothing): one message per file, at most 1 MiB read of each.
 */
export function refsFilesDamage(repo: Repo): { packedRefs: string | null; config: string | null } | null {
  const problem = (name: string, check: (text: string) => string | null): string | null => {
    try {
      const text = readBounded(join(repo.gitdir, name), 1 << 20);
      if (text === null) return name === 'config' ? 'is missing' : null;
      if (text.length >= (1 << 20) - 4) return 'is larger than 1 MiB';
      return check(text);
    } catch (err) {
      return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
  };
  const badLine = (text: string, i: number): string | null =>
    i < 0 ? null : `line ${i + 1} ${JSON.stringify(text.split('\n')[i].slice(0, 60))} is not one git reads`;
  const found = {
    packedRefs: problem('packed-refs', (text) => badLine(text, packedRefsKept(text).firstBad)),
    config: problem('config', (text) => badLine(text, configBadLine(text))),
  };
  return found.packedRefs === null && found.config === null ? null : found;
}

/** Set .git/packed-refs and .git/config back to what git reads (packed-refs keeps its valid lines); returns what each got. */
export async function repairRefsFiles(repo: Repo, found: { packedRefs: string | null; config: string | null }): Promise<string[]> {
  const done: string[] = [];
  if (found.packedRefs !== null) {
    const { kept } = packedRefsKept(readBounded(join(repo.gitdir, 'packed-refs'), 1 << 20) ?? '');
    await writeFileAtomic(join(repo.gitdir, 'packed-refs'), kept, repo.gitdir);
    done.push(`.git/packed-refs ${found.packedRefs}: git log and git fsck failed on it (rewritten with its ${kept.split('\n').length - 1} valid lines)`);
  }
  if (found.config !== null) {
    await writeFileAtomic(join(repo.gitdir, 'config'), CONFIG_TEXT, repo.gitdir);
    done.push(`.git/config ${found.config}: git log and git fsck failed on it (set back to lsm's own)`);
  }
  return done;
}

/**
 * Open the repository, creating it (mode 0700: socket owners are sensitive) when missing. It is
 * made in a temporary directory and renamed into place, so a run killed half-way through leaves
 * no half-made repository behind (isomorphic-git's init would then skip it for good).
 */
export async function initRepo(dir: string): Promise<Repo> {
  const repo = openRepo(dir);
  if (repoExists(dir)) return repo;
  let tmp: string | null = null;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // what a killed run left (its pid is gone); another run's, still making its own, is left alone
    for (const name of readdirSync(dir)) {
      const pid = /^\.lsm-init-(\d+)-/.exec(name)?.[1];
      if (name.startsWith('.lsm-init-') && !(pid && alive(Number(pid)))) rmSync(join(dir, name), { recursive: true, force: true });
    }
    tmp = mkdtempSync(join(dir, `.lsm-init-${process.pid}-`));
    const fs = atomicFs(join(tmp, '.git'));
    await (await igit()).init({ fs, dir: tmp, defaultBranch: BRANCH });
    // plain git must never try to rewrite line endings of snapshot files
    await (await igit()).setConfig({ fs, dir: tmp, path: 'core.autocrlf', value: 'false' });
    crashPoint('init-before-rename');
    try {
      renameSync(join(tmp, '.git'), join(dir, '.git'));
    } catch (err) {
      if (!repoExists(dir)) throw err; // else a concurrent first run made it first: use that one
    }
  } catch (err) {
    throw ioError(`cannot create repository ${dir}`, err);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  return repo;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** An existing repository, or a one-line error saying how to make one. */
export function requireRepo(dir: string): Repo {
  if (!repoExists(dir)) throw new LsmError(`no lsm repository at ${dir} (run 'lsm scan' or 'lsm -g' first)`, EXIT.FAILURE);
  return openRepo(dir);
}

/** The git blob id of a text, as `git hash-object` computes it. */
export function blobId(text: string): string {
  const body = Buffer.from(text, 'utf8');
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
}

/**
 * blobId(fileText(lines)) without making that text: hashed a thousand lines at a time. A scan
 * compares every file with HEAD by id, and most are unchanged: at 100k sockets their joined texts
 * and UTF-8 copies were ~10 MB of peak RSS for nothing.
 */
export function linesBlobId(lines: string[]): string {
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) bytes += Buffer.byteLength(lines[i], 'utf8') + 1;
  const hash = createHash('sha1').update(`blob ${bytes}\0`);
  for (let i = 0; i < lines.length; i += 1000) hash.update(lines.slice(i, i + 1000).join('\n') + '\n', 'utf8');
  return hash.digest('hex');
}

export async function headCommit(repo: Repo): Promise<string | null> {
  return readRef(repo.gitdir, `refs/heads/${BRANCH}`); // null: no commit yet
}

/** Every file of a commit: path -> blob id. */
export async function treeFiles(repo: Repo, commit: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const { commit: c } = await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid: commit, cache: repo.cache });
  const walk = async (oid: string, prefix: string): Promise<void> => {
    const { tree } = await (await igit()).readTree({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    for (const e of tree) {
      if (e.type === 'tree') await walk(e.oid, `${prefix}${e.path}/`);
      else if (e.type === 'blob') files.set(`${prefix}${e.path}`, e.oid);
    }
  };
  await walk(c.tree, '');
  return files;
}

export async function readBlobText(repo: Repo, oid: string): Promise<string> {
  const { blob } = await (await igit()).readBlob({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  return Buffer.from(blob).toString('utf8');
}

export function textLines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** The snapshot a commit holds. */
export async function readSnapshot(repo: Repo, commit: string): Promise<Snapshot> {
  const snapshot: Snapshot = new Map();
  for (const [path, oid] of await treeFiles(repo, commit)) snapshot.set(path, textLines(await readBlobText(repo, oid)));
  return snapshot;
}

/**
 * A revision as a user types it: a full or short commit id, HEAD, main, baseline, any ref name,
 * with an optional ~N suffix (N first parents back).
 */
export async function resolveRev(repo: Repo, rev: string): Promise<string> {
  const m = /^(.*?)(?:~(\d*))?$/.exec(rev)!;
  const base = m[1] || 'HEAD';
  const back = m[2] === undefined ? 0 : m[2] === '' ? 1 : Number(m[2]);
  let oid: string | null = null;
  const refs = base === 'baseline' ? [BASELINE_REF] : base === 'HEAD' ? [`refs/heads/${BRANCH}`] : [base, `refs/heads/${base}`, `refs/lsm/${base}`];
  for (const ref of refs) {
    try { oid = await (await igit()).resolveRef({ fs: repo.fs, gitdir: repo.gitdir, ref }); break; } catch { /* next */ }
  }
  if (oid === null && /^[0-9a-f]{4,40}$/.test(base)) {
    try { oid = await (await igit()).expandOid({ fs: repo.fs, gitdir: repo.gitdir, oid: base, cache: repo.cache }); } catch { /* below */ }
  }
  if (oid === null) {
    if (base === 'baseline') throw new LsmError("no baseline yet (run 'lsm -g' to approve the current state)", EXIT.USAGE);
    if (base === 'HEAD') throw new LsmError('the repository has no snapshot yet', EXIT.USAGE);
    throw new LsmError(`unknown revision '${rev}'`, EXIT.USAGE);
  }
  for (let i = 0; i < back; i++) {
    const { commit } = await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    if (commit.parent.length === 0) throw new LsmError(`unknown revision '${rev}': history is shorter`, EXIT.USAGE);
    oid = commit.parent[0];
  }
  return oid;
}
