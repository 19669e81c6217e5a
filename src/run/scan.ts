// The layer's pipeline: one scan is collect -> snapshot -> commit -> spool -> deliver -> push,
// on settings decided and checked before anything is written (settings.ts). What cannot be done
// is said loudly: an alert that cannot be spooled fails the run (exit 1, or its own code), after
// delivering what was spooled before and pushing; a delivery or a push that fails is said on
// stderr and retried next run (the alert is safe in the spool), and the run succeeds.
import type { SnapshotLine } from '../snapshot/index.js';
import { commitSnapshot } from '../store/commit.js';
import { crashPoint } from '../testing/crash-point.js';
import type { Change, Collection, Snapshot } from '../types.js';
import { EXIT, LsmError, reason } from '../errors.js';
import { checkSpoolOwner, flushAlerts, spoolAlerts, spoolFailed } from './alerts.js';
import { isGitDamage } from '../store/damage.js';
import { problemFound, runEnded, runRecords, trackProblems } from './outcome.js';
import type { RunFacts } from './metrics.js';
import { checkSettings, resolveSettings, type Context, type GlobalArgs } from './settings.js';
import { takeSnapshot } from './snapshot.js';
import { unseenSummary } from '../snapshot/unseen.js';
import { measureClock, saveClockState } from './clock.js';
import { warn } from './warn.js';

export interface ScanResult {
  collection: Collection;
  snapshot: Snapshot;
  lines: Map<string, SnapshotLine[]>;
  change: Change | null;
  /** with deferFailure: what the run could not record (the caller prints its output, then settle()) */
  failure: LsmError | null;
}

/**
 * The settings of a run whose outcome METRICS_FILE records (check, watch): decided, the recorder
 * set (so a run refused by the checks is recorded as failed too), then checked.
 */
export async function recordedRun(argv: GlobalArgs): Promise<{ ctx: Context; facts: RunFacts }> {
  const ctx = resolveSettings(argv);
  const facts: RunFacts = {};
  runRecords();
  process.once('exit', (code) => runEnded(code)); // before the metrics' own 'exit': they read what is left outstanding
  if (ctx.loaded.config.metricsFile) (await import('./metrics.js')).recordRun(ctx, facts);
  checkSettings(ctx);
  checkSpoolOwner(ctx);
  trackProblems(ctx.repoDir);
  facts.checked = true;
  return { ctx, facts };
}

/** This process is a run whose problems lsm status shows (outcome.ts): kept as found, cleared when it ends well. */
export function trackRun(ctx: Context): void {
  runRecords();
  trackProblems(ctx.repoDir);
  process.once('exit', (code) => runEnded(code));
}

/** A damaged repository found: the exit (65), lsm status and the metrics say it until a run succeeds. */
export function damageFound<E>(err: E): E {
  if (err instanceof LsmError ? err.code === 'Damaged' : isGitDamage(err)) problemFound('damaged', err instanceof LsmError ? err.message : reason(err), EXIT.DAMAGED);
  return err;
}

/**
 * One scan: collect, snapshot, commit when something differs, then spool and deliver its alert and
 * push. `alert: false` stops after the commit (lsm watch spools bursts itself). A failure to
 * record is thrown at the end, or with `deferFailure` returned for the caller to settle().
 */
export async function scan(ctx: Context, options: { established?: boolean; alert?: boolean; deferFailure?: boolean } = {}): Promise<ScanResult> {
  checkSpoolOwner(ctx); // before the commit: a run that could not spool must not commit first
  const { collection, snapshot, lines } = takeSnapshot(ctx, options);
  const unseen = unseenSummary(collection.stats);
  if (unseen) warn(unseen); // recorded in host/unattributed too; the exit stays 0: what could be seen was
  const clock = measureClock(ctx.repoDir); // a step between runs: said, and in the commit's message when this run commits
  for (const line of clock.said) warn(line);
  const change = await commitSnapshot(ctx.repoDir, snapshot, { clockStep: clock.step ?? undefined }).catch((err) => { throw damageFound(err); });
  if (change) crashPoint('after-commit');
  if (change?.clock) warn(change.clock); // recorded and alerted as usual: only its time is the clock's word
  let failure: LsmError | null = null;
  if (options.alert !== false) {
    try {
      await spoolAlerts(ctx, lines);
    } catch (err) {
      failure = err as LsmError; // still deliver what was spooled before, and push
    }
    try {
      await flushAlerts(ctx);
    } catch (err) {
      // a spool refused whole (spoolDirProblem) fails the run, said once; any other trouble is the delivery's, retried
      if (err instanceof LsmError && err.data.refused) failure ??= err;
      else warn(`alert delivery failed (the alerts stay spooled, retried next run): ${reason(err)}`);
    }
  }
  // after the commit, which moved aside whatever was planted at .git/lsm, and after the alert, which
  // has the disk's room first (on a full disk the one line said is the alert's); a run that could
  // not spool records no reading, so the next run says the step again rather than never
  if (clock.next && !failure) {
    try { saveClockState(ctx.repoDir, clock.next); } catch (err) { warn(reason(err)); }
  }
  // fleet: after local alerts, so a slow or down server never delays them
  if (ctx.loaded.config.remote) {
    try {
      await (await import('./push.js')).pushFleet(ctx);
    } catch (err) {
      const pushFailure = err instanceof LsmError ? err : new LsmError(`fleet push: ${reason(err)}`, 'NotRecorded');
      spoolFailed(pushFailure); // the divergence alert, not spooled
      failure ??= pushFailure;
    }
  }
  // a repaired repository: alerted above like any change, and said (exit 65) on every command that scans
  if (change?.damage) {
    const damaged = new LsmError(change.damage, 'Damaged', { damage: change.damage });
    damageFound(damaged);
    failure ??= damaged;
  }
  const result = { collection, snapshot, lines, change, failure };
  return options.deferFailure ? result : settle(result);
}

/** Throw what the run could not record, once its output is printed. */
export function settle<T extends { failure: LsmError | null }>(result: T): T {
  if (result.failure) throw result.failure;
  return result;
}
