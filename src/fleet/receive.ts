// Server side, post-receive: record when each host pushed (lsm/pushes.jsonl) and index what
// arrived. Then, apart from the push (the hook starts it; \`lsm fleet check\` from cron catches up
// too), one central alert per new commit is spooled from that record and delivered through the
// alert pipeline, so a host whose own mail was silenced still reports here. Nothing is lost in
// between: the record is on disk before the pushing host hears 'ok', and lsm/pushes.spooled says
// how far it has been spooled.
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { reason } from '../errors.js';
import { lockRepository, type Lock } from '../store/lock.js';
import type { AlertSettings, DeliveryReport } from '../alert/index.js';
import type { Alert } from '../alert/message.js';
import { digestHead, digestHosts, mailDue, readDigest, writeDigest, type HeldChange } from './digest.js';
import { fleetRefs, markSeen, recordPush, updateHostIndex, type FleetRefs, type PushRecord } from './catalog.js';
import { writeFileAtomic } from '../store/atomic-fs.js';
import { pushesWait, recordCentralProblems } from './central-state.js';
import { centralDamage, checkCentralLayout } from './central-layout.js';
import { runGit } from './git-run.js';
import { parseUpdates, ZERO, type RefUpdate } from './guard.js';
import { baselineOfRef, hostOfRef } from './names.js';

const MAX_ALERTS_PER_PUSH = 1000;
const QUEUED = /^\d+-\d+$/; // lsm/queue/<ms>-<pid>; '.tmp' is one being written

export interface ReceiveReport { indexed: string[]; recorded: number; problems: string[] }

/** After a push: record and index it (the alerts follow from the record: spoolReceived). */
export function received(gitdir: string, updates: RefUpdate[], user: string, now = Date.now(), refsNow: () => FleetRefs = () => fleetRefs(gitdir)): ReceiveReport {
  checkCentralLayout(gitdir); // nothing recorded through a damaged path: the push stays queued
  const report: ReceiveReport = { indexed: [], recorded: 0, problems: [] };
  // after the push: the hosts' tips and baselines as they are now (read only when something moved: not for a heartbeat)
  let known: FleetRefs | undefined;
  const refs = () => (known ??= refsNow());
  // a baseline pushed: the host's drift is derived again (its commits are indexed already)
  for (const u of updates) {
    const host = baselineOfRef(u.ref);
    if (host === null || u.new === ZERO || updates.some((o) => hostOfRef(o.ref) === host)) continue;
    const tip = refs().tips.get(host);
    if (tip === undefined) continue;
    markSeen(gitdir, host, now);
    try {
      updateHostIndex(gitdir, host, tip, null, refs().baselines.get(host) ?? null);
      report.indexed.push(host);
    } catch (err) {
      report.problems.push(`index of hosts/${host}: ${(err as Error).message} (lsm fleet reindex rebuilds it)`);
    }
  }
  for (const u of updates) {
    const host = hostOfRef(u.ref);
    if (host === null || u.new === ZERO) continue;
    markSeen(gitdir, host, now);
    if (u.old === u.new) continue; // a heartbeat: the host lives, nothing new
    recordPush(gitdir, { t: now, host, old: u.old, new: u.new, user });
    report.recorded++;
    try {
      updateHostIndex(gitdir, host, u.new, now, refs().baselines.get(host) ?? null);
      report.indexed.push(host);
    } catch (err) {
      report.problems.push(`index of hosts/${host}: ${(err as Error).message} (lsm fleet reindex rebuilds it)`);
    }
  }
  return report;
}

/**
 * What the post-receive hook queued (lsm/queue/<ms>-<pid>: the user, then git's update lines):
 * recorded and indexed as received() does, at the time it arrived, oldest first. Call under lockCentral.
 */
export function drainQueue(gitdir: string): ReceiveReport {
  const report: ReceiveReport = { indexed: [], recorded: 0, problems: [] };
  const dir = join(gitdir, 'lsm', 'queue');
  let names: string[] = [];
  try { names = readdirSync(dir).filter((n) => QUEUED.test(n)).sort(); } catch { return report; }
  // read once for the whole queue: what it holds has landed already, the refs are at least that new
  let refs: FleetRefs | undefined;
  const refsNow = () => (refs ??= fleetRefs(gitdir));
  for (const n of names) {
    try {
      const text = readFileSync(join(dir, n), 'utf8');
      const nl = text.indexOf('\n');
      const r = received(gitdir, parseUpdates(text.slice(nl + 1)), text.slice(0, nl), Number(n.split('-')[0]), refsNow);
      report.indexed.push(...r.indexed);
      report.recorded += r.recorded;
      report.problems.push(...r.problems);
      unlinkSync(join(dir, n)); // after its record: a crash in between records it twice at most (spooled once: the spool's ids)
    } catch (err) {
      // kept, and the ones after it wait (pushes are recorded in the order they came): said, retried by the next drain or check
      report.problems.push(`the push queued as lsm/queue/${n} cannot be recorded (kept, retried next time; ${pushesWait(names.length - names.indexOf(n))}): ${(err as Error).message}`);
      break;
    }
  }
  return report;
}

const SPOOLED = 'lsm/pushes.spooled'; // 'OFFSET' or 'OFFSET DONE': pushes.jsonl spooled up to OFFSET, and DONE commits of the record there

/** How central mail is paced: at most one mail a host every `interval` ms (0: every change at once). */
export interface MailPace { interval: number; now?: number }
/** And when the web view marks a host silent (default 30 minutes: three default INTERVALs). */
export interface CentralPace extends MailPace { silentAfterMs?: number }

/**
 * Take the commits recorded in pushes.jsonl since the last time into each host's held changes
 * (digest.ts), then spool what is due: a host's one change as its own alert, several as one digest.
 * Call under lockCentral. Nothing counts as done before it is on disk: lsm/pushes.spooled moves past
 * a record only once its commits are held, and held changes are let go only once their alert is
 * spooled; the first failure stops here and the next drain or check starts again there.
 */
export async function spoolReceived(gitdir: string, alerts: Omit<AlertSettings, 'host' | 'repoDir'>, pace: MailPace): Promise<{ spooled: number; problems: string[] }> {
  const out = { spooled: 0, problems: [] as string[] };
  const now = pace.now ?? Date.now();
  let offset = 0, done = 0;
  try { [offset, done] = readFileSync(join(gitdir, SPOOLED), 'utf8').trim().split(' ').map((x) => Number(x) || 0); done ||= 0; } catch { /* from the start */ }
  let text = '';
  let fd: number | null = null;
  try { fd = openSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'r'); } catch { /* nothing recorded yet */ }
  if (fd !== null) {
    try {
      const size = fstatSync(fd).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        readSync(fd, buf, 0, buf.length, offset);
        text = buf.toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
  }
  const mark = async (at: string) => {
    try { await writeFileAtomic(join(gitdir, SPOOLED), at, join(gitdir, 'lsm'), 0o644, 'none'); return true; }
    catch (err) { out.problems.push(`cannot record how far central alerts are spooled (${SPOOLED}): ${(err as Error).message}`); return false; }
  };
  for (const line of text.split('\n').slice(0, -1)) { // only whole lines: a record being written waits
    const start = offset;
    offset += Buffer.byteLength(line) + 1;
    let rec: PushRecord;
    try { rec = JSON.parse(line) as PushRecord; } catch { out.problems.push(`lsm/pushes.jsonl: a damaged record skipped at byte ${start}`); if (!(await mark(String(offset)))) return out; continue; }
    const host = rec.host;
    const range = rec.old === ZERO ? [rec.new] : [rec.new, '--not', rec.old];
    const r = runGit(gitdir, ['rev-list', '--reverse', '--first-parent', '--parents', `--max-count=${MAX_ALERTS_PER_PUSH}`, ...range]);
    // the marker stays before this record (retried next time); what is held already still goes out below
    if (r.code !== 0) { out.problems.push(`central alerts for hosts/${host}: cannot list the pushed commits: ${r.err.trim().split('\n')[0]} (retried next time)`); break; }
    let state;
    try { state = readDigest(gitdir, host); } catch (err) {
      out.problems.push(`central alerts for hosts/${host}: ${(err as Error).message} (retried next time)`); // the marker stays before this record
      break;
    }
    const held = new Set(state.held.map((h) => h.oid));
    for (const l of r.out.toString().split('\n').filter(Boolean).slice(done)) {
      const [oid, parent] = l.split(' ');
      // a host's first snapshot is its starting point, not a change
      if (parent !== undefined && !held.has(oid)) { state.held.push({ oid, t: rec.t }); held.add(oid); }
    }
    done = 0;
    try { writeDigest(gitdir, host, state); } catch (err) {
      out.problems.push(`central alerts for hosts/${host}: cannot hold its changes in lsm/digest (retried next time): ${(err as Error).message}`);
      break;
    }
    if (!(await mark(String(offset)))) return out; // after each record: a crash repeats at most one
  }
  const { Spool } = await import('../alert/spool.js');
  const spool = new Spool(alerts.spoolDir);
  for (const host of digestHosts(gitdir)) {
    let state;
    try { state = readDigest(gitdir, host); } catch (err) { out.problems.push(`central alerts for hosts/${host}: ${(err as Error).message}`); continue; }
    if (!mailDue(state, pace.interval, now)) continue;
    // an interval of 0: every change its own mail, as they came; else all held ones in one
    const mails = pace.interval === 0 ? state.held.map((h) => [h]) : [state.held];
    for (const [i, held] of mails.entries()) {
      try {
        const alert = await centralAlert(gitdir, host, held, pace.interval);
        if (!spool.has(alert.id) && await spool.add(alert)) out.spooled++;
        writeDigest(gitdir, host, { lastMail: now, held: mails.slice(i + 1).flat() });
      } catch (err) {
        // not spooled: still held, retried by the next drain or check
        out.problems.push(`central alert for hosts/${host} ${held[0].oid.slice(0, 10)}${held.length > 1 ? ` and ${held.length - 1} more changes` : ''} not spooled in ${alerts.spoolDir} (retried next time): ${reason(err)}`);
        break;
      }
    }
  }
  return out;
}

/** One held change: its alert as ever; several: one digest naming each, showing the net change. */
async function centralAlert(gitdir: string, host: string, held: HeldChange[], interval: number): Promise<Alert> {
  // the alert pipeline is loaded only here, never in the push's own hook
  const [{ alertSubject, alertText, buildAlert }, { unifiedDiff }, { pushedChange }, { boundField, prefixWithin, MAIL_BODY_MAX }, { escapeText }, { formatDuration }] = await Promise.all([
    import('../alert/message.js'), import('../store/history.js'), import('./commit-read.js'), import('../alert/bounds.js'), import('../snapshot/escape.js'), import('../duration.js')]);
  const first = held[0].oid, last = held[held.length - 1].oid;
  const parent = held.length === 1 ? undefined : runGit(gitdir, ['rev-parse', '--verify', '--quiet', `${first}^`]).out.toString().trim() || undefined;
  const { change, before, after } = pushedChange(gitdir, last, parent);
  const where = `${gitdir} (branch hosts/${host})`;
  const alert = { ...buildAlert(change, null, unifiedDiff(before, after), host, where), id: `${last}-fleet-host-${host}` };
  alert.subject = alertSubject(alert, host); // 'web-1: +1 tcp 0.0.0.0:4444': the host, not the server SUB names
  if (held.length === 1) return alert;
  // each change's own line (a host wrote it: escaped, bounded), then the net change, within the mail's bound
  const summaries = runGit(gitdir, ['log', '--first-parent', '--format=%H %s', `${first}^..${last}`]).out.toString('utf8').split('\n');
  // escaped word by word: control characters shown, the spaces between words kept (a line for a person)
  const readable = (s: string) => s.split(' ').map((w) => (w === '' ? '' : escapeText(w))).join(' ');
  const summary = new Map(summaries.map((l) => [l.slice(0, 40), boundField(readable(l.slice(41)), 200)]));
  const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const head = digestHead(host, held.map((h) => ({ ...h, summary: summary.get(h.oid) ?? '' })), formatDuration(interval), stamp).join('\n') + '\n';
  const digest = { ...alert, id: `${last}-fleet-digest-${host}-${held.length}`, subject: alertSubject({ ...alert, subject: undefined }, `${host}: ${held.length} changes`) };
  const budget = MAIL_BODY_MAX - Buffer.byteLength(head);
  digest.notice = budget > 64 << 10 ? head + alertText(alert, budget) : prefixWithin(head, MAIL_BODY_MAX - 200) + `\n…[cut: the rest of ${held.length} changes; lsm fleet log --host ${host}]\n`;
  return digest;
}

/**
 * Deliver the central spool. Hosts push at once: deliveries take turns (or two would send the same
 * alert), and run after the push has returned (the hook starts them apart), so a slow mail server
 * never holds a host's push.
 */
export async function deliverCentral(gitdir: string, alerts: Omit<AlertSettings, 'host' | 'repoDir'>, pace: CentralPace): Promise<DeliveryReport> {
  // a damaged lsm/ stops the drain before its lock (taken in lsm/): the pushes stay queued, said until it is moved aside
  const damage = centralDamage(gitdir);
  if (damage.length) {
    recordCentralProblems(gitdir, damage);
    return { delivered: 0, pending: 0, dead: 0, problems: damage, mailUnconfigured: false };
  }
  const lock = await lockCentral(gitdir);
  try {
    const queued = drainQueue(gitdir);
    const spooled = await spoolReceived(gitdir, alerts, pace);
    const { deliver } = await import('../alert/index.js');
    const report = await deliver({ ...alerts, host: '', repoDir: gitdir });
    // then the web view (after the mail: an alert is not held by a page): the hosts just indexed, and the fleet's files
    const { writeFleetWeb } = await import('./web/generate.js');
    const web = await writeFleetWeb(gitdir, queued.indexed, { silentAfterMs: pace.silentAfterMs ?? 3 * 600_000, now: pace.now });
    const problems = [...queued.problems, ...spooled.problems, ...report.problems, ...web.problems];
    recordCentralProblems(gitdir, problems);
    return { ...report, problems };
  } finally {
    lock.release();
  }
}

/** The first push that waits in lsm/queue (its name), or null. */
function firstQueued(gitdir: string): string | null {
  try { return readdirSync(join(gitdir, 'lsm', 'queue')).filter((n) => QUEUED.test(n)).sort()[0] ?? null; } catch { return null; }
}

/** Whether a push waits in lsm/queue. */
export const queued = (gitdir: string): boolean => firstQueued(gitdir) !== null;

/**
 * The drain the post-receive hook starts (one at a time: it holds lsm/drain.lock meanwhile). It
 * goes on while pushes keep coming, waiting up to lingerMs for the next, so a burst of pushes, or a
 * fleet's steady heartbeats, is one node start, not one a push; after shiftMs it ends, and the
 * hook's loop starts the next one if anything is queued.
 */
export async function drainWhileQueued(gitdir: string, alerts: Omit<AlertSettings, 'host' | 'repoDir'>, pace: CentralPace, o = { lingerMs: 2000, shiftMs: 600_000 }): Promise<boolean> {
  const started = Date.now();
  do {
    const first = firstQueued(gitdir);
    await deliverCentral(gitdir, alerts, pace);
    // the first push still there: it cannot be recorded (said in lsm/central-failing); going round
    // again would only spin. False: the hook's loop stops too, fleet check or the next push retries
    if (first !== null && firstQueued(gitdir) === first) return false;
    for (const until = Date.now() + o.lingerMs; !queued(gitdir) && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
  } while (queued(gitdir) && Date.now() - started < o.shiftMs);
  return true;
}

export async function lockCentral(gitdir: string): Promise<Lock> {
  mkdirSync(join(gitdir, 'lsm'), { recursive: true });
  return lockRepository(join(gitdir, 'lsm'), 120_000);
}

