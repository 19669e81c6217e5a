// alert: every recorded change reaches a person. Spool first (atomic, fsync'd), then deliver
// through each channel (event log, hooks, mail); an entry leaves the spool only when every channel
// accepted it. Each channel keeps the alerts' order: it stops at its first failure and tries again
// on the next run, with back-off. Nothing here prints: the CLI reports what happened.
import { igit, readRef } from '../store/git.js';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { createExclusive } from '../safe-path.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { writeFileAtomic } from '../store/atomic-fs.js';
import { commitChange, snapshotFiles, unifiedDiff } from '../store/history.js';
import { lockRepository } from '../store/lock.js';
import { headCommit, openRepo, type Repo } from '../store/repo.js';
import type { Change } from '../types.js';
import { appendEvent, eventRecord } from './eventlog.js';
import { listHooks, runHook } from './hooks.js';
import { DeliveryError, mailConfigured, sendAlertMail, type MailSettings } from './mail.js';
import { buildAlert, type Alert } from './message.js';
import { CHANNELS, Spool, type Channel, type SpoolEntry } from './spool.js';

export const ALERTED_REF = 'refs/lsm/alerted'; // the last commit whose alert is spooled
const MAX_CATCH_UP = 1000;

export interface AlertSettings {
  repoDir: string;
  spoolDir: string;
  eventLog: string; // '' = off
  hooksDir: string;
  mail: MailSettings;
  host: string;
}

async function alertedCommit(repo: Repo): Promise<string | null> {
  return readRef(repo.gitdir, ALERTED_REF);
}

async function markAlerted(repo: Repo, commit: string): Promise<void> {
  mkdirSync(dirname(join(repo.gitdir, ALERTED_REF)), { recursive: true });
  await writeFileAtomic(join(repo.gitdir, ALERTED_REF), `${commit}\n`, repo.gitdir);
}

async function alertFor(repo: Repo, change: Change, now: Map<string, SnapshotLine[]> | null, s: AlertSettings): Promise<Alert> {
  const diff = unifiedDiff(await snapshotFiles(repo, change.parent), await snapshotFiles(repo, change.commit));
  return buildAlert(change, now, diff, s.host, s.repoDir);
}

/**
 * Spool an alert for every commit not alerted yet: this scan's, and any that a run killed between
 * commit and spool left behind. The first snapshot of a repository is the starting point, not a
 * change, and raises none. `now` gives the owners of the new sockets as they are now.
 */
export async function spoolPending(s: AlertSettings, now: Map<string, SnapshotLine[]> | null): Promise<number> {
  const repo = openRepo(s.repoDir);
  const current = await headCommit(repo);
  if (current === null || current === (await alertedCommit(repo))) return 0; // the common case: nothing new
  const lock = await lockRepository(repo.gitdir);
  try {
    const head = await headCommit(repo);
    if (!head) return 0;
    const alerted = await alertedCommit(repo);
    const missed: string[] = [];
    for (let oid: string | undefined = head; oid && oid !== alerted && missed.length < MAX_CATCH_UP;) {
      const { commit } = await (await igit()).readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
      if (commit.parent.length === 0) break; // the first snapshot
      missed.push(oid);
      oid = commit.parent[0];
    }
    const spool = new Spool(s.spoolDir);
    let added = 0;
    for (const oid of missed.reverse()) {
      if (spool.has(oid)) continue;
      if (await spool.add(await alertFor(repo, await commitChange(repo, oid), oid === head ? now : null, s))) added++;
    }
    if (head !== alerted) await markAlerted(repo, head);
    return added;
  } finally {
    lock.release();
  }
}

/** Spool one alert for a change that may span several commits (lsm watch coalesces a burst). */
export async function raiseAlert(s: AlertSettings, change: Change, now: Map<string, SnapshotLine[]> | null, reminder = false): Promise<void> {
  const repo = openRepo(s.repoDir);
  const lock = await lockRepository(repo.gitdir);
  try {
    const alert = await alertFor(repo, change, now, s);
    // a drift reminder repeats an old change: its own id, and it does not move refs/lsm/alerted
    if (reminder) { alert.id = `${change.commit}-reminder-${change.time}`; alert.reminder = true; }
    await new Spool(s.spoolDir).add(alert);
    if (!reminder) await markAlerted(repo, change.commit);
  } finally {
    lock.release();
  }
}

export interface DeliveryReport {
  delivered: number; // alerts that left the spool
  pending: number;
  dead: number;
  problems: string[]; // one line each: what failed this run
  mailUnconfigured: boolean;
}

const backoffMs = (attempts: number) => Math.min(60_000 * 2 ** (attempts - 1), 3_600_000);

// the alert itself (e.alert) is read only where a channel really uses it
async function deliverChannel(channel: Channel, e: SpoolEntry, s: AlertSettings, problems: string[]): Promise<'done' | 'unconfigured'> {
  if (channel === 'eventlog') {
    if (s.eventLog) appendEvent(s.eventLog, e.alert);
    return 'done';
  }
  if (channel === 'hooks') {
    const hooks = listHooks(s.hooksDir);
    if (hooks.length === 0) return 'done';
    const a = e.alert;
    const state = e.channels.hooks;
    const done = new Set(state.hooksDone ?? []);
    const failed: string[] = [];
    for (const h of hooks) {
      if (done.has(h.name)) continue;
      if (h.problem) { problems.push(`hook ${h.path} refused: ${h.problem}`); continue; }
      const env = { LSM_COMMIT: a.commit, LSM_PARENT: a.parent ?? '', LSM_SUMMARY: a.summary, LSM_HOST: a.host, LSM_REPO: a.repo, LSM_ADDED: String(a.added.length), LSM_REMOVED: String(a.removed.length) };
      const err = await runHook(h.path, JSON.stringify({ ...eventRecord(a), diff: a.diff }) + '\n', env);
      if (err) failed.push(`${h.name}: ${err}`);
      else done.add(h.name);
    }
    state.hooksDone = [...done];
    if (failed.length) throw new DeliveryError(`hook ${failed.join('; ')}`, false);
    return 'done';
  }
  if (!mailConfigured(s.mail)) return 'unconfigured';
  await sendAlertMail(e.alert, s.mail);
  return 'done';
}

/**
 * Deliver what the spool holds, oldest first. force: ignore back-off (`lsm flush`); retryDead:
 * try permanently failed channels again (after fixing the cause).
 */
export async function deliver(s: AlertSettings, options: { force?: boolean; retryDead?: boolean; now?: number } = {}): Promise<DeliveryReport> {
  const spool = new Spool(s.spoolDir);
  const entries = spool.list();
  const now = options.now ?? Date.now();
  const report: DeliveryReport = { delivered: 0, pending: 0, dead: 0, problems: [], mailUnconfigured: false };
  for (const channel of CHANNELS) {
    let blocked = false; // a failure stops the channel: later alerts must not overtake earlier ones
    for (const e of entries) {
      const st = e.channels[channel];
      if (st.done) continue;
      if (st.dead && options.retryDead) { st.dead = false; st.nextAttempt = 0; }
      if (st.dead || blocked) continue;
      if (!options.force && st.nextAttempt > now) {
        const waiting = entries.filter((x) => !x.channels[channel].done && !x.channels[channel].dead).length;
        report.problems.push(`${waiting} alert${waiting === 1 ? '' : 's'} waiting for ${channel}, next try after ${new Date(st.nextAttempt).toISOString()} (last error: ${st.lastError}; lsm flush tries now)`);
        blocked = true;
        continue;
      }
      try {
        const result = await deliverChannel(channel, e, s, report.problems);
        if (result === 'unconfigured') { report.mailUnconfigured = true; blocked = true; continue; }
        Object.assign(st, { done: true, lastError: null });
      } catch (err) {
        const permanent = err instanceof DeliveryError && err.permanent;
        st.attempts++;
        st.lastError = (err as Error).message;
        st.nextAttempt = now + backoffMs(st.attempts);
        st.dead = permanent;
        blocked = !permanent;
        report.problems.push(`alert ${e.commit.slice(0, 10)}: ${channel}: ${st.lastError}${permanent ? ' (permanent: kept in the spool; fix, then lsm flush --retry-dead)' : ''}`);
      }
      await spool.save(e);
    }
  }
  for (const e of entries) {
    if (CHANNELS.every((c) => e.channels[c].done)) { spool.remove(e); report.delivered++; }
    else if (CHANNELS.some((c) => e.channels[c].dead)) report.dead++;
    else report.pending++;
  }
  return report;
}

/** For `lsm status`: what waits in the spool. */
export function spoolSummary(spoolDir: string): { pending: number; dead: number; oldest: number | null; lastErrors: string[] } {
  const entries = new Spool(spoolDir).list();
  const dead = entries.filter((e) => CHANNELS.some((c) => e.channels[c].dead));
  return {
    pending: entries.length - dead.length, dead: dead.length, oldest: entries[0]?.spooledAt ?? null,
    lastErrors: entries.flatMap((e) => CHANNELS.map((c) => e.channels[c].lastError).filter((x): x is string => !!x).map((m) => `${e.commit.slice(0, 10)}: ${m}`)).slice(0, 5),
  };
}

/** True the first time it is asked for this spool: lsm says once how to configure delivery. */
export function firstTimeUnconfigured(spoolDir: string): boolean {
  const marker = join(spoolDir, '.told-no-mail');
  try { createExclusive(marker, ''); } catch (err) { return (err as NodeJS.ErrnoException).code !== 'EEXIST'; } // else: say it again next time
  return true;
}

