// What lsm prints and exits with when an error reaches the top of a command: a user's error
// (LsmError) is one line and the exit code its code maps to (errors.ts' EXIT_CODE: 75 busy, 77
// unsafe, 2 usage, ...); isomorphic-git's errors are about the repository (damaged or missing
// objects), one line in lsm's words and 65; a system error (a full disk, EIO) is one line and 1;
// anything else is a bug, shown whole with 70 (EX_SOFTWARE). Apart from main.ts so tests can ask it.
import { EXIT, LsmError, ioError, isSystemError } from '../errors.js';
import { damageText, isGitDamage } from '../store/damage.js';

export const INTERNAL_ERROR = 70;

/** One line on stderr: yargs' and git's messages run over several. */
export function errorLine(message: string): string {
  return `lsm: ${message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ')}\n`;
}

export function exitFor(err: unknown): { code: number; text: string } {
  if (err instanceof LsmError) return { code: err.exitCode, text: errorLine(err.message) };
  if (isGitDamage(err)) return { code: EXIT.DAMAGED, text: errorLine(`the repository is damaged: ${damageText(err)} (git fsck in it says more; lsm verify checks it)`) };
  if (isSystemError(err)) return exitFor(ioError(`${err.syscall}${err.path ? ` ${err.path}` : ''}`, err));
  return { code: INTERNAL_ERROR, text: `lsm: internal error: ${(err as Error)?.stack ?? String(err)}\n` };
}
