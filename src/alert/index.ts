// alert: every recorded change reaches a person, once. Spool first (atomic, fsync'd, under the
// repository lock, so each commit is spooled exactly once whoever runs), then deliver through each
// channel (event log, hooks, mail) under the spool's own lock, so an entry one run is delivering
// is never delivered by another; an entry leaves the spool only when every channel accepted it.
// Each channel keeps the alerts' order: it stops at its first failure and tries again on the next
// run, with back-off. Nothing here prints: the CLI reports what happened.
import { igit, readRef } from '../store/git.js';
import { dirname, join } from 'node:path';
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, readSync, readdirSync } from 'node:fs';
import { appendChecked, createExclusive, openChecked, readChecked } from '../safe-path.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { writeFileAtomic } from '../store/atomic-fs.js';
import { summarize } from '../store/changes.js';
import { lockRepository } from '../store/lock.js';
import { BASELINE_REF, headCommit, openRepo, readBlobText, textLines, treeFiles, type Repo } from '../store/repo.js';
import { baselineHistory } from '../store/baseline.js';
import { escapeText } from '../snapshot/escape.js';
import { asDamage } from '../store/damage.js';
import { describe } from '../store/layout.js';
import { LsmError } from '../errors.js';
import { crashPoint } from '../testing/crash-point.js';
import type { Change } from '../types.js';
import type { MailSettings } from './mail.js';
import type { Alert, AlertBaseline } from './message.js';
import { CHANNELS, InvalidEntry, QUARANTINE, Spool, spoolDirProblem, type Channel, type ChannelState, type SpoolEntry } from './spool.js';

export const ALERTED_REF = 'refs/lsm/alerted'; // the last commit whose alert is spooled
// every commit an alert was spooled for, one id a line: when refs/lsm/alerted is lost or left
// behind by a `git reset`, the newest of these that HEAD descends from is where alerting resumes
const SPOOLED_LOG = 'lsm/spooled';
const MAX_CATCH_UP = 1000;
const SPOOLED_TAIL = 64 * 1024; // of lsm/spooled: more than MAX_CATCH_UP lines, a bounded read however long the history

// What only a run with something to spool or deliver uses, loaded then: the cron run with nothing
// new (HEAD already alerted, the spool empty) does not import these modules at all.
let history!: typeof import('../store/history.js');
let eventlog!: typeof import('./eventlog.js');
let hooks!: typeof import('./hooks.js');
let mail!: typeof import('./mail.js');
let message!: typeof import('./message.js');
async function loadDelivery(): Promise<void> {
  if (history) return;
  [history, eventlog, hooks, mail, message] = await Promise.all([
    import('../store/history.js'), import('./eventlog.js'), import('./hooks.js'), import('./mail.js'), import('./message.js'),
  ]);
}

export interface AlertSettings {
  repoDir: string;
  spoolDir: string;
  eventLog: string; // '' = off
  hooksDir: string;
  mail: MailSettings;
  host: string;
  repoFlag?: boolean; // repoDir is not the default: the mail's commands name it
}

async function markAlerted(repo: Repo, commit: string): Promise<void> {
  mkdirSync(dirname(join(repo.gitdir, ALERTED_REF)), { recursive: true });
  await writeFileAtomic(join(repo.gitdir, ALERTED_REF), `${commit}\n`, repo.gitdir);
}

function recordSpooled(repo: Repo, commits: string[]): void {
  if (commits.length === 0) return;
  mkdirSync(join(repo.gitdir, 'lsm'), { recursive: true });
  appendChecked(join(repo.gitdir, SPOOLED_LOG), commits.map((c) => `${c}\n`).join(''), 0o600);
}

function spooledCommits(repo: Repo, spool: Spool, walked: string[]): Set<string> {
  const known = new Set<string>();
  try { for (const l of readChecked(join(repo.gitdir, SPOOLED_LOG)).split('\n')) if (/^[0-9a-f]{40}$/.test(l)) known.add(l); } catch { /* none yet */ }
  // the spool's entries count only when they are about this history: a spool can hold another
  // repository's alerts (one removed and made again at the same path, or an unclaimed spool)
  const ours = new Set(walked);
  for (const e of spool.list()) if (ours.has(e.commit)) known.add(e.commit);
  return known;
}

/**
 * Of the commits after refs/lsm/alerted (newest first), those no spooled alert covers yet. A run
 * killed after spooling but before moving the ref left the rest: spooled again, they would be
 * alerted twice (a watch's burst alert then covered them again with the next commit, or `lsm
 * flush` had delivered and removed their entry). The spool's names and the tail of lsm/spooled
 * (what was recorded since the ref last moved) say which they are.
 */
function notCoveredYet(repo: Repo, spool: Spool, walked: string[]): string[] {
  const covered = spool.commits();
  let fd: number | null = null;
  try {
    fd = openChecked(join(repo.gitdir, SPOOLED_LOG), constants.O_RDONLY);
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, SPOOLED_TAIL));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    for (const l of tail.toString('latin1').split('\n')) if (/^[0-9a-f]{40}$/.test(l)) covered.add(l); // a line cut by the tail's start is not a commit
  } catch { /* none recorded yet */ } finally {
    if (fd !== null) closeSync(fd);
  }
  const newestCovered = walked.findIndex((c) => covered.has(c));
  return newestCovered < 0 ? walked : walked.slice(0, newestCovered);
}

/**
 * The change against the approved baseline, for the mail's "what to do": two trees read, and of
 * the files the change touched, the baseline's copy and now's (not the whole snapshot). A baseline that
 * does not read leaves it out (lsm -c and lsm verify say so; the alert still goes).
 */
async function againstBaseline(repo: Repo, change: Change): Promise<AlertBaseline | undefined> {
  try {
    const commit = readRef(repo.gitdir, BASELINE_REF);
    if (commit === null) return { commit: null, notIn: 0, goneFrom: 0, matches: false };
    const git = await igit();
    const tree = async (oid: string) => (await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache })).commit.tree;
    const move = baselineHistory(repo).reverse().find((m) => m.to === commit);
    const approved = move ? { approvedAt: move.time, approvedBy: escapeText(move.who) } : {}; // a name from the system: escaped as every one is
    if ((await tree(commit)) === (await tree(change.commit))) return { commit, ...approved, notIn: 0, goneFrom: 0, matches: true };
    const [base, now] = [await treeFiles(repo, commit), await treeFiles(repo, change.commit)];
    let notIn = 0, goneFrom = 0;
    const changed = new Set(change.files.map((f) => f.path));
    // differences this change did not make: a file it did not touch that differs, or in a file it
    // touched, a line of the baseline's or of now's that neither this change added nor removed
    let earlier = [...new Set([...base.keys(), ...now.keys()])].some((p) => !changed.has(p) && base.get(p) !== now.get(p));
    for (const f of change.files) {
      const read = async (oid: string | undefined) => new Set(oid ? textLines(await readBlobText(repo, oid)) : []);
      const [was, is] = [await read(base.get(f.path)), await read(now.get(f.path))];
      notIn += f.added.filter((l) => !was.has(l)).length;
      goneFrom += f.removed.filter((l) => was.has(l)).length;
      if (earlier) continue;
      const added = new Set(f.added), removed = new Set(f.removed);
      earlier = [...is].some((l) => !was.has(l) && !added.has(l)) || [...was].some((l) => !is.has(l) && !removed.has(l));
    }
    return { commit, ...approved, notIn, goneFrom, matches: false, ...(earlier ? { earlier } : {}) };
  } catch {
    return undefined;
  }
}

async function alertFor(repo: Repo, change: Change, now: Map<string, SnapshotLine[]> | null, s: AlertSettings): Promise<Alert> {
  await loadDelivery();
  const diff = await history.commitDiff(repo, change.parent, change.commit);
  const alert = message.buildAlert(change, now, diff, s.host, s.repoDir, s.repoFlag);
  const baseline = await againstBaseline(repo, change);
  return baseline ? { ...alert, baseline } : alert;
}

export interface SpoolResult { added: number; notes: string[] }

/**
 * Spool an alert for every commit not alerted yet: this scan's, and any that a run killed between
 * commit and spool (or a full disk, or `lsm watch` killed mid-burst) left behind. The first
 * snapshot of a repository is the starting point, not a change, and raises none. `now` gives the
 * owners of the new sockets as they are now. With `coalesce` (lsm watch), several commits give
 * one alert for their net change, unless it nets to nothing.
 *
 * A missing or damaged refs/lsm/alerted, or one HEAD does not descend from (a `git reset`), never
 * floods: alerting resumes after the newest commit already spooled that HEAD descends from (or,
 * knowing none, with HEAD's change alone), and a note says so.
 */
export async function spoolPending(s: AlertSettings, now: Map<string, SnapshotLine[]> | null, options: { coalesce?: boolean } = {}): Promise<SpoolResult> {
  const repo = openRepo(s.repoDir);
  const current = await headCommit(repo);
  const safeAlerted = (): { oid: string | null; damaged: string | null } => {
    try { return { oid: readRef(repo.gitdir, ALERTED_REF), damaged: null }; } catch (err) { return { oid: null, damaged: (err as Error).message }; }
  };
  if (current === null || current === safeAlerted().oid) return { added: 0, notes: [] }; // the common case: nothing new
  const lock = await lockRepository(repo.gitdir);
  try {
    const notes: string[] = [];
    const head = await headCommit(repo);
    if (!head) return { added: 0, notes };
    const { oid: alerted, damaged } = safeAlerted();
    if (head === alerted) return { added: 0, notes };
    const git = await igit();
    await loadDelivery();
    const { isRepairMessage } = await import('../store/recover.js');
    const walked: string[] = []; // newest first
    const parents = new Map<string, string | null>();
    let reached = false;
    let repair = false; // HEAD repaired a damaged repository: its commit says so, and the run exits 65
    for (let oid: string | undefined = head; oid && walked.length <= MAX_CATCH_UP;) {
      if (oid === alerted) { reached = true; break; }
      let commit;
      try {
        ({ commit } = await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache }));
      } catch (err) {
        if (oid === head) throw asDamage(err, s.repoDir);
        break; // history damaged below here: what was walked is what can be alerted
      }
      if (oid === head) repair = isRepairMessage(commit.message);
      // the first snapshot is the starting point, not a change; a new history after damage is one
      if (commit.parent.length === 0 && !isRepairMessage(commit.message)) break;
      walked.push(oid);
      parents.set(oid, commit.parent[0] ?? null);
      if (commit.parent.length === 0) break;
      oid = commit.parent[0];
    }
    const spool = new Spool(s.spoolDir);
    let missed = walked;
    if (reached) missed = notCoveredYet(repo, spool, walked);
    const known = reached ? new Set<string>() : spooledCommits(repo, spool, walked);
    // a new repository, nothing to repair: no ref, one change at most, and nothing ever spooled (a
    // lost ref after HEAD's own alert looks the same but for the record of spooled commits)
    const freshRepo = alerted === null && !damaged && walked.length <= 1 && known.size === 0;
    if (!reached && !freshRepo) {
      const resume = walked.findIndex((c) => known.has(c));
      const why = damaged ? `${ALERTED_REF} is damaged` : alerted === null ? `${ALERTED_REF} is missing` :
        walked.length > MAX_CATCH_UP ? `${ALERTED_REF} is more than ${MAX_CATCH_UP} commits behind` : `${ALERTED_REF} (${alerted.slice(0, 10)}) is not an ancestor of HEAD (history was reset)`;
      if (repair) {
        // HEAD's own commit says what was damaged and what it covers: no note beside it
        missed = resume > 0 ? walked.slice(0, resume) : walked.slice(0, 1);
      } else if (resume === 0) {
        missed = [];
        notes.push(`${why}: HEAD (${head.slice(0, 10)}) was alerted already, nothing is alerted again`);
      } else if (resume > 0) {
        missed = walked.slice(0, resume);
        notes.push(`${why}: alerted the ${missed.length} commit${missed.length === 1 ? '' : 's'} after ${walked[resume].slice(0, 10)}, the newest already alerted, not the whole history`);
      } else {
        missed = walked.slice(0, 1);
        notes.push(`${why} and no commit of this history was alerted before: alerted only the newest change (${head.slice(0, 10)}), not the whole history`);
      }
    }
    missed = missed.slice().reverse(); // oldest first
    if (missed.length) spool.claim(s.repoDir);
    let added = 0;
    const spoolOne = async (change: Change, covers: string[]) => {
      if (!spool.has(change.commit) && (await spool.add(await alertFor(repo, change, change.commit === head ? now : null, s)))) added++;
      recordSpooled(repo, covers);
    };
    let coalesced = false;
    if (options.coalesce && missed.length > 1) {
      const parent = parents.get(missed[0])!;
      const files = await history.diffFiles(repo, parent ? await treeFiles(repo, parent) : new Map<string, string>(), await treeFiles(repo, head));
      // a socket that came and went within the burst nets to nothing: alert each commit instead
      if (files.length) {
        const last = await history.commitChange(repo, head);
        await spoolOne({ commit: head, parent, time: last.time, summary: summarize(files), files }, missed);
        coalesced = true;
      }
    }
    if (!coalesced) for (const oid of missed) await spoolOne(await history.commitChange(repo, oid), [oid]);
    crashPoint('after-spool');
    await markAlerted(repo, head);
    return { added, notes };
  } catch (err) {
    throw asDamage(err, s.repoDir); // a git error in lsm's words: what is damaged, where, what to run
  } finally {
    lock.release();
  }
}

/**
 * Spool a reminder of unapproved drift: it repeats an old change, with its own id, and does not
 * move refs/lsm/alerted. `now`: the owners as this scan saw them; `since`, per 'path\nline', the
 * commit that made each difference and when.
 */
export async function raiseReminder(s: AlertSettings, change: Change, now: Map<string, SnapshotLine[]> | null = null, since: Map<string, { commit: string | null; time: number }> = new Map()): Promise<void> {
  const repo = openRepo(s.repoDir);
  const lock = await lockRepository(repo.gitdir);
  try {
    const alert = await alertFor(repo, change, now, s);
    alert.id = `${change.commit}-reminder-${change.time}`;
    alert.reminder = true;
    for (const l of [...alert.added, ...alert.removed]) l.since = since.get(`${l.path}\n${l.line}`);
    await new Spool(s.spoolDir).add(alert);
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
  unrecorded?: number; // the event log failed this run (a full disk): the alert is kept and retried, and the run fails
}

const backoffMs = (attempts: number) => Math.min(60_000 * 2 ** (Math.max(1, attempts) - 1), 3_600_000);

/**
 * Whether a channel's back-off is over. Its next attempt is a wall-clock time and each run is a new
 * process (no monotonic clock lasts from one to the next): a time further ahead than the back-off
 * that set it was left by a clock since stepped back, and is due now. So a retry is never put off
 * by more than its back-off (1 h at most) whatever the clock did; a clock stepped forward only
 * makes it due sooner.
 */
const due = (st: ChannelState, now: number) => !(st.nextAttempt > now) || st.nextAttempt - now > backoffMs(st.attempts);
const copy = (channels: Record<Channel, ChannelState>): Record<Channel, ChannelState> => JSON.parse(JSON.stringify(channels)) as Record<Channel, ChannelState>;

async function deliverHooks(e: SpoolEntry, spool: Spool, s: AlertSettings, problems: string[]): Promise<void> {
  const found = hooks.listHooks(s.hooksDir);
  if (found.length === 0) return;
  const state = e.channels.hooks;
  const done = new Set(state.hooksDone ?? []);
  const failed: string[] = [];
  const refused: string[] = [];
  for (const h of found) {
    if (done.has(h.name)) continue;
    if (h.problem) { refused.push(h.name); problems.push(`hook ${h.path} refused: ${h.problem}`); continue; }
    const a = e.alert;
    const err = await hooks.runHook(h.path, hooks.hookInput(a), hooks.hookEnv(a));
    if (err) { failed.push(`${h.name}: ${err}`); continue; }
    crashPoint('after-hook');
    // recorded hook by hook: a run killed later does not run this one again
    done.add(h.name);
    state.hooksDone = [...done];
    await spool.save(e);
  }
  state.hooksRefused = refused;
  if (failed.length) throw new mail.DeliveryError(`hook ${failed.join('; ')}`, false);
  // refused: permanent until the hook is made safe, then retried (see revive)
  if (refused.length) throw new mail.DeliveryError(`hook ${refused.join(', ')} refused (retried once made safe)`, true);
}

/** A channel that failed permanently is tried again, for that channel alone, once its cause is gone. */
function revive(channel: Channel, st: ChannelState, s: AlertSettings, retryDead: boolean): boolean {
  if (retryDead) return true;
  if (channel === 'hooks' && st.hooksRefused?.length) {
    const now = new Map(hooks.listHooks(s.hooksDir).map((h) => [h.name, h.problem]));
    return st.hooksRefused.every((n) => !now.get(n)); // each refused hook is gone or safe now
  }
  return false;
}

/**
 * Deliver one channel of one entry. The state that success leaves is written before the channel is
 * tried and renamed into place after it (see Spool.prepare): a kill or a full disk after the send
 * never makes it go twice, except for a kill in the instant between the two (then the repeat
 * carries the same Message-ID / commit id).
 */
async function deliverChannel(channel: Channel, e: SpoolEntry, spool: Spool, s: AlertSettings, problems: string[]): Promise<'done' | 'unconfigured'> {
  if (channel === 'hooks') {
    await deliverHooks(e, spool, s, problems);
    Object.assign(e.channels.hooks, { done: true, dead: false, lastError: null });
    await spool.save(e); // (each hook that ran is recorded already: a failure here runs none again)
    return 'done';
  }
  if (channel === 'mail' && !mail.mailConfigured(s.mail)) return 'unconfigured';
  const after = copy(e.channels);
  Object.assign(after[channel], { done: true, dead: false, lastError: null });
  if (channel === 'mail') after.mail.sentTo = s.mail.to;
  const prepared = await spool.prepare(e, after);
  try {
    if (channel === 'eventlog') {
      if (s.eventLog) eventlog.appendEvent(s.eventLog, e.alert);
    } else {
      const sent = new Set(e.channels.mail.sentTo ?? []);
      const to = s.mail.to.filter((r) => !sent.has(r));
      if (to.length) {
        const { rejected } = await mail.sendAlertMail(e.alert, s.mail, to);
        crashPoint('after-send');
        if (rejected.length) {
          prepared.abort();
          const no = new Set(rejected);
          e.channels.mail.sentTo = [...sent, ...to.filter((r) => !no.has(r))];
          throw new mail.DeliveryError(`recipient rejected: ${rejected.join(', ')}`, true);
        }
      }
    }
  } catch (err) {
    prepared.abort();
    throw err;
  }
  await prepared.commit();
  return 'done';
}

function reportQuarantine(spool: Spool, s: AlertSettings, report: DeliveryReport): void {
  for (const q of spool.quarantined.splice(0)) {
    report.problems.push(q.moved ? `spool: ${q.file} moved to ${join(s.spoolDir, QUARANTINE)}: ${q.reason}` : `spool: ${q.file} not moved to quarantine (${q.why}): ${q.reason}; skipped`);
    if (s.eventLog) {
      try { eventlog.appendNotice(s.eventLog, { event: 'spool-quarantine', host: s.host, file: q.file, reason: q.reason, repo: s.repoDir }); } catch { /* reported on stderr */ }
    }
  }
}

/**
 * Deliver what the spool holds, in the order it was spooled. force: ignore back-off (`lsm flush`);
 * retryDead: try permanently failed channels again (after fixing the cause); now: the wall clock
 * (tests step it). The spool's lock is held throughout: another run waits, then finds the entries done.
 */
export async function deliver(s: AlertSettings, options: { force?: boolean; retryDead?: boolean; now?: number } = {}): Promise<DeliveryReport> {
  const spool = new Spool(s.spoolDir);
  const report: DeliveryReport = { delivered: 0, pending: 0, dead: 0, problems: [], mailUnconfigured: false };
  const refused = spoolDirProblem(s.spoolDir); // not a real directory: nothing in it is read, delivered or removed
  if (refused) throw refused;
  if (!existsSync(s.spoolDir) || !readdirSync(s.spoolDir).some((n) => !n.startsWith('.') && n !== QUARANTINE)) return report; // nothing spooled
  const lock = await lockRepository(s.spoolDir).catch((err) => { report.problems.push(`${(err as Error).message}: it delivers what is spooled`); return null; });
  if (!lock) return report;
  try {
    await loadDelivery();
    const now = options.now ?? Date.now();
    const entries = spool.list({ clean: true });
    reportQuarantine(spool, s, report);
    for (const channel of CHANNELS) {
      let blocked = false; // a failure stops the channel: later alerts must not overtake earlier ones
      for (const e of entries) {
        const st = e.channels[channel];
        if (st.done) continue;
        if (st.dead && revive(channel, st, s, !!options.retryDead)) { st.dead = false; st.nextAttempt = 0; }
        if (st.dead || blocked) continue;
        if (!options.force && !due(st, now)) {
          const waiting = entries.filter((x) => !x.channels[channel].done && !x.channels[channel].dead).length;
          report.problems.push(`${waiting} alert${waiting === 1 ? '' : 's'} waiting for ${channel}, next try after ${new Date(st.nextAttempt).toISOString()} (last error: ${st.lastError}; lsm flush tries now)`);
          blocked = true;
          continue;
        }
        try {
          const result = await deliverChannel(channel, e, spool, s, report.problems);
          if (result === 'unconfigured') { report.mailUnconfigured = true; blocked = true; continue; }
        } catch (err) {
          if (err instanceof InvalidEntry) { spool.quarantineEntry(e, `not a spool entry: ${err.message}`); reportQuarantine(spool, s, report); continue; }
          const permanent = err instanceof mail.DeliveryError && err.permanent;
          st.attempts++;
          st.lastError = (err as Error).message;
          st.nextAttempt = now + backoffMs(st.attempts);
          st.dead = permanent;
          blocked = !permanent;
          if (channel === 'eventlog') report.unrecorded = (report.unrecorded ?? 0) + 1;
          report.problems.push(`alert ${e.commit.slice(0, 10)}: ${channel}: ${st.lastError}${permanent ? (channel === 'hooks' ? '' : ' (permanent: kept in the spool; fix, then lsm flush --retry-dead)') : ''}`);
          try { await spool.save(e); } catch (e2) { report.problems.push(`cannot record the delivery state in ${s.spoolDir}: ${(e2 as Error).message}`); }
        }
      }
    }
    const gone = new Set(readdirSync(s.spoolDir));
    for (const e of entries) {
      if (!gone.has(e.file)) continue; // quarantined
      if (CHANNELS.every((c) => e.channels[c].done)) { spool.remove(e); report.delivered++; }
      else if (CHANNELS.some((c) => e.channels[c].dead)) report.dead++;
      else report.pending++;
    }
  } finally {
    lock.release();
  }
  return report;
}

/** For `lsm status`: what waits in the spool, and what was moved to its quarantine. */
export function spoolSummary(spoolDir: string): { pending: number; dead: number; oldest: number | null; lastErrors: string[]; quarantined: number; refused: string | null } {
  const refused = spoolDirProblem(spoolDir);
  if (refused) return { pending: 0, dead: 0, oldest: null, lastErrors: [], quarantined: 0, refused: refused.message };
  const spool = new Spool(spoolDir);
  const entries = spool.list();
  const dead = entries.filter((e) => CHANNELS.some((c) => e.channels[c].dead));
  let quarantined = 0;
  try { quarantined = readdirSync(join(spoolDir, QUARANTINE)).filter((n) => !n.endsWith('.state')).length; } catch { /* none */ }
  return {
    pending: entries.length - dead.length, dead: dead.length, oldest: entries[0]?.spooledAt ?? null, quarantined, refused: null,
    lastErrors: entries.flatMap((e) => CHANNELS.map((c) => e.channels[c].lastError).filter((x): x is string => !!x).map((m) => `${e.commit.slice(0, 10)}: ${m}`)).slice(0, 5),
  };
}

/**
 * True the first time it is asked for this spool: lsm says once how to configure delivery. Only a
 * regular file says it was told: anything else there (a FIFO, a link, a directory: damage or a
 * plant that would silence the note for ever) is thrown as what it is (65), never followed.
 */
export function firstTimeUnconfigured(spoolDir: string): boolean {
  const marker = join(spoolDir, '.told-no-mail');
  try { createExclusive(marker, ''); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // say it again next time
    const st = lstatSync(marker, { throwIfNoEntry: false });
    if (!st || st.isFile()) return false;
    throw new LsmError(`spool ${marker} is ${describe(marker, st)}, not a file lsm made: damage, never followed; move it aside (mv ${marker} ${marker}.damaged), then lsm says once more that mail is not configured`, 'Damaged', { damage: marker });
  }
  return true;
}
