// The fleet index's key: a secret of the central repository (lsm/index.key, 32 random bytes, mode
// 0600, owned by the repository's owner, the web server's user; root reads it). Every index file
// and every shard carries a proof: an HMAC-SHA256 keyed with it over what the file was built from
// (host, branch tip, baseline) and its bytes' checksum. `lsm fleet verify` checks the proofs instead
// of re-deriving every host from git (docs/fleet-index.md). Never in git, never served: git
// http-backend serves only git's own paths, and the web view's alias is lsm/web.
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeFileSync, constants } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EXIT, LsmError, reason } from '../errors.js';

export const KEY_FILE = 'lsm/index.key';
const KEY_BYTES = 32;
const keyPath = (gitdir: string) => join(gitdir, KEY_FILE);

/** The key, or why not (one line); null when there is no key file. */
function load(gitdir: string): Buffer | null {
  const path = keyPath(gitdir);
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LsmError(`cannot read the fleet index key ${KEY_FILE}: ${reason(err)}`, EXIT.FAILURE);
  }
  try {
    const st = fstatSync(fd);
    const owner = statSync(gitdir).uid; // the repository itself (a link to it is not its owner)
    if (!st.isFile() || st.size !== KEY_BYTES) throw new LsmError(`the fleet index key ${KEY_FILE} is not a file of ${KEY_BYTES} bytes (remove it; lsm fleet reindex makes a new one)`, EXIT.FAILURE);
    if ((st.mode & 0o077) !== 0 || st.uid !== owner) throw new LsmError(`the fleet index key ${KEY_FILE} must be mode 0600 and owned by the repository's owner (uid ${owner})`, EXIT.UNSAFE);
    const key = Buffer.alloc(KEY_BYTES);
    if (readSync(fd, key, 0, KEY_BYTES, 0) !== KEY_BYTES) throw new LsmError(`the fleet index key ${KEY_FILE} is short (remove it; lsm fleet reindex makes a new one)`, EXIT.FAILURE);
    return key;
  } finally { closeSync(fd); }
}

/** The key (read anew: a caller holds it for one run); an LsmError when there is none or it cannot be read (verify must never agree without it). */
export function readIndexKey(gitdir: string): Buffer {
  const key = load(gitdir);
  if (!key) throw new LsmError(`the fleet index has no key (${KEY_FILE} is missing): its proofs cannot be checked; lsm fleet reindex makes one and rebuilds the index`, EXIT.FAILURE);
  return key;
}

/** The key, made first when there is none (fleet init, reindex, the drain: the index's owner). */
export function ensureIndexKey(gitdir: string): Buffer {
  if (load(gitdir) === null) {
    mkdirSync(join(gitdir, 'lsm'), { recursive: true });
    // written aside, then linked into place: two writers at once end with one key, whole
    const tmp = `${keyPath(gitdir)}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
      try { linkSync(tmp, keyPath(gitdir)); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; }
    } catch (err) {
      throw new LsmError(`cannot make the fleet index key ${KEY_FILE}: ${reason(err)}`, EXIT.FAILURE);
    } finally { try { unlinkSync(tmp); } catch { /* not made */ } }
  }
  return readIndexKey(gitdir);
}

/** The key when it can be read, else null (a run that keeps what it builds in memory needs no proof). */
export function indexKeyIfAny(gitdir: string): Buffer | null {
  try { return readIndexKey(gitdir); } catch { return null; }
}

/** A proof: HMAC-SHA256 of `what` (a label naming the file and what it was built from, then its checksum or header). */
export const proof = (key: Buffer, what: string): string => createHmac('sha256', key).update(what).digest('hex');
