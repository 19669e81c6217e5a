// The alert: what a person reads. Built once, when the change is recorded, with the owners of each
// new socket as they are at that moment (pid, user, exe, command line, container, age).
import { resolve } from 'node:path';
import { escapeField } from '../snapshot/escape.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { parseLine } from '../snapshot/parse-line.js';
import type { Change, Owner } from '../types.js';

export interface AlertOwner { pid: number; user: string; exe: string; cmdline: string; container: string | null; startedAt: number | null; replaced?: boolean }
/** since: a drift reminder's line, with the commit that made the difference and when */
export interface AlertLine { path: string; line: string; owners: AlertOwner[]; since?: { commit: string | null; time: number } }

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
}

function owner(o: Owner): AlertOwner {
  return {
    pid: o.pid, user: o.user === null ? '?' : escapeField(o.user), exe: o.exe === null ? '?' : escapeField(o.exe),
    cmdline: o.cmdline.map(escapeField).join(' '), container: o.container === null ? null : escapeField(o.container), startedAt: o.startedAt,
    ...(o.exeReplaced ? { replaced: true } : {}),
  };
}

export function buildAlert(change: Change, now: Map<string, SnapshotLine[]> | null, diff: string, host: string, repo: string, repoFlag = false): Alert {
  // each file's lines by text, made once: a search per added line was quadratic (10k new sockets
  // in one file: 10^8 string compares)
  const byLine = new Map<string, Map<string, SnapshotLine>>();
  const ownersOf = (path: string, line: string): AlertOwner[] => {
    let lines = byLine.get(path);
    if (!lines) byLine.set(path, (lines = new Map((now?.get(path) ?? []).map((l) => [l.line, l]))));
    const hit = lines.get(line);
    return hit ? hit.sockets.flatMap((s) => s.owners).map(owner) : [];
  };
  return {
    id: change.commit, commit: change.commit, parent: change.parent, host, time: change.time, summary: change.summary,
    added: change.files.flatMap((f) => f.added.map((line) => ({ path: f.path, line, owners: ownersOf(f.path, line) }))),
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

// A mail is read by a person: past these, the body says how many more and where to see them (the
// whole diff is attached; hooks and the event log get everything).
const LISTED = 200;
const DIFF_LINES = 2000;

function more(n: number, what: string, where: string): string {
  return `  ... and ${n} more ${what} (${where})`;
}

/** The plain-text mail body: summary, new sockets with owners now, gone sockets, diff, next steps. */
export function alertText(a: Alert): string {
  if (a.notice !== undefined) return a.notice.replace(/\n?$/, '\n');
  const short = a.commit.slice(0, 10);
  const out: string[] = [];
  // absolute: the mail is read, and its commands pasted, far from where lsm ran
  const repo = a.repoFlag ? ` --repo=${shellWord(resolve(a.repo))}` : '';
  if (a.reminder) {
    out.push(`REMINDER: lsm on ${a.host} still sees ${a.added.length + a.removed.length} difference${a.added.length + a.removed.length === 1 ? '' : 's'} ` +
      `from the approved baseline (${a.parent?.slice(0, 10)}) at ${stamp(a.time)}: ${a.added.length} socket${a.added.length === 1 ? '' : 's'} more, ` +
      `${a.removed.length} fewer. Approve the current state with lsm accept${repo}, or remove them.`);
  } else {
    out.push(`lsm on ${a.host} recorded a change at ${stamp(a.time)} (commit ${short}): ` +
      `${a.added.length} socket${a.added.length === 1 ? '' : 's'} appeared, ${a.removed.length} vanished. ${a.summary}`);
  }
  out.push('');
  const since = (l: AlertLine) => (l.since ? `      ${l.since.commit ? `since commit ${l.since.commit.slice(0, 10)}, ` : 'since '}${stamp(l.since.time)}` : null);
  if (a.added.length) {
    out.push(a.reminder ? 'Not in the baseline, and who holds them now:' : 'New sockets, and who holds them now:');
    for (const l of a.added.slice(0, LISTED)) {
      out.push(`  ${l.path}  ${l.line}`);
      if (l.since) out.push(since(l)!);
      if (l.owners.length === 0) out.push('      owner: unknown now (the process exited, or lsm could not read it)');
      for (const o of l.owners) {
        out.push(`      pid ${o.pid}  user ${o.user}${o.startedAt ? `  running ${age(a.time - o.startedAt)}` : ''}${o.container ? `  container ${o.container}` : ''}`);
        out.push(`      exe ${o.exe}${o.replaced ? '  (binary replaced, restart pending)' : ''}`);
        out.push(`      cmdline ${o.cmdline || '(none)'}`);
      }
    }
    if (a.added.length > LISTED) out.push(more(a.added.length - LISTED, 'new sockets', `lsm show ${short}`));
    out.push('');
  }
  if (a.removed.length) {
    out.push(a.reminder ? 'In the baseline, and gone:' : 'Gone:');
    for (const l of a.removed.slice(0, LISTED)) {
      out.push(`  ${l.path}  ${l.line}`);
      if (l.since) out.push(since(l)!);
    }
    if (a.removed.length > LISTED) out.push(more(a.removed.length - LISTED, 'gone sockets', `lsm show ${short}`));
    out.push('');
  }
  out.push(a.reminder ? `The difference (lsm diff baseline ${short}${repo}):` : `The change (git show ${short}):`);
  out.push('');
  const diff = a.diff.replace(/\n$/, '').split('\n');
  out.push(...diff.slice(0, DIFF_LINES));
  if (diff.length > DIFF_LINES) out.push(more(diff.length - DIFF_LINES, 'lines of diff', `attached whole as lsm-${short}.diff`));
  out.push('');
  out.push('To look further:');
  out.push(a.reminder ? `  lsm drift${repo}` : `  lsm show ${short}${repo}`);
  for (const arg of [...new Set(a.added.map(blameArg))].slice(0, 5)) out.push(`  lsm blame ${arg}${repo}`);
  out.push(`  git -C ${shellWord(resolve(a.repo))} log -p`);
  return out.join('\n') + '\n';
}
