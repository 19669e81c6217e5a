// What git's hooks in the central repository run (lsm fleet init installs them): the guard
// (pre-receive) and the receive (post-receive: record, index, start the delivery), without the
// command line's parser, loading only what each needs: both run inside every host's push, so
// their start is most of a push's time.
// `lsm fleet guard` / `lsm fleet receive` are the same for a person.
import { EXIT, LsmError } from '../errors.js';
import { guard, parseUpdates } from '../fleet/guard.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fleetGitdir } from './fleet-questions.js';

export function runGuard(gitdir: string, stdin: string): boolean {
  const problems = guard(gitdir, parseUpdates(stdin), process.env.REMOTE_USER || undefined);
  for (const p of problems) process.stderr.write(`lsm fleet guard: ${p}\n`);
  return problems.length === 0;
}

export async function runReceive(gitdir: string, stdin: string, config?: string): Promise<void> {
  const { received } = await import('../fleet/receive.js');
  const r = received(gitdir, parseUpdates(stdin), process.env.REMOTE_USER ?? '');
  for (const p of r.problems) process.stderr.write(`lsm fleet: ${p}\n`);
  if (r.recorded) {
    // the central alerts are spooled and delivered by a process of their own, from the push record:
    // the pushing host's request is not held by them (lsm fleet check catches up if that process dies)
    const { spawn } = await import('node:child_process');
    const main = fileURLToPath(new URL('./main.js', import.meta.url));
    spawn(process.execPath, [main, ...(config ? ['--config', config] : []), 'fleet', 'deliver', '--fleet', gitdir], { detached: true, stdio: 'ignore' }).unref();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const what = process.argv[2];
  (async () => {
    const gitdir = fleetGitdir({});
    const stdin = readFileSync(0, 'utf8');
    if (what === 'guard') { if (!runGuard(gitdir, stdin)) process.exitCode = EXIT.FAILURE; }
    else if (what === 'receive') await runReceive(gitdir, stdin, process.env.LSM_CONFIG || undefined);
    else throw new LsmError(`fleet-hook: guard or receive, not '${what}'`, EXIT.USAGE);
  })().catch((err: unknown) => {
    process.stderr.write(`lsm fleet ${what}: ${err instanceof LsmError ? err.message : (err as Error)?.stack ?? err}\n`);
    process.exitCode = err instanceof LsmError ? err.exitCode : 70;
  });
}
