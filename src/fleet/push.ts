// Host side: push the history to the fleet's server, branch hosts/<HOST_ID>, after each commit and
// on every run (so a failed push catches up). Never forced: a server that refuses a fast-forward,
// or a local HEAD that no longer descends from what the server has, means the histories diverged,
// and that is reported for an alert. Nothing here prints; the state of the last try is kept in
// .git/lsm/push.json for `lsm status`.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT, LsmError } from '../errors.js';
import { readChecked } from '../safe-path.js';
import { writeFileAtomic } from '../store/atomic-fs.js';
import { igit, readRef } from '../store/git.js';
import { BASELINE_REF, BRANCH, openRepo, type Repo } from '../store/repo.js';
import { PUSHED_BASELINE_REF, PUSHED_REF, baselineRef, hostIdProblem, hostRef } from './names.js';
import { SendHttpError, commitChain, newObjects, sendUpdate, type Request } from './send.js';
import { STEPPED } from './limits.js';

export interface PushSettings {
  remote: string; // http(s) URL, maybe with user:password
  tokenFile: string; // '' = none
  hostId: string;
  timeoutMs?: number;
}

export interface PushState {
  time: number; // unix ms of the last try that needed the server
  ok: boolean;
  error: string | null; // one line, never a credential
  head: string | null; // what we tried to push
  pushed: string | null; // what the server has (refs/lsm/pushed)
  lastSuccess: number | null;
  failingSince: number | null;
  diverged: 'remote' | 'local' | null;
}

export interface PushOutcome {
  state: PushState;
  pushedNow: boolean; // the server took new commits in this run
  /** a divergence not alerted yet: the CLI raises the alert */
  divergence: { kind: 'remote' | 'local'; head: string; pushed: string | null; message: string } | null;
}

const STATE = 'lsm/push.json';
export const HEARTBEAT_MS = 60_000; // at most one no-op push a minute (lsm watch scans more often)
const DIVERGENCE_ALERTED = 'lsm/push-diverged-alerted';

interface Auth { username: string; password: string }

/** Read a secret file without following links; as root it must be root's and private. */
function readSecretFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LsmError(`REMOTE_TOKEN_FILE ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'ELOOP' ? 'is a symbolic link' : code}`, EXIT.USAGE);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LsmError(`REMOTE_TOKEN_FILE ${path}: not a regular file`, EXIT.USAGE);
    if (st.mode & 0o077) throw new LsmError(`REMOTE_TOKEN_FILE ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}): run chmod 600 ${path}`, EXIT.USAGE);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid && st.uid !== 0) throw new LsmError(`REMOTE_TOKEN_FILE ${path} belongs to uid ${st.uid}, not to root or the running user`, EXIT.USAGE);
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').trim();
  } finally {
    closeSync(fd);
  }
}

/** The URL without credentials (it may appear in messages) and the credentials apart. */
export function remoteCredentials(s: PushSettings): { url: string; auth: Auth | null } {
  let u: URL;
  try { u = new URL(s.remote); } catch { throw new LsmError('REMOTE is not a URL: expected https://[user:password@]host/path', EXIT.USAGE); }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new LsmError(`REMOTE must start with https:// or http://, not ${u.protocol}//`, EXIT.USAGE);
  let auth: Auth | null = u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : null;
  u.username = '';
  u.password = '';
  if (s.tokenFile) {
    const token = readSecretFile(s.tokenFile);
    const colon = token.indexOf(':');
    // 'user:password', or a bare token sent with the host id as the user name
    auth = colon > 0 ? { username: token.slice(0, colon), password: token.slice(colon + 1) } : { username: auth?.username || s.hostId, password: token };
  }
  return { url: u.toString(), auth };
}

export function readPushState(repoDir: string): PushState | null {
  // never through a link, never waiting on a FIFO (what it is instead: the layout check of lsm -c says)
  try { return JSON.parse(readChecked(join(repoDir, '.git', STATE))) as PushState; } catch { return null; }
}

async function writeState(repo: Repo, state: PushState): Promise<void> {
  mkdirSync(join(repo.gitdir, 'lsm'), { recursive: true });
  await writeFileAtomic(join(repo.gitdir, STATE), JSON.stringify(state), repo.gitdir, 0o600, 'none');
}

async function setRef(repo: Repo, ref: string, oid: string): Promise<void> {
  mkdirSync(dirname(join(repo.gitdir, ref)), { recursive: true });
  await writeFileAtomic(join(repo.gitdir, ref), `${oid}\n`, repo.gitdir);
}

/** Each divergence is alerted once per HEAD: a rewritten host is reported, not mailed every run. */
function alreadyAlerted(repo: Repo, key: string): boolean {
  try { return readChecked(join(repo.gitdir, DIVERGENCE_ALERTED)) === key; } catch { return false; }
}
export async function markDivergenceAlerted(repoDir: string, kind: string, head: string): Promise<void> {
  const repo = openRepo(repoDir);
  await writeFileAtomic(join(repo.gitdir, DIVERGENCE_ALERTED), `${kind} ${head}`, repo.gitdir, 0o600, 'none');
}

const ZERO_OID = '0'.repeat(40);
const STEP_CHAIN_MAX = 100_000; // commits a backlog pushed in steps may hold (a year of scans every 10 minutes is 52,560)

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Push HEAD to hosts/<id> when the server does not have it yet. Errors of the network or the
 * server are returned in the state (retried next run), never thrown; a bad config is thrown.
 */
export async function pushHistory(repoDir: string, s: PushSettings, now = Date.now()): Promise<PushOutcome | null> {
  const problem = hostIdProblem(s.hostId);
  if (problem) throw new LsmError(`HOST_ID: ${problem}`, EXIT.USAGE);
  const { url, auth } = remoteCredentials(s);
  const repo = openRepo(repoDir);
  const head = readRef(repo.gitdir, `refs/heads/${BRANCH}`);
  const pushed = readRef(repo.gitdir, PUSHED_REF);
  const previous = readPushState(repoDir);
  if (head === null) return null;
  // nothing new: still a no-op push now and then, the heartbeat that tells the server this host lives
  // the approved baseline goes too (baselines/<id>), for the server's drift column; never deleted there
  const baseline = readRef(repo.gitdir, BASELINE_REF);
  const baselineDue = baseline !== null && baseline !== readRef(repo.gitdir, PUSHED_BASELINE_REF);
  const branchDue = head !== pushed || !(previous?.ok && now - previous.time < HEARTBEAT_MS);
  if (!branchDue && !baselineDue) return null;
  const base = { head, pushed, lastSuccess: previous?.lastSuccess ?? null }; // pushed moves with each step taken
  const fail = async (error: string, diverged: PushState['diverged'] = null): Promise<PushOutcome> => {
    const state: PushState = { ...base, time: now, ok: false, error, diverged, failingSince: previous?.ok === false ? previous.failingSince ?? now : now };
    await writeState(repo, state);
    const key = `${diverged} ${head}`;
    const divergence = diverged && !alreadyAlerted(repo, key) ? { kind: diverged, head, pushed, message: error } : null;
    return { state, pushedNow: false, divergence };
  };

  if (pushed && pushed !== head) {
    let descends = false;
    try { descends = await (await igit()).isDescendent({ fs: repo.fs, gitdir: repo.gitdir, oid: head, ancestor: pushed, depth: -1, cache: repo.cache }); } catch { /* the pushed commit is gone */ }
    if (!descends) return fail(`local history rewritten: HEAD ${head.slice(0, 10)} does not descend from ${pushed.slice(0, 10)}, the last commit the server has; not pushed (never forced)`, 'local');
  }
  const messages: string[] = [];
  const timeoutMs = s.timeoutMs ?? 60_000; // the server runs two hooks per push: generous under load
  const { default: http } = await import('isomorphic-git/http/node');
  // an idle socket ends the try: a server that hangs must not hang the cron run
  const timed = { request: (r: Parameters<typeof http.request>[0]) => http.request({ ...r, fetchOptions: { ...((r.fetchOptions as Record<string, unknown> | undefined) ?? {}), timeout: timeoutMs } }) };
  const headers: Record<string, string> = auth ? { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {};
  const branch = { ref: `refs/heads/${BRANCH}`, remoteRef: hostRef(s.hostId) };
  let what = branch; // what the messages below name
  const done = async (): Promise<PushOutcome> => {
    const state: PushState = { head, pushed: head, time: now, ok: true, error: null, diverged: null, lastSuccess: now, failingSince: null };
    await writeState(repo, state);
    return { state, pushedNow: head !== pushed, divergence: null };
  };
  /** Where the server's branch is (null: it has none), from ref discovery. */
  const serverTip = async (): Promise<string | null> => {
    const refs = await (await igit()).listServerRefs({ http: timed, url, headers, forPush: true, prefix: branch.remoteRef, protocolVersion: 1 });
    return refs.find((r) => r.ref === branch.remoteRef)?.oid ?? null;
  };
  /**
   * The server refused HEAD for its size (FLEET_MAX_PUSH_BYTES): push the backlog in steps, each a
   * commit along the chain from the server's tip, halving the step while it is too big. Each step
   * taken moves refs/lsm/pushed, so a run stopped (by the rate limit, the network) goes on from there
   * next time; a single commit over the limit is a refusal as any other. Null: HEAD is on the server.
   */
  const pushInSteps = async (serverTip: string | null, refusal: string): Promise<PushOutcome | null> => {
    const chain = await commitChain(repo, serverTip, head, STEP_CHAIN_MAX);
    if (!chain) return fail(refusal);
    let from = serverTip;
    let step = Math.max(1, chain.length >> 1); // the whole chain was just refused
    for (let at = 0; at < chain.length;) {
      const to = chain[Math.min(at + step, chain.length) - 1];
      const objects = (await newObjects(repo, from, to, STEP_CHAIN_MAX))!;
      const r = await sendUpdate(timed.request as unknown as Request, url, headers, repo, { old: from ?? ZERO_OID, new: to, ref: branch.remoteRef }, objects);
      const refError = r.refs.has(branch.remoteRef) ? r.refs.get(branch.remoteRef)! : 'no report for the branch';
      if (r.unpack === 'ok' && refError === null) {
        await setRef(repo, PUSHED_REF, to);
        base.pushed = from = to;
        at = Math.min(at + step, chain.length);
        continue;
      }
      const said = `the server refused ${branch.remoteRef.slice('refs/heads/'.length)}: ${refError ?? `unpack ${r.unpack}`}${serverSaid([r.messages])}`;
      if (step > 1 && STEPPED.test(r.messages)) { step = Math.ceil(step / 2); continue; }
      const pushedPart = from !== serverTip ? ` (pushed in steps up to ${from!.slice(0, 10)}; the rest next run)` : '';
      return fail(`${said}${pushedPart}`);
    }
    return null;
  };
  try {
    for (const push of [...(branchDue ? [branch] : []), ...(baselineDue ? [{ ref: BASELINE_REF, remoteRef: baselineRef(s.hostId) }] : [])]) {
      what = push;
      // the common case, a change or a heartbeat on top of what the server has: one request
      const objects = push === branch && pushed ? await newObjects(repo, pushed, head) : null;
      if (objects) {
        const r = await sendUpdate(timed.request as unknown as Request, url, headers, repo, { old: pushed!, new: head, ref: push.remoteRef }, objects);
        const refError = r.refs.has(push.remoteRef) ? r.refs.get(push.remoteRef)! : 'no report for the branch';
        if (r.unpack === 'ok' && refError === null) {
          if (head !== pushed) await setRef(repo, PUSHED_REF, head);
          continue;
        }
        if (/hook declined/.test(refError ?? '')) {
          const refusal = `the server refused ${push.remoteRef.slice('refs/heads/'.length)}: ${refError}${serverSaid([r.messages])}`;
          if (!STEPPED.test(r.messages)) return fail(refusal);
          const stopped = await pushInSteps(pushed, refusal);
          if (stopped) return stopped;
          continue;
        }
        // the server's branch is not where refs/lsm/pushed says (or the pack did not do): the long way finds out
      }
      const result = await (await igit()).push({
        fs: repo.fs, http: timed, gitdir: repo.gitdir, url, ...push, headers, cache: repo.cache,
        onAuthFailure: () => ({ cancel: true }),
        onMessage: (m) => { messages.push(m); },
      });
      const refResult = Object.values(result.refs ?? {})[0];
      if (!result.ok || (refResult && !refResult.ok)) {
        const refusal = `the server refused ${push.remoteRef.slice('refs/heads/'.length)}: ${refResult?.error ?? result.error ?? 'unknown'}${serverSaid(messages)}`;
        if (push !== branch || !STEPPED.test(messages.join(''))) return fail(refusal);
        const stopped = await pushInSteps(await serverTip(), refusal);
        if (stopped) return stopped;
      }
      if (push.ref === BASELINE_REF) await setRef(repo, PUSHED_BASELINE_REF, baseline!);
      else if (head !== pushed) await setRef(repo, PUSHED_REF, head);
    }
  } catch (err) {
    const e = err as Error & { code?: string; data?: { reason?: string; statusCode?: number; result?: { refs?: Record<string, { error?: string }> } } };
    if (e.code === 'PushRejectedError' && e.data?.reason === 'not-fast-forward' && what.ref === BASELINE_REF) {
      return fail(`the server's baselines/${s.hostId} is not an ancestor of the baseline ${baseline!.slice(0, 10)}: a baseline moved back is not pushed (never forced)`);
    }
    if (e.code === 'PushRejectedError' && e.data?.reason === 'not-fast-forward') {
      return fail(`the server's hosts/${s.hostId} is not an ancestor of HEAD ${head.slice(0, 10)}: the histories diverged; not pushed (never forced)`, 'remote');
    }
    if (e.code === 'GitPushError') {
      const refError = Object.values(e.data?.result?.refs ?? {})[0]?.error ?? e.message;
      if (what === branch && STEPPED.test(messages.join(''))) {
        // the long way was refused for its size: the same steps, from the server's tip
        try {
          const stopped = await pushInSteps(await serverTip(), `the server refused ${what.remoteRef.slice('refs/heads/'.length)}: ${oneLine(refError)}${serverSaid(messages)}`);
          if (stopped) return stopped;
          return done();
        } catch (again) {
          return fail(`${url}: ${oneLine((again as Error).message)}`);
        }
      }
      return fail(`the server refused ${what.remoteRef.slice('refs/heads/'.length)}: ${oneLine(refError)}${serverSaid(messages)}`);
    }
    if (err instanceof SendHttpError) return fail(`${url}: HTTP ${err.statusCode} ${oneLine(err.message)}`);
    if (e.code === 'HttpError') return fail(`${url}: HTTP ${e.data?.statusCode ?? ''} ${oneLine(e.message)}`.replace(/\s+/g, ' '));
    return fail(`${url}: ${oneLine(e.message)}`);
  }
  return done();
}

/** The server's own words (the guard's refusal), as `git push` shows them after 'remote:'. */
function serverSaid(messages: string[]): string {
  const lines = messages.join('').split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean);
  return lines.length ? ` (remote: ${lines.join(' | ')})` : '';
}
