// What lsm prints and exits with when an error reaches the top of a command: a user's error
// (LsmError) is one line and the exit code its code maps to (errors.ts' EXIT_CODE: 75 busy, 77
// unsafe, 2 usage, ...); a system error (a full disk, EIO) is one line and 1; isomorphic-git's
// errors are about the repository (damaged or missing objects), one line and 1; anything else is
// a bug, shown whole with 70 (EX_SOFTWARE). Apart from main.ts so that tests can ask it.
import { EXIT, LsmError, ioError, isSystemError } from '../errors.js';

export const INTERNAL_ERROR = 70;

/** One line on stderr: yargs' and git's messages run over several. */
export function errorLine(message: string): string {
  return `lsm: ${message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}\n`;
}

export function exitFor(err: unknown): { code: number; text: string } {
  if (err instanceof LsmError) return { code: err.exitCode, text: errorLine(err.message) };
  if (err instanceof Error && 'caller' in err && 'code' in err) {
    return { code: EXIT.FAILURE, text: errorLine(`the repository is damaged: ${err.message} (git fsck in it says more)`) };
  }
  if (isSystemError(err)) return exitFor(ioError(`${err.syscall}${err.path ? ` ${err.path}` : ''}`, err));
  return { code: INTERNAL_ERROR, text: `lsm: internal error: ${(err as Error)?.stack ?? err}\n` };
}
