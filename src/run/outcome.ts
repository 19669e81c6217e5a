// What a run could not do and is not done yet: an alert not spooled, an event log that could not
// record, a repository found damaged. Kept in .git/lsm/problems.json (written as it happens, so
// `lsm status` and METRICS_FILE say it while `lsm watch` goes on) until a run does the job again;
// and the exit code, by one rule (raiseExitCode).
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT } from '../errors.js';
import { readChecked, replaceFile } from '../safe-path.js';
import { warn } from './warn.js';

export type ProblemKind = 'damaged' | 'spool' | 'eventlog';
export interface Problem { since: number; exit: number; message: string }
export type Problems = Partial<Record<ProblemKind, Problem>>;
export const PROBLEM_KINDS: ProblemKind[] = ['damaged', 'spool', 'eventlog'];

/** 0, then "changed" (3), then every failure, a higher code above a lower one: a failure is never hidden by 3 or lowered. */
// a closed output pipe (141) outranks "changed" but no failure: the job was done, only the reader left
const rank = (code: number) => (code === EXIT.OK ? 0 : code === EXIT.CHANGED ? 1 : code === EXIT.OUTPUT_CLOSED ? 2 : 3 + code);

/** The exit codes of a run that did its job (a closed output pipe is the reader's doing, not a failure). */
export const jobDone = (code: number) => code === EXIT.OK || code === EXIT.CHANGED || code === EXIT.OUTPUT_CLOSED;

// A run that records (scan, -c, watch) finishes its job when its output cannot be written (lsm -c |
// head -1, stdout on a full disk): main.ts then drops the rest of the output and leaves the exit
// to raiseExitCode, so a failure met later (an alert not spooled) is still said and still decides it.
let recording = false;
export function runRecords(): void { recording = true; }
export const isRecordingRun = (): boolean => recording;

/** Set the exit code unless one that outranks it is set already (the one place that decides it). */
export function raiseExitCode(code: number): void {
  if (rank(code) > rank(Number(process.exitCode ?? 0))) process.exitCode = code;
}

const problemsFile = (repoDir: string) => join(repoDir, '.git', 'lsm', 'problems.json');

/** What the last runs left undone (none when the file is missing or not ours: lsm writes it whole). */
export function readProblems(repoDir: string): Problems {
  let parsed: unknown;
  try { parsed = JSON.parse(readChecked(problemsFile(repoDir))); } catch { return {}; } // missing, or not a file lsm wrote
  const out: Problems = {};
  for (const k of PROBLEM_KINDS) {
    const p = (parsed as Record<string, Problem> | null)?.[k];
    if (p && Number.isFinite(p.since) && Number.isInteger(p.exit) && typeof p.message === 'string') out[k] = { since: p.since, exit: p.exit, message: p.message.slice(0, 1000) };
  }
  return out;
}

let tracked: { repoDir: string; problems: Problems } | null = null;

/** This process is a run that records its problems for repoDir (check, scan, watch). */
export function trackProblems(repoDir: string): void {
  tracked = { repoDir, problems: readProblems(repoDir) };
}

/** The problems outstanding: this run's view when it tracks repoDir, else the file's. */
export function outstanding(repoDir: string): Problems {
  return tracked?.repoDir === repoDir ? tracked.problems : readProblems(repoDir);
}

function save(): void {
  if (!tracked) return;
  const file = problemsFile(tracked.repoDir);
  try {
    if (Object.keys(tracked.problems).length === 0) { rmSync(file, { force: true }); return; }
    mkdirSync(dirname(file), { recursive: true });
    replaceFile(file, JSON.stringify(tracked.problems) + '\n'); // never read half written
  } catch (err) {
    warn(`cannot record the run's problems in ${file} (lsm status will not show them): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The run could not do something: its exit says so, and lsm status and the metrics until it is done. */
export function problemFound(kind: ProblemKind, message: string, exit: number): void {
  raiseExitCode(exit);
  if (!tracked) return;
  const old = tracked.problems[kind];
  tracked.problems[kind] = { since: old?.since ?? Date.now(), exit, message: message.slice(0, 1000) };
  if (old?.message !== message || old.exit !== exit) save();
}

export function problemResolved(kind: ProblemKind): void {
  if (!tracked?.problems[kind]) return;
  delete tracked.problems[kind];
  save();
}

/** The worst exit code of what is outstanding, 0 when nothing is. */
export function outstandingExit(repoDir: string): number {
  return Object.values(outstanding(repoDir)).reduce((worst, p) => (rank(p.exit) > rank(worst) ? p.exit : worst), EXIT.OK as number);
}

/** At the end of a run: one that succeeded (0, or 3) did the job, so nothing it tracked is outstanding. */
export function runEnded(code: number): void {
  if (!tracked || !jobDone(code)) return;
  tracked.problems = {};
  save(); // one unlink when there was nothing
}

/** For `lsm status`: one line per problem, what and since when, and what to run. */
export function problemLines(repoDir: string, eventLog: string): string[] {
  const p = readProblems(repoDir);
  const since = (x: Problem) => new Date(x.since).toISOString();
  const lines: string[] = [];
  if (p.damaged) lines.push(`repository damaged (exit ${p.damaged.exit}) since ${since(p.damaged)}: ${p.damaged.message}; run git -C ${repoDir} fsck and lsm verify, then lsm -c (this line goes once a run succeeds)`);
  if (p.spool) lines.push(`alerts not spooled (exit ${p.spool.exit}) since ${since(p.spool)}: ${p.spool.message}; the changes are committed: fix that, then lsm -c spools them`);
  if (p.eventlog) lines.push(`event log ${eventLog} could not record (exit ${p.eventlog.exit}) since ${since(p.eventlog)}: ${p.eventlog.message}; the alerts stay spooled: free the space, then lsm flush`);
  return lines;
}
