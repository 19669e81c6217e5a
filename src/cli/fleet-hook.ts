// What git's hooks in the central repository run (lsm fleet init installs them), without the
// command line's parser, loading only what each needs: `guard` (pre-receive: inside every push, so
// its start is much of a push's time) and `drain DIR` (started apart by the post-receive hook,
// which only queues: record, index, spool and deliver the central alerts).
// `lsm fleet guard` / `lsm fleet receive` are the same for a person.
import { EXIT, LsmError } from '../errors.js';
import { LIMIT, guard, parseUpdates } from '../fleet/guard.js';
import { loadConfig } from '../config.js';
import { limitsOf } from '../fleet/limits.js';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fleetGitdir } from './fleet-gitdir.js';

export function runGuard(gitdir: string, stdin: string): boolean {
  // the per-host limits are the central config's (the one the hooks were installed with)
  const limits = limitsOf(loadConfig(process.env.LSM_CONFIG || undefined).config);
  let problems: string[];
  try {
    problems = guard(gitdir, parseUpdates(stdin), process.env.REMOTE_USER || undefined, undefined, { limits, quarantine: process.env.GIT_QUARANTINE_PATH || null });
  } catch (err) {
    // lsm/users or lsm/rate not a file lsm made: the push is refused, the pushing host told which path ('remote: lsm: ...')
    if (!(err instanceof LsmError && err.code === 'Damaged')) throw err;
    problems = [`${LIMIT}refused: ${err.message}`];
  }
  for (const p of problems) process.stderr.write(p.startsWith(LIMIT) ? `${p}\n` : `lsm fleet guard: ${p}\n`);
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

/**
 * Started by the post-receive hook (under its lock: one at a time): record and index what was
 * queued, spool the central alerts, deliver them, while pushes keep coming.
 */
async function runDrain(gitdir: string): Promise<void> {
  const [{ alertSettings }, { centralContext }, { drainWhileQueued }] = await Promise.all([import('../run/alerts.js'), import('../run/settings.js'), import('../fleet/receive.js')]);
  const ctx = centralContext({}, gitdir);
  const { host: _h, repoDir: _r, ...alerts } = alertSettings(ctx);
  const { parseDuration } = await import('../duration.js');
  // a push that cannot be recorded: exit 1, so the hook's loop does not start another drain for it
  if (!await drainWhileQueued(gitdir, alerts, { interval: ctx.loaded.config.fleetMailInterval, silentAfterMs: 3 * (parseDuration(ctx.loaded.config.interval) ?? 600_000) })) process.exitCode = EXIT.FAILURE;
  // housekeeping that receive-pack would do inside the push (fleet init turns receive.autogc off)
  const { runGit } = await import('../fleet/git-run.js');
  runGit(gitdir, ['gc', '--auto', '--quiet']);
}

// run as the hook's program (through any symbolic link: a guard that silently did nothing would accept every push)
const isMain = (() => { try { return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url)); } catch { return false; } })();
if (isMain) {
  const what = process.argv[2];
  (async () => {
    if (what === 'guard') { if (!runGuard(fleetGitdir({}), readFileSync(0, 'utf8'))) process.exitCode = EXIT.FAILURE; }
    else if (what === 'drain') await runDrain(fleetGitdir({ fleet: process.argv[3] }));
    else throw new LsmError(`fleet-hook: guard or receive, not '${what}'`, EXIT.USAGE);
  })().catch((err: unknown) => {
    process.stderr.write(`lsm fleet ${what}: ${err instanceof LsmError ? err.message : (err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = err instanceof LsmError ? err.exitCode : 70;
  });
}
