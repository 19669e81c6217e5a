// The fleet index: per host, its changes and every interval of every line, read from the host's
// branch with one `git log -p` (incrementally from the last tip indexed). Derived data: `lsm fleet
// reindex` rebuilds it from the branches, `lsm fleet verify` checks it against them. The one record
// that is not derived is lsm/pushes.jsonl: when the server received what (git does not keep it).
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LsmError } from '../errors.js';
import { HOST_PREFIX, hostIdProblem } from './names.js';

export interface FleetChange { c: string; t: number; s: string; a: number; r: number } // commit, time (ms), summary, +lines, -lines
/** [from commit, from time, to commit | null, to time | null] */
export type Span = [string, number, string | null, number | null];

export interface HostIndex {
  v: 1;
  host: string;
  tip: string;
  received: number | null; // unix ms of the last push the server recorded (lsm/pushes.jsonl)
  changes: FleetChange[];
  lines: Record<string, Span[]>; // 'path\tline' -> its intervals, oldest first
}

const dirOf = (gitdir: string) => join(gitdir, 'lsm', 'index');
const fileOf = (gitdir: string, host: string) => join(dirOf(gitdir), `${host}.json`);

function git(gitdir: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd: gitdir, maxBuffer: 1 << 30, encoding: 'utf8', env: { ...process.env, GIT_DIR: gitdir } });
  if (r.status !== 0) throw new LsmError(`git ${args[0]} failed in ${gitdir}: ${(r.stderr || '').trim().split('\n')[0]}`);
  return r.stdout;
}

/** Every host branch: id -> tip. */
export function hostTips(gitdir: string): Map<string, string> {
  const tips = new Map<string, string>();
  for (const l of git(gitdir, ['for-each-ref', '--format=%(objectname) %(refname)', HOST_PREFIX]).split('\n')) {
    const [oid, ref] = l.split(' ');
    if (!ref) continue;
    const id = ref.slice(HOST_PREFIX.length);
    if (!hostIdProblem(id)) tips.set(id, oid);
  }
  return tips;
}

export function readHostIndex(gitdir: string, host: string): HostIndex | null {
  try { return JSON.parse(readFileSync(fileOf(gitdir, host), 'utf8')) as HostIndex; } catch { return null; }
}

export function readAllIndexes(gitdir: string): HostIndex[] {
  let names: string[] = [];
  try { names = readdirSync(dirOf(gitdir)).filter((n) => n.endsWith('.json')).sort(); } catch { return []; }
  return names.map((n) => readHostIndex(gitdir, n.slice(0, -5))).filter((x): x is HostIndex => x !== null);
}

function writeHostIndex(gitdir: string, idx: HostIndex): void {
  mkdirSync(dirOf(gitdir), { recursive: true });
  const path = fileOf(gitdir, idx.host);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(idx));
  renameSync(tmp, path); // readers see the old index or the new one
}

/** Apply `git log -p --unified=0` output (oldest first) to an index. */
function applyLog(idx: HostIndex, text: string): void {
  let change: FleetChange | null = null;
  let path = '';
  let minus = 0, plus = 0;
  for (const line of text.split('\n')) {
    if (minus > 0 && line.startsWith('-')) {
      minus--;
      const spans = idx.lines[`${path}\t${line.slice(1)}`];
      const open = spans?.[spans.length - 1];
      if (open && open[2] === null) { open[2] = change!.c; open[3] = change!.t; }
      change!.r++;
      continue;
    }
    if (plus > 0 && line.startsWith('+')) {
      plus--;
      const key = `${path}\t${line.slice(1)}`;
      (idx.lines[key] ??= []).push([change!.c, change!.t, null, null]);
      change!.a++;
      continue;
    }
    if (line.startsWith('\x01')) {
      const [c, t, ...s] = line.slice(1).split(' ');
      change = { c, t: Number(t) * 1000, s: s.join(' '), a: 0, r: 0 };
      idx.changes.push(change);
      idx.tip = c;
      continue;
    }
    if (line.startsWith('diff --git a/')) { path = line.slice('diff --git a/'.length).split(' b/')[0]; continue; }
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (hunk) { minus = hunk[1] === undefined ? 1 : Number(hunk[1]); plus = hunk[2] === undefined ? 1 : Number(hunk[2]); }
  }
}

const LOG_ARGS = ['log', '--reverse', '--first-parent', '--format=%x01%H %ct %s', '-p', '--unified=0', '--no-renames', '--no-color', '--no-ext-diff', '--diff-algorithm=myers'];

/** Bring one host's index up to its branch tip: from the last tip indexed when it is an ancestor, else from scratch. */
export function updateHostIndex(gitdir: string, host: string, tip: string, received: number | null): HostIndex {
  let idx = readHostIndex(gitdir, host);
  if (idx && idx.tip !== tip && spawnSync('git', ['merge-base', '--is-ancestor', idx.tip, tip], { cwd: gitdir, env: { ...process.env, GIT_DIR: gitdir } }).status !== 0) idx = null;
  if (!idx) idx = { v: 1, host, tip: '', received: null, changes: [], lines: {} };
  if (idx.tip !== tip) applyLog(idx, git(gitdir, [...LOG_ARGS, idx.tip ? `${idx.tip}..${tip}` : tip]));
  if (received !== null) idx.received = received;
  writeHostIndex(gitdir, idx);
  return idx;
}

export interface PushRecord { t: number; host: string; old: string; new: string; user: string }

export function recordPush(gitdir: string, rec: PushRecord): void {
  mkdirSync(join(gitdir, 'lsm'), { recursive: true });
  appendFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), JSON.stringify(rec) + '\n');
}

/** The last time a host pushed, a heartbeat or new commits: lsm/seen/<host> holds it. */
export function markSeen(gitdir: string, host: string, t: number): void {
  mkdirSync(join(gitdir, 'lsm', 'seen'), { recursive: true });
  const path = join(gitdir, 'lsm', 'seen', host);
  writeFileSync(`${path}.${process.pid}.tmp`, String(t));
  renameSync(`${path}.${process.pid}.tmp`, path);
}

export function lastSeen(gitdir: string, host: string): number | null {
  try { const t = Number(readFileSync(join(gitdir, 'lsm', 'seen', host), 'utf8')); return Number.isFinite(t) ? t : null; } catch { return null; }
}

function lastPushes(gitdir: string): Map<string, number> {
  const last = new Map<string, number>();
  let text = '';
  try { text = readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8'); } catch { return last; }
  for (const l of text.split('\n')) {
    try { const r = JSON.parse(l) as PushRecord; last.set(r.host, Math.max(last.get(r.host) ?? 0, r.t)); } catch { /* a torn last line */ }
  }
  return last;
}

/** Rebuild every host's index from the branches (and the push record). */
export function reindex(gitdir: string): number {
  const pushes = lastPushes(gitdir);
  const tips = hostTips(gitdir);
  mkdirSync(dirOf(gitdir), { recursive: true });
  for (const n of readdirSync(dirOf(gitdir))) if (n.endsWith('.json') && !tips.has(n.slice(0, -5))) unlinkSync(join(dirOf(gitdir), n));
  for (const [host, tip] of tips) {
    const idx: HostIndex = { v: 1, host, tip: '', received: pushes.get(host) ?? null, changes: [], lines: {} };
    applyLog(idx, git(gitdir, [...LOG_ARGS, tip]));
    writeHostIndex(gitdir, idx);
  }
  return tips.size;
}

/** Differences between the index and the branches: empty when they agree. */
export function verifyIndex(gitdir: string): string[] {
  const problems: string[] = [];
  const tips = hostTips(gitdir);
  const indexed = new Map(readAllIndexes(gitdir).map((i) => [i.host, i]));
  for (const [host, tip] of tips) {
    const idx = indexed.get(host);
    if (!idx) { problems.push(`hosts/${host}: not indexed`); continue; }
    if (idx.tip !== tip) { problems.push(`hosts/${host}: indexed up to ${idx.tip.slice(0, 10)}, branch at ${tip.slice(0, 10)}`); continue; }
    const fresh: HostIndex = { v: 1, host, tip: '', received: idx.received, changes: [], lines: {} };
    applyLog(fresh, git(gitdir, [...LOG_ARGS, tip]));
    if (JSON.stringify(fresh.changes) !== JSON.stringify(idx.changes) || JSON.stringify(fresh.lines) !== JSON.stringify(idx.lines)) problems.push(`hosts/${host}: index differs from the branch`);
  }
  for (const host of indexed.keys()) if (!tips.has(host)) problems.push(`${host}: indexed but no branch hosts/${host}`);
  return problems;
}

/** The lines present now (open intervals) of an index: path -> lines. */
export function currentLines(idx: HostIndex): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const [key, spans] of Object.entries(idx.lines)) {
    if (spans[spans.length - 1][2] !== null) continue;
    const tab = key.indexOf('\t');
    const path = key.slice(0, tab);
    if (!files.has(path)) files.set(path, []);
    files.get(path)!.push(key.slice(tab + 1));
  }
  return files;
}
