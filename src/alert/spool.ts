// The spool: an alert is a file here, written atomically and fsync'd before any delivery is
// tried, and removed only when every channel accepted it. Names sort in the order alerts were
// spooled (their commits' order), whatever the wall clock did meanwhile (see Spool.add).
// It is a queue to trust: anything in it that is not a valid entry (a stray file, a torn or
// foreign entry) is moved to quarantine/ and reported, never skipped silently nor left to block
// the valid alerts behind it.
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createExclusive, readChecked } from '../safe-path.js';
import { writeFileAtomic } from '../store/atomic-fs.js';
import { describe } from '../store/layout.js';
import { LsmError, reason } from '../errors.js';
import type { Alert } from './message.js';

export const CHANNELS = ['eventlog', 'hooks', 'mail'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface ChannelState {
  done: boolean;
  dead: boolean; // failed permanently: kept and reported, not retried until its cause is fixed
  attempts: number;
  nextAttempt: number; // unix ms (wall clock); back-off after a failure: see due() in index.ts for a stepped clock
  lastError: string | null;
  hooksDone?: string[]; // hooks that already ran for this alert (never run twice)
  hooksRefused?: string[]; // hooks refused (unsafe mode or owner): retried once they are safe
  sentTo?: string[]; // recipients that accepted the mail (a retry mails only the others)
}

export const QUARANTINE = 'quarantine';
// fleet alerts (src/fleet) name what they are about after the commit: -fleet-host-web-1, -fleet-silent-...
const ENTRY = /^\d+-\d+-([0-9a-f]{40}(?:-reminder-\d+|-fleet-[A-Za-z0-9._-]{1,120})?)\.json$/;
// ours, and not entries: the lock, the no-mail marker, the owner marker, temporary files
const OWN = /^(lsm\.lock(\.steal)?|\.told-no-mail|\.repo|\..*\.tmp)$/;

/** Why an alert body is not a valid one, or null when it is. */
export function alertProblem(body: unknown, id: string): string | null {
  if (typeof body !== 'object' || body === null) return 'not a JSON object';
  const a = (body as { alert?: unknown }).alert;
  if (typeof a !== 'object' || a === null) return 'no alert in it';
  const x = a as Partial<Alert>;
  if (x.id !== id) return `its alert id ${JSON.stringify(x.id)} does not match its name`;
  if (typeof x.commit !== 'string' || !/^[0-9a-f]{40}$/.test(x.commit)) return 'no commit id';
  if (typeof x.summary !== 'string' || !Array.isArray(x.added) || !Array.isArray(x.removed) || typeof x.diff !== 'string') return 'a field is missing';
  return null;
}

function stateProblem(st: unknown): string | null {
  if (typeof st !== 'object' || st === null) return 'state is not a JSON object';
  for (const c of CHANNELS) {
    const s = (st as Record<string, Partial<ChannelState>>)[c];
    if (typeof s !== 'object' || s === null || typeof s.done !== 'boolean' || typeof s.attempts !== 'number') return `state has no valid ${c} channel`;
  }
  return null;
}

export class InvalidEntry extends Error {}

const OWNER = '.repo'; // the repository a spool belongs to

/**
 * Why lsm refuses the spool directory itself, or null (a real directory, or none yet: made when
 * first needed). A symbolic link there is refused, never followed: through it root would write,
 * deliver and delete alerts in a directory someone else chose, and a file or FIFO in its place
 * is damage that would only show as a bare errno (ENOTDIR, EEXIST). The directories above it are
 * checkPath's (safe-path.ts): links there are the admin's, checked link by link.
 */
export function spoolDirProblem(dir: string): LsmError | null {
  let what: string | null;
  try { what = notADirectory(dir); } catch (err) {
    return new LsmError(`cannot read the spool directory ${dir}: ${reason(err)}`, 'NotRecorded', { spool: dir, errno: (err as NodeJS.ErrnoException).code });
  }
  if (what === null) return null;
  return new LsmError(`the spool directory ${dir} is ${what}, not a directory: refused, never followed; move it aside (mv ${dir} ${dir}.bad) and lsm makes a real one at the next run, or set SPOOL_DIR to a real directory`,
    'NotRecorded', { spool: dir, refused: what });
}

/** What dir is when it is there but not a real directory (a link is never followed), else null. */
function notADirectory(dir: string): string | null {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return !st || st.isDirectory() ? null : describe(dir, st);
}

/** The repository that claimed the spool at dir, or null when none did yet (or the directory is refused: see spoolDirProblem). */
export function spoolOwner(dir: string): string | null {
  if (spoolDirProblem(dir)) return null;
  try { return readChecked(join(dir, OWNER)).trim() || null; } catch { return null; } // empty: a claim a full disk cut short
}

/** Why repoDir may not use the spool at dir (another repository claimed it), or null: asked before anything is written. */
export function claimProblem(dir: string, repoDir: string): LsmError | null {
  const owner = spoolOwner(dir);
  const me = resolve(repoDir);
  if (owner === null || owner === me) return null;
  return new LsmError(`spool ${dir} belongs to repository ${owner}, not ${me}: give this repository its own SPOOL_DIR (or leave SPOOL_DIR unset: with --repo the spool is kept in the repository)`, 'SpoolClaimed', { spool: dir, owner, repo: me });
}

/**
 * One spooled alert. Its delivery state is a small file of its own beside the alert
 * (NAME.state next to NAME.json), so a run reads every state but an alert only when one of its
 * channels is tried: a backlog (mail down for days, or never configured) costs each run the same.
 */
export class SpoolEntry {
  constructor(private readonly dir: string, readonly file: string, public channels: Record<Channel, ChannelState>, private body?: Alert) {}

  /** The alert, read when first used; an invalid one throws InvalidEntry (the caller quarantines it). */
  get alert(): Alert {
    if (this.body) return this.body;
    let parsed: unknown;
    try { parsed = JSON.parse(readChecked(join(this.dir, this.file))); } catch (err) { throw new InvalidEntry(`unreadable: ${(err as Error).message.split('\n')[0]}`); }
    const problem = alertProblem(parsed, this.id);
    if (problem) throw new InvalidEntry(problem);
    return (this.body = (parsed as { alert: Alert }).alert);
  }

  /** The alert's id, the commit it is about, and when it was spooled (by the clock then, or just after the entry before it): all in its name. */
  get id(): string {
    return ENTRY.exec(this.file)![1];
  }
  get commit(): string {
    return this.id.slice(0, 40);
  }
  get spooledAt(): number {
    return Number(this.file.split('-')[0]);
  }
}

const fresh = (): ChannelState => ({ done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null });
const freshChannels = (): Record<Channel, ChannelState> => ({ eventlog: fresh(), hooks: fresh(), mail: fresh() });
const stateFile = (name: string) => name.replace(/\.json$/, '.state');

/** moved: false when quarantine/ could not take it (it stays where it is, skipped), `why` says what stopped it. */
export interface Quarantined { file: string; reason: string; moved: boolean; why?: string }

export type Clock = () => number; // unix ms

export class Spool {
  /** What list() and quarantine() moved aside during this object's life. */
  readonly quarantined: Quarantined[] = [];
  constructor(readonly dir: string, private readonly clock: Clock = Date.now) {}

  /** Every use of the directory passes here: one that is not a real directory is refused (spoolDirProblem). */
  private checkDir(): void {
    const problem = spoolDirProblem(this.dir);
    if (problem) throw problem;
  }

  private ensure(): void {
    this.checkDir();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Move a file that is not a valid entry aside, under quarantine/, and remember why. */
  quarantine(name: string, because: string): void {
    const qdir = join(this.dir, QUARANTINE);
    try {
      const what = notADirectory(qdir); // never moved through a link, nor onto a file planted there
      if (what) throw new Error(`${qdir} is ${what}, not a directory: move it aside (mv ${qdir} ${qdir}.bad)`);
      mkdirSync(qdir, { recursive: true, mode: 0o700 });
      renameSync(join(this.dir, name), join(qdir, `${Date.now()}-${name}`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another run moved it
      this.quarantined.push({ file: name, reason: because, moved: false, why: reason(err) });
      return;
    }
    this.quarantined.push({ file: name, reason: because, moved: true });
  }

  /** Quarantine an entry whose alert turned out invalid, with its state. */
  quarantineEntry(e: SpoolEntry, reason: string): void {
    this.quarantine(e.file, reason);
    try { renameSync(join(this.dir, stateFile(e.file)), join(this.dir, QUARANTINE, `${Date.now()}-${stateFile(e.file)}`)); } catch { /* none */ }
  }

  /**
   * Every valid entry, oldest first; alerts are read when used. With `clean` (only under the
   * spool's lock, by the run that delivers) anything else goes to quarantine and what killed runs
   * left is swept; without it, anything else is only skipped.
   */
  list(options: { clean?: boolean } = {}): SpoolEntry[] {
    const clean = options.clean === true;
    const bad = (name: string, reason: string) => { if (clean) this.quarantine(name, reason); };
    this.checkDir();
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return []; }
    const alerts = new Set(names.filter((n) => ENTRY.test(n)));
    const entries: SpoolEntry[] = [];
    for (const name of [...alerts].sort()) {
      const state = this.readState(name, clean);
      if (state && typeof state === 'object') { entries.push(new SpoolEntry(this.dir, name, state)); continue; }
      // no state yet (a run killed between writing the two), or an entry spooled before states
      // were kept apart, with its channels inside
      let body: { alert: Alert; channels?: Record<Channel, ChannelState> };
      try {
        body = JSON.parse(readChecked(join(this.dir, name))) as typeof body; // checked below (alertProblem)
      } catch (err) {
        bad(name, `not a spool entry: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      const problem = alertProblem(body, ENTRY.exec(name)![1]) ?? (body.channels ? stateProblem(body.channels) : null);
      if (problem) { bad(name, `not a spool entry: ${problem}`); continue; }
      entries.push(new SpoolEntry(this.dir, name, body.channels ?? freshChannels(), body.alert));
    }
    if (!clean) return entries;
    for (const n of names) {
      if (alerts.has(n) || OWN.test(n) || n === QUARANTINE) continue;
      if (n.endsWith('.state') && ENTRY.test(n.replace(/\.state$/, '.json'))) {
        // a state whose alert is gone: a run killed while removing a delivered entry
        if (!alerts.has(n.replace(/\.state$/, '.json'))) rmSync(join(this.dir, n), { force: true });
        continue;
      }
      if (n.endsWith('.state.next')) { // a success state prepared for a send a kill interrupted
        rmSync(join(this.dir, n), { force: true });
        continue;
      }
      // lstat: a symbolic link is moved as the link (a dangling one was skipped silently)
      let dir = false;
      try { dir = lstatSync(join(this.dir, n)).isDirectory(); } catch { continue; } // gone since readdir
      this.quarantine(n, dir ? 'a directory that lsm did not make' : 'not a spool entry (its name is not one lsm writes)');
    }
    return entries;
  }

  /** A state file, validated; a damaged one is quarantined and null returned (the entry starts fresh only if its alert holds channels). */
  private readState(name: string, clean: boolean): Record<Channel, ChannelState> | null {
    let text: string;
    try { text = readChecked(join(this.dir, stateFile(name))); } catch { return null; }
    let st: unknown;
    try { st = JSON.parse(text); } catch { st = null; }
    const problem = stateProblem(st);
    if (problem) {
      if (!clean) return null;
      // the state is lost, not the alert: the alert is delivered again from scratch (at least once)
      this.quarantine(stateFile(name), `damaged delivery state (${problem}): its alert is delivered again on every channel`);
      return null;
    }
    return st as Record<Channel, ChannelState>;
  }

  /**
   * The spool belongs to one repository (named in .repo): alerts of two repositories never share
   * one, or a run for one would deliver, count and report the other's.
   */
  claim(repoDir: string): void {
    const problem = claimProblem(this.dir, repoDir);
    if (problem) throw problem;
    this.ensure();
    if (spoolOwner(this.dir) !== null) return;
    const marker = join(this.dir, OWNER);
    const write = () => createExclusive(marker, `${resolve(repoDir)}\n`, 0o600);
    try {
      write();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') { rmSync(marker, { force: true }); throw err; } // no half claim left
      // there is one: another repository's claim since (refused), or an empty one a full disk left (replaced)
      const again = claimProblem(this.dir, repoDir);
      if (again) throw again;
      if (spoolOwner(this.dir) === null) { rmSync(marker, { force: true }); write(); }
    }
  }

  private names(): string[] {
    this.checkDir();
    try { return readdirSync(this.dir); } catch { return []; }
  }

  has(id: string): boolean {
    return this.names().some((n) => n.endsWith(`-${id}.json`));
  }

  /** The commits that spooled alerts are about (not reminders nor fleet alerts, which repeat or name another's). */
  commits(): Set<string> {
    const ids = this.names().map((n) => ENTRY.exec(n)?.[1]);
    return new Set(ids.filter((id): id is string => id !== undefined && id.length === 40));
  }

  /**
   * Spool a new alert, unless it is already there: its state first, then the alert, whose name
   * makes it an entry (a delivering run never sees an entry whose state is still to be written,
   * which would overwrite what it records).
   */
  async add(alert: Alert): Promise<boolean> {
    const names = this.names();
    if (names.some((n) => n.endsWith(`-${alert.id}.json`))) return false;
    this.ensure();
    // named by when it was spooled, but never before an entry already there: a clock stepped back
    // (or one that was ahead) must not let a newer alert overtake an older one. Adds are made in
    // their commits' order (under the repository's lock), so the names keep that order.
    const newest = names.reduce((max, n) => (ENTRY.test(n) ? Math.max(max, Number(n.split('-')[0])) : max), 0);
    const key = Math.max(this.clock(), newest + 1);
    const name = `${String(key).padStart(14, '0')}-000000-${alert.id}.json`;
    await this.save(new SpoolEntry(this.dir, name, freshChannels(), alert));
    await writeFileAtomic(join(this.dir, name), JSON.stringify({ alert }), this.dir, 0o600);
    return true;
  }

  async save(entry: SpoolEntry): Promise<void> {
    await writeFileAtomic(join(this.dir, stateFile(entry.file)), JSON.stringify(entry.channels), this.dir, 0o600);
  }

  /**
   * Write the state a success will leave, before trying the channel; commit() then renames it into
   * place. A rename needs no free space: a spool disk that fills while a mail is sent still
   * records the mail as sent (writing the state afterwards would fail, and the mail go again).
   */
  async prepare(entry: SpoolEntry, after: Record<Channel, ChannelState>): Promise<{ commit(): Promise<void>; abort(): void }> {
    const tmp = join(this.dir, `${basename(stateFile(entry.file))}.${randomBytes(4).toString('hex')}.state.next`);
    const h = await fsp.open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(after));
      await h.sync();
    } catch (err) {
      await h.close().catch(() => {});
      rmSync(tmp, { force: true });
      throw err;
    }
    await h.close();
    return {
      commit: async () => {
        await fsp.rename(tmp, join(this.dir, stateFile(entry.file)));
        entry.channels = after;
        try { const d = await fsp.open(this.dir, 'r'); await d.sync().catch(() => {}); await d.close(); } catch { /* the rename is done */ }
      },
      abort: () => rmSync(tmp, { force: true }),
    };
  }

  /** Delivered: the alert goes first, so a kill in between leaves only a state that list() sweeps. */
  remove(entry: SpoolEntry): void {
    unlinkSync(join(this.dir, entry.file));
    rmSync(join(this.dir, stateFile(entry.file)), { force: true });
  }
}
