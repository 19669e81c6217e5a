// lsm check (LSM's -c, what cron runs): scan, commit and alert what changed, and report what
// differs from the approved baseline. Silent when nothing changed, so cron mails nothing. With
// DRIFT_REMINDER_HOURS, unapproved drift older than that is alerted again, at most that often.
import type { CommandModule, Options } from 'yargs';
import { existsSync, mkdirSync } from 'node:fs';
import { readChecked, writeChecked } from '../safe-path.js';
import { dirname, join } from 'node:path';
import { raiseReminder } from '../alert/index.js';
import { EXIT } from '../errors.js';
import { moveBaseline, readBaseline } from '../store/baseline.js';
import { summarize } from '../store/changes.js';
import { lockRepository } from '../store/lock.js';
import { headCommit, openRepo, treeFiles, type Repo } from '../store/repo.js';
import { alertSettings, flushAlerts } from '../run/alerts.js';
import { recordedRun, scan, settle } from '../run/scan.js';
import type { Context, GlobalArgs } from '../run/settings.js';
import { out, printChange, shortId } from './output.js';
import type { SnapshotLine } from '../snapshot/index.js';
import type { FileChange, Change } from '../types.js';

interface Args extends GlobalArgs { json?: boolean; 'exit-code'?: boolean; quiet?: boolean }

const REMINDED = 'lsm/drift-reminded'; // unix ms of the last reminder, under .git

function reminderMayBeDue(ctx: Context, repo: Repo): boolean {
  const hours = ctx.loaded.config.driftReminderHours;
  if (!hours) return false;
  const marker = join(repo.gitdir, REMINDED);
  const last = existsSync(marker) ? Number(readChecked(marker)) : 0;
  return Date.now() - last >= hours * 3_600_000;
}

async function remindIfDue(ctx: Context, repo: Repo, baseline: string, head: string, drift: FileChange[], now: Map<string, SnapshotLine[]>): Promise<boolean> {
  const hours = ctx.loaded.config.driftReminderHours;
  if (drift.length === 0 || !reminderMayBeDue(ctx, repo)) return false;
  const marker = join(repo.gitdir, REMINDED);
  const time = Date.now();
  const d = await driftNow(ctx, repo);
  const oldest = Math.min(...d.lines.map((l) => l.since));
  if (time - oldest < hours * 3_600_000) return false;
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
async function driftNow(ctx: Context, repo: Repo) {
  const [{ computeDrift }, { readJournalCaughtUp }] = await Promise.all([import('../store/drift.js'), import('./history-context.js')]);
  return computeDrift(repo, await readJournalCaughtUp(ctx.repoDir));
}

export const options = {
  json: { type: 'boolean', describe: 'print the change and the drift as JSON' },
  quiet: { alias: 'q', type: 'boolean', describe: 'print nothing' },
  'exit-code': { type: 'boolean', describe: 'exit 3 when the state differs from the baseline' },
} as const satisfies Record<string, Options>;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'check',
  describe: 'scan, commit any change, and report drift from the baseline (LSM: lsm -c)',
  builder: (y) => y.options(options),
  handler: async (argv) => {
    // METRICS_FILE records this run however it ends, a run its settings' checks refuse included
    const { ctx, facts: run } = await recordedRun(argv);
    const scanned = await scan(ctx, { deferFailure: true });
    const { change, snapshot, lines } = scanned;
    run.snapshot = snapshot;
    if (change) run.commitTime = change.time;
    const repo = openRepo(ctx.repoDir);
    let baseline = await readBaseline(repo);
    const head = (await headCommit(repo))!;
    if (!baseline) {
      // LSM's first -c generates the base comparison file; so do we, and say so
      const lock = await lockRepository(repo.gitdir);
      try { await moveBaseline(repo, head, 'first lsm -c: no baseline yet'); } finally { lock.release(); }
      baseline = head;
      if (!argv.quiet) out(`no baseline yet: approved the current state (${shortId(head)}) as the baseline`);
    }
    // the drift is read only when something will use it: with standing drift and nothing new, the
    // cron run stays on its fast path (no trees read, isomorphic-git not loaded). --json reads its
    // own (driftNow, with since and commit per line); the metrics are written only with metricsFile
    const needed = change || argv['exit-code'] || ctx.loaded.config.metricsFile || reminderMayBeDue(ctx, repo);
    const drift = baseline === head || !needed ? [] : await (await import('../store/history.js')).diffFiles(repo, await treeFiles(repo, baseline), await treeFiles(repo, head));
    run.drift = drift;
    const reminded = await remindIfDue(ctx, repo, baseline, head, drift, lines);
    if (argv.json) {
      if (!argv.quiet) {
        const d = await driftNow(ctx, repo); // with since and commit per line
        const { changeJson, driftJson, json } = await import('./json.js');
        out(json({ change: change && changeJson(change), ...driftJson(d), reminded }));
      }
    }
    else if (!argv.quiet && (change || reminded)) {
      if (change) printChange(change);
      if (drift.length) out(`drift from baseline ${shortId(baseline)}: ${summarize(drift)} (lsm drift; approve with lsm -g)${reminded ? '; reminder sent' : ''}`);
    }
    settle(scanned); // an alert it could not spool fails the run, once what it found is printed
    if (drift.length && argv['exit-code']) process.exitCode = EXIT.CHANGED;
  },
};
export default command;
