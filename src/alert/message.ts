// The alert: what a person reads. Built once, when the change is recorded, with the owners of each
// new socket as they are at that moment (pid, user, exe, command line, container, age).
import { resolve } from 'node:path';
import {
  boundArgv, boundField, boundOwners, boundRaw, bytes, fitEntries, isCut, LINE_MAX, MAIL_BODY_MAX, MAIL_DIFF_MAX, moreOwnersText, OWNERS_SHOWN, PIDS_SHOWN, rootFirst, type MoreOwners,
} from './bounds.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { parseLine } from '../snapshot/parse-line.js';
import type { Change, Owner } from '../types.js';

// uid: absent in alerts spooled before it was kept
export interface AlertOwner { pid: number; uid?: number | null; user: string; exe: string; cmdline: string; container: string | null; startedAt: number | null; replaced?: boolean }
/**
 * owners: root's first, at most OWNERS_SHOWN, fields bounded (bounds.ts); moreOwners: the others.
 * since: a drift reminder's line, with the commit that made the difference and when.
 */
export interface AlertLine { path: string; line: string; owners: AlertOwner[]; moreOwners?: MoreOwners; since?: { commit: string | null; time: number } }

export interface Alert {
  id: string; // the commit id (the last one when a burst of commits is coalesced)
  commit: string;
  parent: string | null;
  host: string;
  time: number; // when the change was recorded (unix ms)
  summary: string;
  added: AlertLine[];
  removed: AlertLine[];
  diff: string; // the unified diff of the change, as `git show` prints it
  repo: string;
  repoFlag?: boolean; // the repository is not the default one: follow-up commands need --repo
  reminder?: boolean; // a reminder of unapproved drift, not a new change
  subject?: string; // a subject of its own, in place of SUB's (the fleet's central alerts name the host)
  notice?: string; // not a change (a fleet host silent, or back): this text is the whole body
  baseline?: AlertBaseline; // absent: an alert spooled before it was kept, or a baseline that did not read
}

/**
 * The change against the approved baseline (refs/lsm/baseline) when the alert was built (commit
 * null: none approved yet). notIn: new lines the baseline lacks; goneFrom: gone lines it has;
 * matches: after this change the snapshot is the baseline's; earlier: differences this change did
 * not make remain.
 */
export interface AlertBaseline { commit: string | null; approvedAt?: number; approvedBy?: string; notIn: number; goneFrom: number; matches: boolean; earlier?: boolean }

// escaped and bounded (bounds.ts) as it is read: a user's 1 MB command line is never escaped whole
function owner(o: Owner): AlertOwner {
  return {
    pid: o.pid, uid: o.uid, user: o.user === null ? '?' : boundRaw(o.user), exe: o.exe === null ? '?' : boundRaw(o.exe),
    cmdline: boundArgv(o.cmdline), container: o.container === null ? null : boundRaw(o.container), startedAt: o.startedAt,
    ...(o.exeReplaced ? { replaced: true } : {}),
  };
}

export function buildAlert(change: Change, now: Map<string, SnapshotLine[]> | null, diff: string, host: string, repo: string, repoFlag = false): Alert {
  // each file's lines by text, made once: a search per added line was quadratic (10k new sockets
  // in one file: 10^8 string compares)
  const byLine = new Map<string, Map<string, SnapshotLine>>();
  // bounded here, so the spool never holds what a user inflated either
  const ownersOf = (path: string, line: string): Pick<AlertLine, 'owners' | 'moreOwners'> => {
    let lines = byLine.get(path);
    if (!lines) byLine.set(path, (lines = new Map((now?.get(path) ?? []).map((l) => [l.line, l]))));
    const hit = lines.get(line);
    // root's first; only those shown are escaped, the others counted
    const all = hit ? hit.sockets.flatMap((s) => s.owners) : [];
    const sorted = [...all.filter((o) => o.uid === 0), ...all.filter((o) => o.uid !== 0)];
    const rest = sorted.slice(OWNERS_SHOWN);
    const { owners } = boundOwners(sorted.slice(0, OWNERS_SHOWN).map(owner));
    return rest.length ? { owners, moreOwners: { count: rest.length, pids: rest.slice(0, PIDS_SHOWN).map((o) => o.pid) } } : { owners };
  };
  return {
    id: change.commit, commit: change.commit, parent: change.parent, host, time: change.time, summary: boundField(change.summary), // one path a namespace
    added: change.files.flatMap((f) => f.added.map((line) => ({ path: f.path, line, ...ownersOf(f.path, line) }))),
    removed: change.files.flatMap((f) => f.removed.map((line) => ({ path: f.path, line, owners: [] }))),
    diff, repo, ...(repoFlag ? { repoFlag } : {}),
  };
}

/** An escaped field (\\, \xHH, \u{H}, "") back to the bytes it stood for. */
export function unescapeField(text: string): Buffer {
  if (text === '""') return Buffer.alloc(0);
  const bytes: Buffer[] = [];
  for (const m of text.matchAll(/\\\\|\\x([0-9a-f]{2})|\\u\{([0-9a-f]+)\}|[^\\]+|\\/g)) {
    if (m[0] === '\\\\') bytes.push(Buffer.from('\\'));
    else if (m[1]) bytes.push(Buffer.from([parseInt(m[1], 16)]));
    else if (m[2]) bytes.push(Buffer.from(String.fromCodePoint(parseInt(m[2], 16)), 'utf8'));
    else bytes.push(Buffer.from(m[0], 'utf8'));
  }
  return Buffer.concat(bytes);
}

/**
 * One shell word for bash and zsh that stands for exactly these bytes, on one line: plain words as
 * they are, printable text in single quotes, anything else as $'...' with \xHH escapes (a path with
 * a quote, a ';' or a newline can neither run a command nor break the mail's lines).
 */
export function shellWord(value: string | Buffer): string {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const text = b.toString('latin1');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  if (/^[\x20-\x7e]*$/.test(text)) return `'${text.replace(/'/g, `'\\''`)}'`;
  let out = "$'";
  for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return out + "'";
}

const SUBJECT_MAX = 200;

/** One line for a subject: '+1 tcp 0.0.0.0:4444 (nc)', the namespace first when it is not the host's. */
function subjectItem(l: AlertLine): string {
  const f = parseLine(l.path, l.line);
  const comm = f.owners.map((o) => o.comm).filter((c) => c !== '?');
  return `${f.namespace === 'host' ? '' : `${f.namespace} `}${f.kind} ${f.endpoint}${comm.length ? ` (${[...new Set(comm)].join(',')})` : ''}`;
}

/**
 * The mail subject: SUB, then what changed, so a busy inbox tells one alert from another
 * ('LSM Port Monitor Alert on web1: +1 tcp 0.0.0.0:4444 (nc)'); at most SUBJECT_MAX characters.
 */
export function alertSubject(a: Alert, sub: string): string {
  if (a.subject !== undefined) return a.subject.length <= SUBJECT_MAX ? a.subject : `${a.subject.slice(0, SUBJECT_MAX - 1)}…`;
  const counts = `+${a.added.length} -${a.removed.length}`;
  const items = [...a.added.map((l) => `+${subjectItem(l)}`), ...a.removed.map((l) => `-${subjectItem(l)}`)];
  const what = items.length === 1 ? `${items[0][0]}1 ${items[0].slice(1)}` : `${counts}: ${items.join(', ')}`;
  const oldest = Math.min(a.time, ...[...a.added, ...a.removed].map((l) => l.since?.time ?? a.time));
  const text = `${sub}: ${a.reminder ? `reminder, unapproved since ${stamp(oldest)}: ` : ''}${what}`;
  return text.length <= SUBJECT_MAX ? text : `${text.slice(0, SUBJECT_MAX - 1)}…`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** The port or path to ask `lsm blame` about. */
function blameArg(a: AlertLine): string {
  const endpoint = a.line.split('  ')[0];
  const kind = a.path.split('/').pop();
  const port = /:(\d+)$/.exec(endpoint);
  return port && (kind === 'tcp' || kind === 'udp') ? `${port[1]}/${kind}` : shellWord(unescapeField(endpoint));
}

const count = (n: number, what: string, many = `${what}s`) => `${n} ${n === 1 ? what : many}`;

/** 'Drift: ...': whether this change is drift from the approved baseline, and since when; null: not known. */
function driftLine(a: Alert): string | null {
  const b = a.baseline;
  if (!b) return null;
  if (b.commit === null) return 'Drift: no baseline is approved yet, so nothing here is approved.';
  const which = `${b.commit.slice(0, 10)}${b.approvedAt ? `, approved ${stamp(b.approvedAt)}${b.approvedBy ? ` by ${boundField(b.approvedBy)}` : ''}` : ''}`;
  if (b.matches) return `Drift: none, this change brings the host back to the approved baseline (${which}).`;
  if (b.notIn + b.goneFrom === 0) return `Drift: none new, this change goes back toward the approved baseline (${which}); other differences remain (lsm drift).`;
  const when = a.reminder ? `unapproved since ${stamp(Math.min(a.time, ...[...a.added, ...a.removed].map((l) => l.since?.time ?? a.time)))}` : `since this change (${stamp(a.time)})`;
  const what = [...(b.notIn ? [`${count(b.notIn, 'new socket')} not in it`] : []), ...(b.goneFrom ? [`${count(b.goneFrom, 'socket')} of it gone`] : [])];
  return `Drift: yes, ${when}, from the approved baseline (${which}): ${what.join(', ')}.${b.earlier && !a.reminder ? ' Earlier differences remain too (lsm drift).' : ''}`;
}

/**
 * The block the body leads with: whether the change is drift from the approved baseline, the
 * command that approves it, the commands that investigate it (--repo when the repository is not
 * the default one).
 */
function whatToDo(a: Alert, repo: string): string[] {
  const short = a.commit.slice(0, 10);
  const out = ['What to do:'];
  const drift = driftLine(a);
  if (drift) out.push(`  ${drift}`);
  // commands alone on their lines: pasted as they are
  if (a.baseline?.matches) out.push('  Approve: nothing to approve, the host is as approved.');
  else if (a.subject !== undefined) out.push(`  Approve this state on ${a.host} (or there lsm -g: scan again and approve what listens then):`, `    lsm accept ${short}`); // a fleet's central alert: the host approves
  else out.push(`  Approve this state (or lsm -g${repo}: scan again and approve what listens then):`, `    lsm accept ${short}${repo}`);
  const blame = [...new Set(a.added.map(blameArg))];
  out.push(`  Investigate${blame.length > 5 ? ` (lsm blame PORT/KIND or PATH for the ${blame.length - 5} other new sockets)` : ''}:`);
  out.push(`    ${a.reminder ? `lsm drift${repo}` : `lsm show ${short}${repo}`}`, ...blame.slice(0, 5).map((arg) => `    lsm blame ${arg}${repo}`));
  // a fleet's central alert names the server's repository and the host's branch (receive.ts, silence.ts)
  const central = /^(\/.*) \(branch (hosts\/[^()]+)\)$/.exec(a.repo);
  out.push(central ? `    git -C ${shellWord(central[1])} log -p ${shellWord(central[2])}` : `    git -C ${shellWord(resolve(a.repo))} log -p`);
  return out;
}

// A mail is read by a person: past these, the body says how many more and where to see them.
// Then the bytes: whatever a user holds, the body fits MAIL_BODY_MAX (bounds.ts).
const LISTED = 200;
const DIFF_LINES = 2000;

function more(n: number, what: string, where: string): string {
  return `  ... and ${n} more ${what} (${where})`;
}

/** The diff goes with the mail whole, or not at all when it is larger than MAIL_DIFF_MAX. */
export function diffAttached(a: Alert): boolean {
  return a.diff !== '' && bytes(a.diff) <= MAIL_DIFF_MAX;
}

export function alertAttachments(a: Alert): { filename: string; content: string; contentType: string }[] {
  return diffAttached(a) ? [{ filename: `lsm-${a.commit.slice(0, 10)}.diff`, content: a.diff, contentType: 'text/x-diff' }] : [];
}

/** The commands that show a whole change: lsm's, then git's (the event log and hooks name them too). */
export function seeWhole(a: Alert): string {
  const repo = a.repoFlag ? ` --repo=${shellWord(resolve(a.repo))}` : '';
  return a.reminder ? `lsm drift${repo}` : `lsm show ${a.commit.slice(0, 10)}${repo} or git -C ${shellWord(resolve(a.repo))} show ${a.commit}`;
}

/**
 * The plain-text mail body: summary, what to do (drift, approve, investigate), new sockets with
 * owners now, gone sockets, diff; at most `max` bytes. Root's sockets are listed first; when the body would be larger, sockets
 * are listed without their owners, then not at all, from the last (users' first), and the diff
 * gets what is left; a note at the top says what was cut and how to see all of it.
 */
export function alertText(a: Alert, max = MAIL_BODY_MAX): string {
  if (a.notice !== undefined) return a.notice.replace(/\n?$/, '\n');
  const short = a.commit.slice(0, 10);
  const head: string[] = [];
  // absolute: the mail is read, and its commands pasted, far from where lsm ran
  const repo = a.repoFlag ? ` --repo=${shellWord(resolve(a.repo))}` : '';
  if (a.reminder) {
    head.push(`REMINDER: lsm on ${a.host} still sees ${a.added.length + a.removed.length} difference${a.added.length + a.removed.length === 1 ? '' : 's'} ` +
      `from the approved baseline (${a.parent?.slice(0, 10)}) at ${stamp(a.time)}: ${a.added.length} socket${a.added.length === 1 ? '' : 's'} more, ` +
      `${a.removed.length} fewer.`);
  } else {
    head.push(`lsm on ${a.host} recorded a change at ${stamp(a.time)} (commit ${short}): ` +
      `${a.added.length} socket${a.added.length === 1 ? '' : 's'} appeared, ${a.removed.length} vanished. ${boundField(a.summary)}`);
  }
  head.push('', ...whatToDo(a, repo));
  const notice = (fields: boolean, condensed: number, omitted: number, diff: boolean) => `Cut to fit ${max} bytes: ${[
    ...(fields ? ['long fields end in …[cut N bytes, sha256:H] (N bytes not shown, H a hash of the whole)'] : []),
    ...(condensed ? [`${count(condensed, 'socket')} listed without owners`] : []), ...(omitted ? [`${count(omitted, 'socket')} not listed`] : []),
    ...(diff ? ['the diff shortened'] : []),
  ].join('; ')}; root's sockets are listed first. The whole change: ${seeWhole(a)}.`;
  const diffWhere = diffAttached(a) ? `attached whole as lsm-${short}.diff` : seeWhole(a);
  // what the sections' titles and "... more" lines and the note can take, whatever is cut
  const reserve = 1024 + 2 * bytes(seeWhole(a)) + bytes(notice(true, LISTED * 2, a.added.length + a.removed.length, true));
  let left = max - bytes(head.join('\n')) - reserve;

  const since = (l: AlertLine) => (l.since ? [`      ${l.since.commit ? `since commit ${l.since.commit.slice(0, 10)}, ` : 'since '}${stamp(l.since.time)}`] : []);
  const whole = (l: AlertLine): string[] => {
    const { owners, more: others } = boundOwners(l.owners, l.moreOwners); // again: an alert spooled before the bounds
    const out = [`  ${l.path}  ${boundField(l.line, LINE_MAX)}`, ...since(l)];
    if (owners.length === 0) out.push('      owner: unknown now (the process exited, or lsm could not read it)');
    for (const o of owners) {
      out.push(`      pid ${o.pid}  user ${o.user}${o.startedAt ? `  running ${age(a.time - o.startedAt)}` : ''}${o.container ? `  container ${o.container}` : ''}`);
      out.push(`      exe ${o.exe}${o.replaced ? '  (binary replaced, restart pending)' : ''}`);
      out.push(`      cmdline ${o.cmdline || '(none)'}`);
    }
    if (others) out.push(`      ${moreOwnersText(others)}`);
    return out;
  };
  const brief = (l: AlertLine): string[] => {
    const { owners, more: others } = boundOwners(l.owners, l.moreOwners);
    const n = owners.length + (others?.count ?? 0);
    const pids = [...owners.map((o) => o.pid), ...(others?.pids ?? [])].slice(0, 5);
    return [`  ${l.path}  ${boundField(l.line, LINE_MAX)}`, ...since(l),
      ...(n ? [`      held by ${n} process${n === 1 ? '' : 'es'} (pid${n === 1 ? '' : 's'} ${pids.join(', ')}${n > pids.length ? ', ...' : ''}; owners cut to fit)`] : [])];
  };
  const gone = (l: AlertLine): string[] => [`  ${l.path}  ${boundField(l.line, LINE_MAX)}`, ...since(l)];
  const size = (block: string[]) => bytes(block.join('\n')) + 1;
  const added = fitEntries(rootFirst(a.added).slice(0, LISTED), left, whole, brief, size);
  left = added.left;
  const removed = fitEntries(rootFirst(a.removed).slice(0, LISTED), left, gone, gone, size);
  left = removed.left;
  const diff = a.diff.replace(/\n$/, '').split('\n');
  const diffShown: string[] = [];
  for (const line of diff.slice(0, DIFF_LINES)) {
    const shown = boundField(line, LINE_MAX);
    if (bytes(shown) + 1 > left) break;
    diffShown.push(shown);
    left -= bytes(shown) + 1;
  }

  const out = [...head, ''];
  const addedOmitted = a.added.length - added.kept.length;
  const removedOmitted = a.removed.length - removed.kept.length;
  const fieldsCut = [...added.kept, ...removed.kept].some((b) => b.some(isCut)) || diffShown.some(isCut);
  const diffCut = diffShown.length < Math.min(diff.length, DIFF_LINES);
  if (fieldsCut || added.condensed || added.omitted || removed.omitted || diffCut) {
    out.push(notice(fieldsCut, added.condensed, added.omitted + removed.omitted, diffCut), '');
  }
  if (a.added.length) {
    out.push(a.reminder ? 'Not in the baseline, and who holds them now:' : 'New sockets, and who holds them now:');
    out.push(...added.kept.flat());
    if (addedOmitted) out.push(more(addedOmitted, 'new sockets', `lsm show ${short}`));
    out.push('');
  }
  if (a.removed.length) {
    out.push(a.reminder ? 'In the baseline, and gone:' : 'Gone:');
    out.push(...removed.kept.flat());
    if (removedOmitted) out.push(more(removedOmitted, 'gone sockets', `lsm show ${short}`));
    out.push('');
  }
  out.push(a.reminder ? `The difference (lsm diff baseline ${short}${repo}):` : `The change (git show ${short}):`);
  out.push('');
  out.push(...diffShown);
  if (diff.length > diffShown.length) out.push(more(diff.length - diffShown.length, 'lines of diff', diffWhere));
  const body = out.join('\n') + '\n';
  return bytes(body) <= max ? body : boundField(body, max); // never: the reserve covers what is added
}
