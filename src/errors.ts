// Errors a user can cause (bad argument, broken config, busy repository, full disk) are thrown as
// LsmError: the CLI prints the one-line message and exits with the code. Anything else is a bug.

export const EXIT = {
  OK: 0,
  FAILURE: 1, // runtime failure: I/O error, unreadable repository, disk full
  NO_MATCH: 1, // lsm blame found nothing (grep's and git grep's 1)
  USAGE: 2, // bad argument or broken config
  CHANGED: 3, // `--exit-code`: the scan found a change
  BUSY: 75, // another scan holds the repository lock (EX_TEMPFAIL)
  UNSAFE: 77, // a path others could use to turn root lsm against its host (EX_NOPERM)
} as const;

export class LsmError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILURE,
  ) {
    super(message);
    this.name = 'LsmError';
  }
}

/** Turn a Node system error into a one-line LsmError, naming what we were doing. */
export function ioError(what: string, err: unknown): LsmError {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return new LsmError(`${what}: no space left on device`);
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return new LsmError(`${what}: permission denied`);
  if (e?.code === 'EROFS') return new LsmError(`${what}: read-only file system`);
  if (e?.code === 'EDQUOT') return new LsmError(`${what}: disk quota exceeded`);
  if (e?.code === 'EIO') return new LsmError(`${what}: input/output error`);
  return new LsmError(`${what}: ${e?.message ?? String(err)}`);
}

// What the system refused that no write path worded (a full disk, a read-only or failing file
// system): one line naming the file, exit 1, never a stack.
const WRITES_ONLY = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS']);
const SYSTEM_IO = new Set([...WRITES_ONLY, 'EIO', 'EACCES', 'EPERM']);

/** A Node system I/O error as a one-line LsmError (`cannot write PATH: no space left on device`); anything else as it is. */
export function systemIoError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(e instanceof Error) || e instanceof LsmError || !e.syscall || !SYSTEM_IO.has(e.code ?? '')) return err;
  return ioError(`cannot ${WRITES_ONLY.has(e.code!) ? 'write' : e.syscall}${e.path ? ` ${e.path}` : ''}`, e);
}
