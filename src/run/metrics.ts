// METRICS_FILE: a heartbeat monitoring can watch. Each `lsm -c` (what cron and the timer run)
// rewrites a Prometheus text-format file, the way node_exporter's textfile collector reads them
// (written beside it, then renamed over it: never read half written). When cron stops, the age of
// lsm_last_run_timestamp_seconds says so; a failed run says lsm_last_run_success 0 and keeps the
// time of the last good one. Written on the way out (process 'exit'), so a run that fails is
// recorded too; trouble writing it is one line on stderr, never the run's failure.
import { chmodSync, closeSync, fstatSync, lstatSync, openSync, readFileSync, readSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { spoolSummary } from '../alert/index.js';
import { LsmError, reason } from '../errors.js';
import { readPushState } from '../fleet/push.js';
import { checkPath, createExclusive } from '../safe-path.js';
import { journalPath } from '../store/journal-read.js';
import { describe } from '../store/layout.js';
import { openRepo } from '../store/repo.js';
import type { FileChange, Snapshot } from '../types.js';
import { readClockState } from './clock.js';
import { jobDone, outstanding, PROBLEM_KINDS } from './outcome.js';
import type { Context } from './settings.js';

export interface RunFacts {
  snapshot?: Snapshot;
  drift?: FileChange[];
  commitTime?: number; // unix ms of a commit this run made
  checked?: boolean; // the settings passed their checks: the spool and repository may be read
}

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The commit time of the journal's last record, from its tail only (years of history stay unread). */
function lastCommitTime(repoDir: string): number | null {
  let fd: number;
  try { fd = openSync(journalPath(openRepo(repoDir)), 'r'); } catch { return null; }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 65536));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    const lines = buf.toString('utf8').split('\n');
    for (let i = lines.length - 2; i >= 0; i--) { const m = /"t":(\d+)[,}]/.exec(lines[i]); if (m) return Number(m[1]); }
    return null;
  } finally { closeSync(fd); }
}

function previousSuccess(file: string): number | null {
  try { const m = /^lsm_last_success_timestamp_seconds (\S+)$/m.exec(readFileSync(file, 'utf8')); return m ? Number(m[1]) : null; } catch { return null; }
}

export function metricsText(ctx: Context, facts: RunFacts, ok: boolean, now: number, lastSuccess: number | null): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: [string, number][], type = 'gauge') => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const seconds = (ms: number) => Math.round(ms) / 1000;
  metric('lsm_last_run_timestamp_seconds', 'Unix time the last lsm -c ended (or lsm watch last looked).', [['', seconds(now)]]);
  metric('lsm_last_run_success', '1 when the last lsm -c succeeded, 0 when it failed.', [['', ok ? 1 : 0]]);
  const success = ok ? seconds(now) : lastSuccess;
  if (success !== null) metric('lsm_last_success_timestamp_seconds', 'Unix time of the last lsm -c that succeeded.', [['', success]]);
  if (facts.snapshot) {
    metric('lsm_sockets', 'Sockets recorded by the last scan, per network namespace and kind.', [...facts.snapshot].map(([path, l]) =>
      [`{namespace="${label(dirname(path))}",kind="${label(basename(path))}"}`, l.length] as [string, number]));
  }
  if (facts.drift) {
    const count = (k: 'added' | 'removed') => facts.drift!.reduce((n, f) => n + f[k].length, 0);
    metric('lsm_drift_lines', 'Lines that differ from the approved baseline (lsm drift).', [['{change="added"}', count('added')], ['{change="removed"}', count('removed')]]);
  }
  // a run refused for its settings (an unsafe path, another repository's spool) reads none of them
  if (!facts.checked) return lines.join('\n') + '\n';
  try {
    const spool = spoolSummary(ctx.loaded.config.spoolDir);
    if (!spool.refused) { // a refused spool is not counted (no false 0): lsm_problem{kind="spool"} says it
      metric('lsm_spool_alerts', 'Alerts waiting in the spool for delivery.', [['', spool.pending]]);
      metric('lsm_dead_alerts', 'Alerts a channel refused for good (lsm flush --retry-dead).', [['', spool.dead]]);
    }
  } catch { /* no spool yet */ }
  // what a run could not do and is not done yet (lsm status says what and what to run): alert on 1
  const problems = outstanding(ctx.repoDir);
  metric('lsm_problem', 'Outstanding until a run does it: damaged (the repository), spool (an alert not spooled), eventlog (the event log could not record).',
    PROBLEM_KINDS.map((k) => [`{kind="${k}"}`, problems[k] ? 1 : 0]));
  const since = PROBLEM_KINDS.flatMap((k) => (problems[k] ? [[`{kind="${k}"}`, seconds(problems[k].since)] as [string, number]] : []));
  if (since.length) metric('lsm_problem_since_timestamp_seconds', 'Unix time each outstanding problem was first seen.', since);
  const clock = readClockState(ctx.repoDir).state; // this run's, saved after its commit
  if (clock) {
    metric('lsm_clock_steps_total', 'Steps of the wall clock seen between runs (against boot time).', [['', clock.steps]], 'counter');
    if (clock.last) {
      metric('lsm_clock_last_step_seconds', 'The last step of the wall clock seen between runs: + forward, - back.', [['', seconds(clock.last.by)]]);
      metric('lsm_clock_last_step_timestamp_seconds', 'Unix time the last step of the wall clock was seen.', [['', seconds(clock.last.at)]]);
    }
  }
  const committed = facts.commitTime ?? lastCommitTime(ctx.repoDir);
  if (committed !== null) metric('lsm_last_commit_timestamp_seconds', 'Unix time of the last commit (the last change seen).', [['', seconds(committed)]]);
  if (ctx.loaded.config.remote) {
    const push = readPushState(ctx.repoDir);
    metric('lsm_fleet_push_success', '1 when the last push to the fleet server succeeded, 0 when it failed (retried each run).', [['', push?.ok ? 1 : 0]]);
    if (push?.lastSuccess) metric('lsm_fleet_last_push_timestamp_seconds', 'Unix time of the last push the fleet server accepted.', [['', seconds(push.lastSuccess)]]);
  }
  return lines.join('\n') + '\n';
}

export function writeMetrics(ctx: Context, facts: RunFacts, ok: boolean, now = Date.now()): void {
  const file = ctx.loaded.config.metricsFile;
  if (!file) return;
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`); // not *.prom: the collector skips it
  try {
    checkPath(dirname(file), 'METRICS_FILE directory', 'dir'); // root writes there: not a directory others control
    const st = lstatSync(file, { throwIfNoEntry: false }); // a directory or a FIFO there: said as what it is, not as the rename's EISDIR
    if (st && !st.isFile() && !st.isSymbolicLink()) throw new LsmError(`it is ${describe(file, st)}, not a regular file: nothing written; move it aside (mv ${file} ${file}.bad)`);
    rmSync(tmp, { force: true });
    createExclusive(tmp, metricsText(ctx, facts, ok, now, previousSuccess(file)), 0o644);
    chmodSync(tmp, 0o644); // node_exporter reads it as its own user, whatever the umask (the unit's is 077)
    renameSync(tmp, file);
  } catch (err) {
    try { rmSync(tmp, { force: true }); } catch { /* what a full disk left half-written is not left behind */ }
    process.stderr.write(`lsm: cannot write METRICS_FILE ${file}: ${err instanceof LsmError ? err.message : reason(err)}\n`);
  }
}

/** Record this run in METRICS_FILE when the process ends, whatever way it ends; the facts are filled as they come. */
export function recordRun(ctx: Context, facts: RunFacts = {}): RunFacts {
  if (ctx.loaded.config.metricsFile) {
    process.once('exit', (code) => writeMetrics(ctx, facts, jobDone(code)));
  }
  return facts;
}
