// lsm check's work in the layer: one scan, then the approved baseline (LSM's first -c approves the
// state it finds), the drift from it, and, with DRIFT_REMINDER_HOURS, a reminder of unapproved
// drift older than that, at most that often. The face (cli/check.ts) prints what this returns.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { raiseReminder } from '../alert/index.js';
import { readChecked, writeChecked } from '../safe-path.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { moveBaseline, readBaseline } from '../store/baseline.js';
import { summarize } from '../store/changes.js';
import { lockRepository } from '../store/lock.js';
import { damageText, isGitDamage, RepositoryDamaged } from '../store/damage.js';
import { headCommit, openRepo, treeFiles, type Repo } from '../store/repo.js';
import type { Change, FileChange } from '../types.js';
import { alertSettings, flushAlerts } from './alerts.js';
import type { RunFacts } from './metrics.js';
import { damageFound, scan, type ScanResult } from './scan.js';
import type { Context } from './settings.js';

const REMINDED = 'lsm/drift-reminded'; // unix ms of the last reminder, under .git

function reminderMayBeDue(ctx: Context, repo: Repo): boolean {
  const hours = ctx.loaded.config.driftReminderHours;
  if (!hours) return false;
  const marker = join(repo.gitdir, REMINDED);
  const last = existsSync(marker) ? Number(readChecked(marker)) : 0;
  const ago = Date.now() - last;
  return ago < 0 || ago >= hours * 3_600_000; // a reminder 'in the future': the clock stepped back since, so it is due, not years away
}

async function remindIfDue(ctx: Context, repo: Repo, baseline: string, head: string, drift: FileChange[], now: Map<string, SnapshotLine[]>): Promise<boolean> {
  const hours = ctx.loaded.config.driftReminderHours;
  if (drift.length === 0 || !reminderMayBeDue(ctx, repo)) return false;
  const marker = join(repo.gitdir, REMINDED);
  const time = Date.now();
  const d = await driftNow(ctx, repo);
  const oldest = Math.min(...d.lines.map((l) => l.since));
  if (time - oldest >= 0 && time - oldest < hours * 3_600_000) return false; // (drift 'from the future': the clock stepped back; reminded)
  const change: Change = { commit: head, parent: baseline, time, summary: `reminder: unapproved drift since ${new Date(oldest).toISOString()}: ${summarize(drift)}`, files: drift };
  // the owners as this scan saw them, and each difference credited to the commit that made it
  await raiseReminder(alertSettings(ctx), change, now, new Map(d.lines.map((l) => [`${l.path}\n${l.line}`, { commit: l.commit, time: l.since }])));
  mkdirSync(dirname(marker), { recursive: true });
  writeChecked(marker, String(time));
  await flushAlerts(ctx);
  return true;
}

// The drift with its history (since when, which commit), for a reminder or --json: its modules
// (blame, history, the journal) are loaded only then, not by the cron run with nothing to say.
export async function driftNow(ctx: Context, repo: Repo) {
  const [{ computeDrift }, { readJournalCaughtUp }] = await Promise.all([import('../store/drift.js'), import('../cli/history-context.js')]);
  return computeDrift(repo, await readJournalCaughtUp(ctx.repoDir));
}

export interface CheckOutcome {
  scanned: ScanResult; // its failure is the caller's to settle, once it printed
  repo: Repo;
  baseline: string;
  firstBaseline: boolean; // no baseline yet: this run approved the state it found
  drift: FileChange[];
  reminded: boolean;
}

/** One lsm -c: scan, the baseline, the drift (read when something uses it), a reminder when due; facts for METRICS_FILE. */
export async function runCheck(ctx: Context, facts: RunFacts, options: { exitCode?: boolean } = {}): Promise<CheckOutcome> {
  const scanned = await scan(ctx, { deferFailure: true });
  const { change, snapshot, lines } = scanned;
  facts.snapshot = snapshot;
  if (change) facts.commitTime = change.time;
  const repo = openRepo(ctx.repoDir);
  let baseline = await readBaseline(repo);
  const head = (await headCommit(repo))!;
  const firstBaseline = !baseline;
  if (!baseline) {
    // LSM's first -c generates the base comparison file; so do we (the face says so)
    const lock = await lockRepository(repo.gitdir);
    try { await moveBaseline(repo, head, 'first lsm -c: no baseline yet'); } finally { lock.release(); }
    baseline = head;
  }
  // the drift is read only when something will use it: with standing drift and nothing new, the
  // cron run stays on its fast path (no trees read, isomorphic-git not loaded). --json reads its
  // own (driftNow, with since and commit per line); the metrics are written only with metricsFile
  const needed = change || options.exitCode || ctx.loaded.config.metricsFile || reminderMayBeDue(ctx, repo);
  const drift = baseline === head || !needed ? [] : await (async () => (await import('../store/history.js')).diffFiles(repo, await treeFiles(repo, baseline), await treeFiles(repo, head)))()
    .catch((err) => { // a baseline lost with a damaged history: said once by the repair, then until lsm -g
      if (!isGitDamage(err)) throw err;
      if (change?.damage) return [];
      throw damageFound(new RepositoryDamaged({ repo: ctx.repoDir, what: `the baseline ${baseline.slice(0, 10)} does not read (${damageText(err, repo.gitdir)}): lsm -g approves the current state again` }));
    });
  facts.drift = drift;
  const reminded = scanned.failure ? false : await remindIfDue(ctx, repo, baseline, head, drift, lines); // a disk that refused the alert is not asked for a reminder
  return { scanned, repo, baseline, firstBaseline, drift, reminded };
}
