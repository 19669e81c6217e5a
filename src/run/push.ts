// The layer's last stage on a host of a fleet: push what the server does not have yet. A failed
// push never fails the run: it is said on stderr, kept for `lsm status`, written to the event log
// and retried next run. A divergence is raised as an alert; failing to spool that alert is the one
// thing pushFleet throws: it fails the run (as any alert that cannot be spooled), raised again next run.
import { appendNotice } from '../alert/eventlog.js';
import { Spool } from '../alert/spool.js';
import type { Alert } from '../alert/message.js';
import { LsmError, reason } from '../errors.js';
import { markDivergenceAlerted, pushHistory, readPushState, remoteCredentials, type PushOutcome } from '../fleet/push.js';
import { hostRef } from '../fleet/names.js';
import { alertSettings, flushAlerts } from './alerts.js';
import type { Context } from './settings.js';
import { warn } from './warn.js';

function logEvent(ctx: Context, record: Record<string, unknown>): void {
  const path = ctx.loaded.config.eventLog;
  if (!path) return;
  try {
    appendNotice(path, record);
  } catch { /* the event log is a channel of its own; a scan never fails on it */ }
}

export async function pushFleet(ctx: Context): Promise<PushOutcome | null> {
  const c = ctx.loaded.config;
  if (!c.remote) return null;
  let outcome: PushOutcome | null;
  try {
    outcome = await pushHistory(ctx.repoDir, { remote: c.remote, tokenFile: c.remoteTokenFile, hostId: c.hostId });
  } catch (err) {
    // a bad REMOTE/HOST_ID/token file: said every run, never blocks the scan
    warn(`fleet push: ${(err as Error).message}`);
    return null;
  }
  if (!outcome) return null;
  const { state } = outcome;
  const url = remoteCredentials({ remote: c.remote, tokenFile: '', hostId: c.hostId }).url;
  logEvent(ctx, { time: new Date(state.time).toISOString(), event: 'push', host: c.hostId, ok: state.ok, remote: url, branch: `hosts/${c.hostId}`, commit: state.head, error: state.error });
  if (!state.ok) warn(`fleet push to hosts/${c.hostId} failed (retried next run): ${state.error}`);
  if (outcome.divergence) {
    const d = outcome.divergence;
    const s = alertSettings(ctx);
    const alert: Alert = {
      id: `${d.head}-fleet-diverged-${d.kind}`, commit: d.head, parent: d.pushed, host: s.host, time: state.time,
      summary: `FLEET HISTORY DIVERGED (${hostRef(c.hostId)}): ${d.message}`, added: [], removed: [], diff: '', repo: ctx.repoDir,
    };
    try {
      await new Spool(s.spoolDir).add(alert);
    } catch (err) {
      throw new LsmError(`cannot spool the fleet divergence alert (raised again next run): ${reason(err)}`, err instanceof LsmError ? err.code : 'NotRecorded', err instanceof LsmError ? err.data : { errno: (err as NodeJS.ErrnoException).code });
    }
    try {
      await markDivergenceAlerted(ctx.repoDir, d.kind, d.head); // lost: the next run finds the alert spooled already (its id)
      await flushAlerts(ctx);
    } catch (err) {
      warn(`fleet divergence alert: ${reason(err)}`);
    }
  }
  return outcome;
}

/** For `lsm status`: one line about the fleet push, or none when no REMOTE is set. */
export function pushStatusLine(ctx: Context): string | null {
  const c = ctx.loaded.config;
  if (!c.remote) return null;
  const st = readPushState(ctx.repoDir);
  const branch = `hosts/${c.hostId}`;
  if (!st) return `fleet: nothing pushed to ${branch} yet`;
  const at = (t: number | null) => (t ? new Date(t).toISOString() : 'never');
  if (st.ok) return `fleet: ${branch} up to date at ${st.pushed?.slice(0, 10)} (pushed ${at(st.lastSuccess)})`;
  return `fleet: push to ${branch} failing since ${at(st.failingSince)} (last success ${at(st.lastSuccess)}): ${st.error}`;
}
