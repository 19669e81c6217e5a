// isomorphic-git writes objects, refs and the index in place: a scan killed mid-write would leave a
// torn object that later writes skip (the file exists) and `git fsck` rejects. This fs client for
// isomorphic-git makes every write atomic and durable: a temporary file in .git/lsm-tmp, fsync,
// rename over the target, fsync of the directory. A full disk fails the write and leaves nothing.
import { promises as fsp, constants, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const TMP_DIR = 'lsm-tmp';

async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try { await h.sync(); } finally { await h.close(); }
}

/**
 * How much a write must survive a power loss. 'full': the file and its directory entry (refs, the
 * spool: what says something happened). 'file': the file's data (objects: content-addressed,
 * reachable only once a ref written after them is). 'none': derived data rebuilt when lost (the
 * index, the work tree, caches). A commit went from 42 to ~15 ms once derived writes stopped
 * paying two fsyncs each.
 */
export type Durability = 'full' | 'file' | 'none';

/** Write a file atomically: readers see the old content or the new, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, tmpDir = dirname(path), mode = 0o644, durability: Durability = 'full'): Promise<void> {
  const tmp = join(tmpDir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let h: fsp.FileHandle | null = null;
  try {
    // O_EXCL|O_NOFOLLOW: a file or symlink planted under the temporary name is an error, never followed
    h = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    await h.writeFile(data);
    if (durability !== 'none') await h.sync();
    await h.close();
    h = null;
    await fsp.rename(tmp, path);
    if (durability === 'full') await fsyncDir(dirname(path));
  } catch (err) {
    if (h) await h.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * mkdir -p that says why it failed: Node 20's promise mkdir with `recursive` reports a full disk
 * as ENOENT ("no such file or directory"); the synchronous one reports ENOSPC.
 */
export function mkdirp(dir: string, mode?: number): void {
  mkdirSync(dir, { recursive: true, mode });
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException)?.code;

/** The fs client given to isomorphic-git for one repository. */
export function atomicFs(gitdir: string) {
  const tmpDir = join(gitdir, TMP_DIR);
  const objects = join(gitdir, 'objects') + '/';
  const index = join(gitdir, 'index');
  // isomorphic-git ignores a mkdir that fails for any reason but ENOENT (a full disk, a read-only
  // file system), and the write into that directory then fails with ENOENT: that write says why
  let mkdirFailure: unknown = null;
  return {
    promises: {
      ...fsp,
      readFile: fsp.readFile,
      readdir: fsp.readdir,
      async mkdir(path: string, options?: { recursive?: boolean; mode?: number }) {
        try {
          return await fsp.mkdir(path, options);
        } catch (err) {
          if (errno(err) !== 'EEXIST' && errno(err) !== 'ENOENT') mkdirFailure = err;
          throw err;
        }
      },
      rmdir: fsp.rmdir,
      unlink: fsp.unlink,
      stat: fsp.stat,
      lstat: fsp.lstat,
      readlink: fsp.readlink,
      symlink: fsp.symlink,
      chmod: fsp.chmod,
      async writeFile(path: string, data: string | Uint8Array, options?: { mode?: number } | string) {
        const mode = typeof options === 'object' && options?.mode ? options.mode : 0o644;
        // files outside the git dir (the work tree) go through a temp file beside them
        const inside = path.startsWith(gitdir + '/');
        try {
          if (inside) mkdirp(tmpDir);
          const durability: Durability = !inside || path === index ? 'none' : path.startsWith(objects) ? 'file' : 'full';
          await writeFileAtomic(path, data, inside ? tmpDir : dirname(path), mode, durability);
        } catch (err) {
          throw errno(err) === 'ENOENT' && mkdirFailure ? mkdirFailure : err;
        }
      },
    },
  };
}

/** Remove temporary files a killed run left behind (called under the repository lock). */
export async function cleanTmp(gitdir: string): Promise<void> {
  const dir = join(gitdir, TMP_DIR);
  let names: string[];
  try { names = await fsp.readdir(dir); } catch { return; }
  await Promise.all(names.map((n) => fsp.unlink(join(dir, n)).catch(() => {})));
}
