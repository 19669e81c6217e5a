// The alert: what a person reads. Built once, when the change is recorded, with the owners of each
// new socket as they are at that moment (pid, user, exe, command line, container, age).
import { escapeField } from '../snapshot/escape.js';
import type { SnapshotLine } from '../snapshot/index.js';
import type { Change, Owner } from '../types.js';

export interface AlertOwner { pid: number; user: string; exe: string; cmdline: string; container: string | null; startedAt: number | null }
export interface AlertLine { path: string; line: string; owners: AlertOwner[] }

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
  reminder?: boolean; // a reminder of unapproved drift, not a new change
}

function owner(o: Owner): AlertOwner {
  return {
    pid: o.pid, user: o.user === null ? '?' : escapeField(o.user), exe: o.exe === null ? '?' : escapeField(o.exe),
    cmdline: o.cmdline.map(escapeField).join(' '), container: o.container === null ? null : escapeField(o.container), startedAt: o.startedAt,
  };
}

export function buildAlert(change: Change, now: Map<string, SnapshotLine[]> | null, diff: string, host: string, repo: string): Alert {
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
    diff, repo,
  };
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
  return port && (kind === 'tcp' || kind === 'udp') ? `${port[1]}/${kind}` : endpoint;
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
  const short = a.commit.slice(0, 10);
  const out: string[] = [];
  if (a.reminder) out.push(`REMINDER: these differences from the approved baseline (${a.parent?.slice(0, 10)}) are still not approved. Approve them with lsm -g, or remove them.`, '');
  out.push(`lsm on ${a.host} recorded a change at ${stamp(a.time)} (commit ${short}): ` +
    `${a.added.length} socket${a.added.length === 1 ? '' : 's'} appeared, ${a.removed.length} vanished. ${a.summary}`);
  out.push('');
  if (a.added.length) {
    out.push('New sockets, and who holds them now:');
    for (const l of a.added.slice(0, LISTED)) {
      out.push(`  ${l.path}  ${l.line}`);
      if (l.owners.length === 0) out.push('      owner: unknown now (the process exited, or lsm could not read it)');
      for (const o of l.owners) {
        out.push(`      pid ${o.pid}  user ${o.user}${o.startedAt ? `  running ${age(a.time - o.startedAt)}` : ''}${o.container ? `  container ${o.container}` : ''}`);
        out.push(`      exe ${o.exe}`);
        out.push(`      cmdline ${o.cmdline || '(none)'}`);
      }
    }
    if (a.added.length > LISTED) out.push(more(a.added.length - LISTED, 'new sockets', `lsm show ${short}`));
    out.push('');
  }
  if (a.removed.length) {
    out.push('Gone:');
    for (const l of a.removed.slice(0, LISTED)) out.push(`  ${l.path}  ${l.line}`);
    if (a.removed.length > LISTED) out.push(more(a.removed.length - LISTED, 'gone sockets', `lsm show ${short}`));
    out.push('');
  }
  out.push(`The change (git show ${short}):`);
  out.push('');
  const diff = a.diff.replace(/\n$/, '').split('\n');
  out.push(...diff.slice(0, DIFF_LINES));
  if (diff.length > DIFF_LINES) out.push(more(diff.length - DIFF_LINES, 'lines of diff', `attached whole as lsm-${short}.diff`));
  out.push('');
  out.push('To look further:');
  out.push(`  lsm show ${short}`);
  for (const arg of [...new Set(a.added.map(blameArg))].slice(0, 5)) out.push(`  lsm blame ${arg}`);
  out.push(`  git -C ${a.repo} log -p`);
  return out.join('\n') + '\n';
}
