// Errors a user can cause (bad argument, broken config, busy repository, full disk) are thrown as
// LsmError: a one-line message, a code that says what went wrong and data about it (as
// isomorphic-git's errors carry). One table, EXIT_CODE, maps each code to the exit code; the CLI
// prints the message and exits with it (cli/exit.ts). Anything else is a bug.

export const EXIT = {
  OK: 0,
  FAILURE: 1, // runtime failure: I/O error, unreadable repository, disk full
  NO_MATCH: 1, // lsm blame found nothing (grep's and git grep's 1)
  USAGE: 2, // bad argument or broken config
  CHANGED: 3, // `--exit-code`: the scan found a change
  DAMAGED: 65, // the repository was damaged or reset: alerted, repaired what lsm could (EX_DATAERR)
  BUSY: 75, // another scan holds the repository lock (EX_TEMPFAIL)
  UNSAFE: 77, // a path others could use to turn root lsm against its host (EX_NOPERM)
  OUTPUT_CLOSED: 141, // the output pipe closed (lsm log | head -1): 128 + SIGPIPE, as git ends then
} as const;

/** What went wrong, and the exit code it ends a command with: the one table. */
export const EXIT_CODE = {
  Failure: EXIT.FAILURE, // a runtime failure without a code of its own
  Io: EXIT.FAILURE, // a file system error (data.errno: ENOSPC, EIO, ...)
  NotRecorded: EXIT.FAILURE, // committed, but its alert could not be spooled: the next run spools it
  Usage: EXIT.USAGE, // a bad argument or a broken config
  SpoolClaimed: EXIT.USAGE, // the spool belongs to another repository (data.spool, data.owner)
  Damaged: EXIT.DAMAGED, // the repository was damaged or reset: alerted and repaired (data.damage)
  Busy: EXIT.BUSY, // another lsm holds the lock
  Unsafe: EXIT.UNSAFE, // a path others could swap or write (data.path when known)
} as const;
export type ErrorCode = keyof typeof EXIT_CODE;

// what callers that name an exit code mean by it (new LsmError(msg, EXIT.USAGE))
const CODE_OF: Record<number, ErrorCode> = { [EXIT.FAILURE]: 'Failure', [EXIT.USAGE]: 'Usage', [EXIT.DAMAGED]: 'Damaged', [EXIT.BUSY]: 'Busy', [EXIT.UNSAFE]: 'Unsafe' };

export class LsmError extends Error {
  readonly code: ErrorCode;
  constructor(
    message: string,
    code: ErrorCode | number = 'Failure',
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LsmError';
    if (typeof code === 'number' && !CODE_OF[code]) throw new TypeError(`no error code for exit code ${code}`);
    this.code = typeof code === 'number' ? CODE_OF[code] : code;
  }

  get exitCode(): number {
    return EXIT_CODE[this.code];
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded', EACCES: 'permission denied', EPERM: 'permission denied',
  EROFS: 'read-only file system', EIO: 'input/output error', EFBIG: 'file too large',
  // a path of the wrong type (damage or a plant): said as what it is, never a bare errno
  EISDIR: 'a directory where a file belongs (damage: move it aside)', ENOTDIR: 'a file where a directory belongs (damage: move it aside)',
  ELOOP: 'a symbolic link (refused, never followed)', ENXIO: 'a FIFO, socket or device where a file belongs (refused, never waited on)',
};

/** What went wrong, in words: a system error's errno said plainly (no space left on device), else its message. */
export function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e?.code && Object.hasOwn(ERRNO_TEXT, e.code) ? ERRNO_TEXT[e.code] : undefined) ?? e?.message ?? String(err);
}

/** Turn a Node system error into a one-line LsmError (code Io, data.errno), naming what we were doing. */
export function ioError(what: string, err: unknown): LsmError {
  const errno = (err as NodeJS.ErrnoException)?.code;
  return new LsmError(`${what}: ${reason(err)}`, errno ? 'Io' : 'Failure', errno ? { errno, path: (err as NodeJS.ErrnoException).path } : {});
}

/** A Node system error (ENOSPC, EIO, ...), as fs and child_process throw them. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((err as NodeJS.ErrnoException).code!) &&
    typeof (err as NodeJS.ErrnoException).syscall === 'string';
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
