// Which central repository a fleet command works on. Its own module: the git hooks (fleet-hook.ts)
// need it and nothing else of the command line (their node start is in every push's time).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT, LsmError } from '../errors.js';

/** The central repository's git directory: bare (DIR) or a clone's DIR/.git. */
export function fleetGitdir(argv: { fleet?: string }): string {
  const dir = resolve(argv.fleet || process.env.LSM_FLEET || process.env.GIT_DIR || '.');
  if (existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects'))) return dir;
  if (existsSync(join(dir, '.git', 'HEAD'))) return join(dir, '.git');
  throw new LsmError(`${dir} is not a fleet repository (lsm fleet init makes one; --fleet DIR or LSM_FLEET names it)`, EXIT.USAGE);
}
