// Central mail at most once per host per interval (FLEET_MAIL_INTERVAL). A host's change is mailed
// at once when that host's last central mail is older than the interval; otherwise it is held, with
// every other change the host pushes meanwhile, in lsm/digest/<host>.json (on disk before the push
// record's marker moves past it: nothing held is lost), and the first drain or `lsm fleet check`
// after the interval spools them as one digest: every change named, the net change shown, bounded
// as every alert is (alert/bounds.ts), with the commands that show the whole.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LsmError } from '../errors.js';

/** A change held for the host's next mail: its commit, and when the server received it. */
export interface HeldChange { oid: string; t: number }
export interface DigestState { lastMail: number | null; held: HeldChange[] }

const DIR = join('lsm', 'digest');
const NAME = /^([A-Za-z0-9_][A-Za-z0-9._-]{0,62})\.json$/;

/**
 * A host's held changes; none when it has no file yet. A file lsm did not write whole (garbage, a
 * wrong shape) throws, naming it: read as empty, its held changes would never be mailed, unsaid.
 */
export function readDigest(gitdir: string, host: string): DigestState {
  const path = join(gitdir, DIR, `${host}.json`);
  const damaged = () => new LsmError(`${path} is damaged (not the held changes lsm writes): move it aside (mv ${path} ${path}.bad); the changes it held are not mailed, lsm fleet log --host ${host} lists them`, 'Damaged', { damage: path });
  let text: string;
  try {
    // never through a link, never waiting on a FIFO: central-layout.ts looked first, but lsm/ is its
    // owner's to change meanwhile, and root may be the one reading (lsm fleet check)
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) throw damaged();
      text = readFileSync(fd, 'utf8');
    } finally { closeSync(fd); }
  } catch (err) {
    // none yet (lsm/digest not a directory is central-layout's to say; writing there fails and says it)
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return { lastMail: null, held: [] };
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw damaged();
    throw err;
  }
  let s: Partial<DigestState> | null = null;
  try { s = JSON.parse(text) as Partial<DigestState>; } catch { /* said below */ }
  const held = s?.held;
  if (!s || typeof s !== 'object' || (s.lastMail !== null && typeof s.lastMail !== 'number') || !Array.isArray(held) ||
    !held.every((h) => typeof h?.oid === 'string' && /^[0-9a-f]{40}$/.test(h.oid) && typeof h.t === 'number')) throw damaged();
  return { lastMail: s.lastMail ?? null, held };
}

/** Replaced whole (a crash leaves the old state or the new, never half). */
export function writeDigest(gitdir: string, host: string, s: DigestState): void {
  const dir = join(gitdir, DIR);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${host}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(s));
  renameSync(tmp, join(dir, `${host}.json`));
}

export function digestHosts(gitdir: string): string[] {
  try { return readdirSync(join(gitdir, DIR)).flatMap((n) => NAME.exec(n)?.[1] ?? []).sort(); } catch { return []; }
}

/** Whether a host's held changes go out now: its last mail is an interval old (or there was none). */
export function mailDue(s: DigestState, interval: number, now: number): boolean {
  return s.held.length > 0 && (s.lastMail === null || now - s.lastMail >= interval);
}

/** When held changes go out: the host's last mail plus the interval. */
export const sendAfter = (s: DigestState, interval: number): number => (s.lastMail ?? 0) + interval;

export interface PendingMail { host: string; changes: number; oldest: string; sendAfter: string }

/** What waits for a digest, per host (lsm fleet status). */
export function pendingMail(gitdir: string, interval: number): PendingMail[] {
  return digestHosts(gitdir).flatMap((host) => {
    const s = readDigest(gitdir, host);
    if (s.held.length === 0) return [];
    return [{ host, changes: s.held.length, oldest: new Date(Math.min(...s.held.map((h) => h.t))).toISOString(), sendAfter: new Date(sendAfter(s, interval)).toISOString() }];
  });
}

// a digest lists at most this many changes by name; the rest are counted, with the command that lists them
export const DIGEST_LISTED = 200;

/**
 * The body that leads a digest: when and which changes (each with its own summary, escaped and
 * bounded: a host writes it), then `net` (the net change's own body, already bounded), all within
 * max bytes. `summaries` are the held commits' first lines, oldest first.
 */
export function digestHead(host: string, held: (HeldChange & { summary: string })[], intervalText: string, stamp: (ms: number) => string): string[] {
  const first = held[0], last = held[held.length - 1];
  const out = [`lsm on ${host} pushed ${held.length} changes from ${stamp(first.t)} to ${stamp(last.t)}, held for one mail (at most one a host every FLEET_MAIL_INTERVAL=${intervalText}):`];
  for (const h of held.slice(0, DIGEST_LISTED)) out.push(`  ${stamp(h.t)}  ${h.oid.slice(0, 10)}  ${h.summary}`);
  if (held.length > DIGEST_LISTED) {
    out.push(`  ... and ${held.length - DIGEST_LISTED} more changes not listed (all of them: lsm fleet log --host ${host} --since ${new Date(first.t).toISOString()})`);
  }
  out.push('', `Together they changed (${first.oid.slice(0, 10)}^..${last.oid.slice(0, 10)}):`, '');
  return out;
}
