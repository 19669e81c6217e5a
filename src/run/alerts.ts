// The layer's alert stage: the alert settings made from the run's settings (the one spool, event
// log and hooks directory), spooling what is not alerted yet, and delivering what the spool holds.
import { hostname } from 'node:os';
import { deliver, firstTimeUnconfigured, spoolPending, spoolSummary, type AlertSettings, type DeliveryReport } from '../alert/index.js';
import { qualified } from '../alert/address.js';
import { claimProblem, Spool, spoolDirProblem } from '../alert/spool.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { EXIT, LsmError, reason } from '../errors.js';
import { outstanding, problemFound, problemResolved, raiseExitCode } from './outcome.js';
import type { Context } from './settings.js';
import { warn } from './warn.js';

export function alertSettings(ctx: Context): AlertSettings {
  const c = ctx.loaded.config;
  return {
    repoDir: ctx.repoDir, host: hostname(), hooksDir: c.hooksDir, spoolDir: c.spoolDir, eventLog: c.eventLog, repoFlag: ctx.ownRepo,
    mail: { to: c.smtpUrl ? c.user.map(qualified) : c.user, from: c.from, subject: c.subject, smtpUrl: c.smtpUrl, sendmail: c.sendmail, insecure: c.smtpInsecure },
  };
}

/** Refuse a spool another repository claimed (exit 2), before this run writes anything. */
export function checkSpoolOwner(ctx: Context): void {
  const problem = claimProblem(ctx.loaded.config.spoolDir, ctx.repoDir);
  if (problem) throw problem;
}

/** What waits in this run's spool; null when the spool is another repository's (not ours to count). */
export function ownSpoolSummary(ctx: Context): ReturnType<typeof spoolSummary> | null {
  return claimProblem(ctx.loaded.config.spoolDir, ctx.repoDir) ? null : spoolSummary(ctx.loaded.config.spoolDir);
}

/**
 * Spool an alert for every commit not alerted yet. A failure to spool fails the run (exit 1, or
 * the error's own code: 75 busy, 2 another repository's spool): the change stays committed and
 * refs/lsm/alerted behind it, so the next run spools it.
 */
export async function spoolAlerts(ctx: Context, lines: Map<string, SnapshotLine[]> | null, options: { coalesce?: boolean } = {}): Promise<number> {
  try {
    const r = await spoolPending(alertSettings(ctx), lines, options);
    for (const note of r.notes) warn(note);
    // with nothing new, nothing touched the spool: one refused stays a problem (flushAlerts says it), since the run that first saw it
    if (!spoolDirProblem(ctx.loaded.config.spoolDir)) problemResolved('spool');
    return r.added;
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    const failure = new LsmError(`cannot spool the alert (the change is committed; the next run spools it): ${reason(err)}`,
      err instanceof LsmError ? err.code : 'NotRecorded', err instanceof LsmError ? err.data : { errno, spool: ctx.loaded.config.spoolDir });
    spoolFailed(failure);
    throw failure;
  }
}

/** An alert that could not be spooled: the run's exit, lsm status and the metrics say it until one is. */
export function spoolFailed(err: LsmError): void {
  problemFound('spool', err.message, err.exitCode);
}

/** No alert in the spool waits for the event log (another lsm flush may have written it). */
export function eventLogCaughtUp(ctx: Context): boolean {
  return !new Spool(ctx.loaded.config.spoolDir).list().some((e) => !e.channels.eventlog.done);
}

/** Deliver what the spool holds: a channel's trouble is said on stderr (the alert stays spooled, retried); only an event log that could not record fails the run. */
export async function flushAlerts(ctx: Context, options: { force?: boolean; retryDead?: boolean } = {}): Promise<DeliveryReport> {
  const settings = alertSettings(ctx);
  const report = await deliver(settings, options).catch((err: unknown) => {
    if (err instanceof LsmError && err.data.refused) spoolFailed(err); // no alert can be spooled there either: lsm status and the metrics say it
    throw err;
  });
  for (const p of report.problems) warn(p);
  // an event log that could not record fails the run (said above; the spool keeps the alert), until it records
  if (report.unrecorded) problemFound('eventlog', report.problems.find((p) => p.includes(': eventlog: ')) ?? 'the event log could not record', EXIT.FAILURE);
  else if (!(report.pending + report.dead) || eventLogCaughtUp(ctx)) problemResolved('eventlog');
  else if (outstanding(ctx.repoDir).eventlog) problemFound('eventlog', outstanding(ctx.repoDir).eventlog!.message, EXIT.FAILURE); // still behind (its back-off): still failing
  if (report.mailUnconfigured) {
    let damaged: LsmError | null = null;
    let first = true; // a marker lsm cannot trust never silences the note
    try { first = firstTimeUnconfigured(settings.spoolDir); } catch (err) { if (!(err instanceof LsmError)) throw err; damaged = err; }
    if (first) warn(`no mail delivery: no sendmail on this machine and no SMTP_URL in the config; alerts stay in ${settings.spoolDir} (lsm status shows them). Set SMTP_URL or SENDMAIL, then run lsm flush`);
    if (damaged) { warn(damaged.message); raiseExitCode(damaged.exitCode); }
  }
  return report;
}
