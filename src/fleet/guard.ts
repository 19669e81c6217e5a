// Server side, pre-receive: what makes the central repository append-only and per host. Runs in
// the bare repository as git's hook (the pushed objects are in git's quarantine, so it asks the
// git binary, which sees them). A refusal is one line per problem on stderr: git sends it to the
// pushing host ('remote: ...'), and the whole push is refused.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCentral } from './central-layout.js';
import { batchObjects, runGit as git } from './git-run.js';
import { DEFAULT_LIMITS, TEXT_PER_PUSH_BYTE, countPush, humanBytes, overLimit, packIndexOids, readQuarantine, type FleetLimits } from './limits.js';
import { HOST_FILES, baselineOfRef, hiddenCharProblem, hostOfRef, hostRef, snapshotPathProblem, snapshotTextProblem } from './names.js';

export const ZERO = '0000000000000000000000000000000000000000';
/** A refusal for a limit starts so ('remote: lsm: refused ...'): the line names the limit and the value. */
export const LIMIT = 'lsm: ';

// an lsm commit is a few hundred bytes; a repair's names what it found: room to spare
const COMMIT_MAX = 64 << 10;

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
  // never through a link, never waiting on a FIFO: anything but a file there is thrown as its damage (central-layout.ts)
  const text = readCentral(gitdir, 'lsm/users');
  if (text === null) return map;
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
function newCommits(gitdir: string, u: RefUpdate, limits: FleetLimits): PushedCommit[] | string {
  const range = u.old === ZERO ? [u.new, '--not', '--all'] : [u.new, '--not', u.old];
  // one more than a push may bring is enough to refuse it (--reverse applies after --max-count)
  const log = git(gitdir, ['log', `--max-count=${limits.pushCommits + 1}`, '--reverse', '--format=%H %P', '--raw', '-r', '--root', '-z', '--no-renames', '--no-abbrev', ...range]);
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

/** Problems with the new commits of one update (linear history, valid snapshot trees, within the limits). */
function contentProblems(gitdir: string, commits: PushedCommit[] | string, limits: FleetLimits): string[] {
  if (typeof commits === 'string') return [commits];
  if (commits.length > limits.pushCommits) return [`${LIMIT}the push brings more than ${limits.pushCommits} commits: at most ${limits.pushCommits} commits a push (lsm pushes a backlog in steps)`];
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
  // one git for every commit and blob, read up to what the push may hold uncompressed (a pack of
  // deltas inflates to far more than it weighs); past it git is stopped, and only then asked which
  // object or what total is too big
  const oids = [...commits.map((c) => c.id), ...blobs.keys()];
  if (oids.length === 0) return [];
  const textMax = TEXT_PER_PUSH_BYTE * limits.pushBytes;
  const cap = Math.min(blobs.size * (limits.fileBytes + 128) + commits.length * (COMMIT_MAX + 128), textMax + oids.length * 128 + 4096);
  const batch = git(gitdir, ['cat-file', '--batch'], oids.join('\n') + '\n', cap);
  if (batch.tooBig) {
    let total = 0;
    for (const l of git(gitdir, ['cat-file', '--batch-check'], oids.join('\n') + '\n').out.toString().split('\n')) {
      const [oid, type, size] = l.split(' ');
      if (type === 'commit' && Number(size) > COMMIT_MAX) return [`commit ${oid.slice(0, 10)} is ${size} bytes: an lsm commit is a few hundred (its message is one summary line)`];
      const over = type === 'blob' ? overLimit(limits, 'fileBytes', Number(size), `${blobs.get(oid)} is`) : null;
      if (over) return [LIMIT + over];
      total += Number(size) || 0;
    }
    return [`${LIMIT}the push's commits and snapshot files hold ${total} bytes (${humanBytes(total)}) uncompressed, over ${TEXT_PER_PUSH_BYTE} x FLEET_MAX_PUSH_BYTES=${textMax} (${humanBytes(textMax)})`];
  }
  if (batch.code !== 0) return [`cannot read the pushed objects: ${batch.err.trim().split('\n')[0]}`];
  for (const { oid, type, size: n, body } of batchObjects(batch.out)) {
    if (type === 'commit') {
      if (n > COMMIT_MAX) return [`commit ${oid.slice(0, 10)} is ${n} bytes: an lsm commit is a few hundred (its message is one summary line)`];
      // what a host wrote in a commit (its message, its names) is shown by fleet log and central mail: visible text only
      const text = body.toString('utf8');
      if (Buffer.byteLength(text) !== n || text.includes('\ufffd')) { problems.push(`commit ${oid.slice(0, 10)}: not UTF-8 text`); continue; }
      const split = text.indexOf('\n\n');
      const part = (from: number, to: number, name: string) => text.slice(from, to).split('\n').map((line, i) => [`${name} line ${i + 1}`, hiddenCharProblem(line)] as const);
      const bad = [...part(0, split < 0 ? text.length : split, 'header'), ...(split < 0 ? [] : part(split + 2, text.length, 'message'))].find(([, p]) => p);
      if (bad) problems.push(`commit ${oid.slice(0, 10)}, ${bad[0]}: ${bad[1]} (an lsm commit is plain text)`);
      if (problems.length >= 5) break;
      continue;
    }
    if (type !== 'blob') return [`${blobs.get(oid) ?? oid}: not a blob`];
    const tooBig = overLimit(limits, 'fileBytes', n, `${blobs.get(oid)} is`);
    if (tooBig) return [LIMIT + tooBig];
    let lines = 0;
    for (let at = body.indexOf(10); at >= 0; at = body.indexOf(10, at + 1)) lines++;
    const tooLong = overLimit(limits, 'lines', lines, `${blobs.get(oid)} has`);
    if (tooLong) return [LIMIT + tooLong];
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

export interface GuardOptions {
  limits?: FleetLimits;
  /** git's quarantine of this push (GIT_QUARANTINE_PATH): what it brought, before anything is kept */
  quarantine?: string | null;
  now?: number;
}

/** The host an update is for (its branch or its baseline), when the user may push it; else null. */
function allowedHost(u: RefUpdate, user: string | undefined, users: Map<string, Set<string>>): string | null {
  const host = hostOfRef(u.ref) ?? baselineOfRef(u.ref);
  return host !== null && user && mayPush(users, user, host) ? host : null;
}

/**
 * The objects of the quarantine that the new tips do not reach and the repository does not hold
 * already: a pack of junk would be kept for ever (git gc keeps what a pack brought while it is
 * recent, and the server never asked for it). A thin pack's bases, or an object sent again, are
 * in the repository already: harmless.
 */
function unreachableObjects(gitdir: string, updates: RefUpdate[], q: ReturnType<typeof readQuarantine>): string[] | string {
  const oids = [...q.loose];
  for (const idx of q.packIndexes) {
    const listed = packIndexOids(readFileSync(idx));
    if (!listed) return `cannot list the pushed objects: ${idx} is not a pack index version 2`;
    oids.push(...listed);
  }
  if (oids.length === 0) return [];
  const tips = updates.filter((u) => u.new !== ZERO && u.new !== u.old).map((u) => u.new);
  const not = updates.some((u) => u.old === ZERO) ? ['--all'] : updates.filter((u) => u.new !== ZERO).map((u) => u.old);
  const reached = new Set<string>();
  if (tips.length) {
    const r = git(gitdir, ['rev-list', '--objects', '--no-object-names', ...tips, '--not', ...not]);
    if (r.code !== 0) return `cannot list what the new tips reach: ${r.err.trim().split('\n')[0]}`;
    for (const l of r.out.toString().split('\n')) if (l) reached.add(l);
  }
  const others = oids.filter((o) => !reached.has(o));
  if (others.length === 0) return [];
  // which of them the repository holds without this push: git without the quarantine
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_DIR: gitdir, GIT_OBJECT_DIRECTORY: join(gitdir, 'objects') };
  delete env.GIT_QUARANTINE_PATH;
  delete env.GIT_ALTERNATE_OBJECT_DIRECTORIES;
  const held = spawnSync('git', ['cat-file', '--batch-check'], { cwd: gitdir, input: others.join('\n') + '\n', env, maxBuffer: 1 << 30 });
  if (held.status !== 0) return `cannot look the pushed objects up: ${(held.stderr ?? '').toString().trim().split('\n')[0]}`;
  return held.stdout.toString().split('\n').filter((l) => l.endsWith(' missing')).map((l) => l.split(' ')[0]);
}

/** Every reason to refuse these updates; empty: accept. */
export function guard(gitdir: string, updates: RefUpdate[], user: string | undefined, users = readUserMap(gitdir), o: GuardOptions = {}): string[] {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const problems: string[] = [];
  const sayOf = (u: RefUpdate) => (why: string) => problems.push(why.startsWith(LIMIT) ? `${LIMIT}refused ${u.ref}: ${why.slice(LIMIT.length)}` : `refused ${u.ref}: ${why}`);
  // the limits, when every update is one the user may make (else it is refused below, and not
  // counted: nobody can use up another host's pushes), before the content is read
  const changes = updates.filter((u) => u.old !== u.new);
  if (changes.length && updates.every((u) => allowedHost(u, user, users) !== null)) {
    const now = o.now ?? Date.now();
    for (const host of new Set(changes.map((u) => allowedHost(u, user, users)!))) {
      const refused = countPush(gitdir, host, limits, now);
      if (refused) for (const u of changes.filter((c) => allowedHost(c, user, users) === host)) sayOf(u)(LIMIT + refused);
    }
    if (problems.length) return problems;
    const q = o.quarantine ? readQuarantine(o.quarantine) : null;
    const over = q && overLimit(limits, 'pushBytes', q.bytes, 'the push brings');
    if (over) { for (const u of changes) sayOf(u)(LIMIT + over); return problems; }
    refProblems(gitdir, updates, user, users, limits, sayOf);
    if (problems.length || !q) return problems;
    const junk = unreachableObjects(gitdir, updates, q);
    if (typeof junk === 'string') for (const u of changes) sayOf(u)(junk);
    else if (junk.length) for (const u of changes) sayOf(u)(`${LIMIT}the push brings ${junk.length} object${junk.length === 1 ? '' : 's'} its new tips do not reach (${junk[0].slice(0, 10)}${junk.length > 1 ? ', ...' : ''}): only a host's snapshots are kept`);
    return problems;
  }
  refProblems(gitdir, updates, user, users, limits, sayOf);
  return problems;
}

/** What each update may do: whose branch, append-only, a valid snapshot within the limits. */
function refProblems(gitdir: string, updates: RefUpdate[], user: string | undefined, users: Map<string, Set<string>>, limits: FleetLimits, sayOf: (u: RefUpdate) => (why: string) => void): void {
  for (const u of updates) {
    const say = sayOf(u);
    const baselineOf = baselineOfRef(u.ref);
    if (baselineOf !== null) { for (const p of baselineProblems(gitdir, u, baselineOf, updates, user, users)) say(p); continue; }
    const host = hostOfRef(u.ref);
    if (host === null) { say('only hosts/<host id> and baselines/<host id> branches are accepted here'); continue; }
    if (!user) { say('no authenticated user (the web server must require a login and pass REMOTE_USER)'); continue; }
    if (!mayPush(users, user, host)) { say(`user '${user}' may not push to hosts/${host} (lsm/users in the repository maps users to hosts)`); continue; }
    if (u.new === ZERO) { say('deleting a host branch is refused: the fleet history is append-only'); continue; }
    const commits = newCommits(gitdir, u, limits);
    if (u.old !== ZERO && !fastForward(gitdir, u, commits)) {
      say(`non-fast-forward (${u.old.slice(0, 10)} is not an ancestor of ${u.new.slice(0, 10)}): the fleet history is append-only, rewritten history is refused`);
      continue;
    }
    for (const p of contentProblems(gitdir, commits, limits)) say(p);
  }
}
