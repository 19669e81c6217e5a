// Server side, pre-receive: what makes the central repository append-only and per host. Runs in
// the bare repository as git's hook (the pushed objects are in git's quarantine, so it asks the
// git binary, which sees them). A refusal is one line per problem on stderr: git sends it to the
// pushing host ('remote: ...'), and the whole push is refused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchObjects, runGit as git } from './git-run.js';
import { HOST_FILES, MAX_FILE_BYTES, baselineOfRef, hostOfRef, hostRef, snapshotPathProblem, snapshotTextProblem } from './names.js';

export const ZERO = '0000000000000000000000000000000000000000';

export interface RefUpdate { old: string; new: string; ref: string }

export function parseUpdates(text: string): RefUpdate[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const [o, n, ref] = l.split(' ');
    return { old: o, new: n, ref };
  });
}

/** Who may push which host: `lsm/users` in the repository, 'USER HOST...' lines ('*': any host). */
export function readUserMap(gitdir: string): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>();
  let text = '';
  try { text = readFileSync(join(gitdir, 'lsm', 'users'), 'utf8'); } catch { return map; }
  for (const raw of text.split('\n')) {
    const [user, ...hosts] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (user) map.set(user, new Set([...(map.get(user) ?? []), ...hosts]));
  }
  return map;
}

export function mayPush(users: Map<string, Set<string>>, user: string, host: string): boolean {
  const allowed = users.get(user);
  return allowed ? allowed.has(host) || allowed.has('*') : user === host; // default: the user is the host id
}

/** One pushed commit: its id, its parents, and its changes against its first parent (a root: its whole tree), as `git log --raw -z` gives them. */
interface PushedCommit { id: string; parents: string[]; changes: { mode: string; oid: string; status: string; path: string }[] }

/**
 * The commits an update brings, oldest first, with their changes, in one git process (the guard runs
 * inside every push: each git it starts is time the host waits). A fast-forward's are those its old
 * tip lacks; a new branch's, those no ref has yet. Merges list no changes: they are refused anyway.
 */
function newCommits(gitdir: string, u: RefUpdate): PushedCommit[] | string {
  const range = u.old === ZERO ? [u.new, '--not', '--all'] : [u.new, '--not', u.old];
  const log = git(gitdir, ['log', '--reverse', '--format=%H %P', '--raw', '-r', '--root', '-z', '--no-renames', '--no-abbrev', ...range]);
  if (log.code !== 0) return `cannot read the pushed commits: ${log.err.trim().split('\n')[0]}`;
  const commits: PushedCommit[] = [];
  const tokens = log.out.toString('latin1').split('\0');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i].replace(/^\n/, '');
    if (t.startsWith(':')) {
      const [, mode, , oid, status] = t.slice(1).split(' ');
      commits[commits.length - 1]?.changes.push({ mode, oid, status, path: tokens[++i] ?? '' });
    } else if (/^[0-9a-f]{40}( [0-9a-f]{40})* ?$/.test(t)) {
      const [id, ...parents] = t.trim().split(' ');
      commits.push({ id, parents, changes: [] });
    } else if (t !== '') return `cannot read the pushed commits: unexpected output from git log: ${JSON.stringify(t.slice(0, 60))}`;
  }
  return commits;
}

/**
 * Whether old is an ancestor of new. The common push needs no git for it: its new commits form a
 * chain whose first one's parent is the old tip (then old is an ancestor; merges are refused anyway).
 */
function fastForward(gitdir: string, u: RefUpdate, commits: PushedCommit[] | string): boolean {
  if (u.old === u.new) return true;
  if (typeof commits !== 'string' && commits.length > 0 && commits[commits.length - 1].id === u.new &&
    commits.every(({ parents }, i) => parents.length === 1 && parents[0] === (i === 0 ? u.old : commits[i - 1].id))) return true;
  return git(gitdir, ['merge-base', '--is-ancestor', u.old, u.new]).code === 0;
}

/** Problems with the new commits of one update (linear history, valid snapshot trees). */
function contentProblems(gitdir: string, commits: PushedCommit[] | string): string[] {
  if (typeof commits === 'string') return [commits];
  for (const c of commits) if (c.parents.length > 1) return [`commit ${c.id.slice(0, 10)} is a merge: a host's history is linear`];
  const problems: string[] = [];
  const blobs = new Map<string, string>(); // blob -> a path it is at
  for (const c of commits) {
    const at = `commit ${c.id.slice(0, 10)}`;
    for (const { mode, oid, status, path } of c.changes) {
      if (status === 'D') {
        if (HOST_FILES.includes(path)) problems.push(`${at} deletes ${path}: every snapshot has the host's files`);
        continue;
      }
      const pathProblem = snapshotPathProblem(Buffer.from(path, 'latin1').toString('utf8'));
      if (pathProblem) { problems.push(`${at}: not an lsm snapshot: ${pathProblem}`); continue; }
      if (mode !== '100644') { problems.push(`${at}: ${path} has mode ${mode}: snapshot files are plain files`); continue; }
      blobs.set(oid, path);
    }
    if (c.parents.length === 0) {
      const missing = HOST_FILES.filter((f) => !c.changes.some((ch) => ch.path === f));
      if (missing.length) problems.push(`${at}: not an lsm snapshot: ${missing.join(', ')} missing`);
    }
  }
  if (problems.length) return problems.slice(0, 5);
  if (blobs.size === 0) return [];
  // one git for every blob: at most as much as that many snapshot files may hold (and 1 GiB) is read;
  // past it git is stopped and only then asked which blob is too big
  const cap = Math.min(blobs.size * (MAX_FILE_BYTES + 100), 1 << 30);
  const batch = git(gitdir, ['cat-file', '--batch'], [...blobs.keys()].join('\n') + '\n', cap);
  if (batch.tooBig) {
    const sizes = git(gitdir, ['cat-file', '--batch-check'], [...blobs.keys()].join('\n') + '\n').out.toString().split('\n');
    for (const l of sizes) {
      const [oid, , size] = l.split(' ');
      if (oid && Number(size) > MAX_FILE_BYTES) return [`${blobs.get(oid)}: ${size} bytes, more than a snapshot file may hold`];
    }
    return [`the pushed snapshot files hold more than ${cap} bytes`];
  }
  for (const { oid, type, size: n, body } of batchObjects(batch.out)) {
    if (type !== 'blob') return [`${blobs.get(oid) ?? oid}: not a blob`];
    if (n > MAX_FILE_BYTES) return [`${blobs.get(oid)}: ${n} bytes, more than a snapshot file may hold`];
    const text = body.toString('utf8');
    if (Buffer.byteLength(text) !== n || text.includes('\ufffd')) { problems.push(`${blobs.get(oid)}: not UTF-8 text`); continue; }
    const p = snapshotTextProblem(blobs.get(oid)!, text);
    if (p) problems.push(`not an lsm snapshot: ${p}`);
    if (problems.length >= 5) break;
  }
  return problems;
}

/**
 * A host's approved baseline (baselines/<id>): under the same rules as its branch (that host's
 * user, never deleted, never moved back), and it must be a commit of that host's own history (its
 * branch as it is, or as this same push moves it): nothing else can be called approved.
 */
function baselineProblems(gitdir: string, u: RefUpdate, host: string, updates: RefUpdate[], user: string | undefined, users: Map<string, Set<string>>): string[] {
  if (!user) return ['no authenticated user (the web server must require a login and pass REMOTE_USER)'];
  if (!mayPush(users, user, host)) return [`user '${user}' may not push to baselines/${host} (lsm/users in the repository maps users to hosts)`];
  if (u.new === ZERO) return ["deleting a host's baseline is refused: the fleet history is append-only"];
  if (u.old !== ZERO && git(gitdir, ['merge-base', '--is-ancestor', u.old, u.new]).code !== 0) return [`non-fast-forward (${u.old.slice(0, 10)} is not an ancestor of ${u.new.slice(0, 10)}): a baseline only moves forward`];
  const moved = updates.find((o) => hostOfRef(o.ref) === host && o.new !== ZERO);
  const current = git(gitdir, ['rev-parse', '--verify', '--quiet', `${hostRef(host)}^{commit}`]);
  const tip = moved?.new ?? (current.code === 0 ? current.out.toString().trim() : null);
  if (!tip) return [`no branch hosts/${host}: a baseline must be a commit of the host's history (push the branch first)`];
  if (git(gitdir, ['merge-base', '--is-ancestor', u.new, tip]).code !== 0) return [`${u.new.slice(0, 10)} is not a commit of hosts/${host}: a baseline must be one of the host's own snapshots`];
  return [];
}

/** Every reason to refuse these updates; empty: accept. */
export function guard(gitdir: string, updates: RefUpdate[], user: string | undefined, users = readUserMap(gitdir)): string[] {
  const problems: string[] = [];
  for (const u of updates) {
    const say = (why: string) => problems.push(`refused ${u.ref}: ${why}`);
    const baselineOf = baselineOfRef(u.ref);
    if (baselineOf !== null) { for (const p of baselineProblems(gitdir, u, baselineOf, updates, user, users)) say(p); continue; }
    const host = hostOfRef(u.ref);
    if (host === null) { say('only hosts/<host id> and baselines/<host id> branches are accepted here'); continue; }
    if (!user) { say('no authenticated user (the web server must require a login and pass REMOTE_USER)'); continue; }
    if (!mayPush(users, user, host)) { say(`user '${user}' may not push to hosts/${host} (lsm/users in the repository maps users to hosts)`); continue; }
    if (u.new === ZERO) { say('deleting a host branch is refused: the fleet history is append-only'); continue; }
    const commits = newCommits(gitdir, u);
    if (u.old !== ZERO && !fastForward(gitdir, u, commits)) {
      say(`non-fast-forward (${u.old.slice(0, 10)} is not an ancestor of ${u.new.slice(0, 10)}): the fleet history is append-only, rewritten history is refused`);
      continue;
    }
    for (const p of contentProblems(gitdir, commits)) say(p);
  }
  return problems;
}
