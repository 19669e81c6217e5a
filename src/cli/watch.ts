// lsm watch: scan continuously, for those who want minutes to become seconds. Every change is
// committed scan by scan (the history stays exact). The first change after a quiet look is
// alerted as soon as it is committed (an intruder's first move must not wait); changes that follow
// it while the state keeps changing are alerted together: when the state has been quiet for one
// interval, or after ten intervals at most. The alert of a burst covers every
// commit not alerted yet (refs/lsm/alerted), so a watch killed mid-burst, or one that could not
// spool (a full disk), loses nothing: the next run, or its own next scan, spools what is left.
// Between full scans a probe (collect/probe.ts) looks at what the snapshot records, cheaply (the
// fds of new processes only; namespaces with nothing to record are no change): a full scan runs
// when it sees a difference, and at least every --full-every, for what it cannot see. Every commit comes from a full scan. With METRICS_FILE,
// the textfile is written after every full scan and at least every 10 s (its age: a heartbeat).
import type { CommandModule } from 'yargs';
import { spoolPending } from '../alert/index.js';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError, reason } from '../errors.js';
import { Probe } from '../collect/probe.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { recordable, recordableState } from '../snapshot/select.js';
import { readBaseline } from '../store/baseline.js';
import { diffFiles } from '../store/history.js';
import { headCommit, openRepo, treeFiles } from '../store/repo.js';
import { alertSettings, eventLogCaughtUp, flushAlerts } from '../run/alerts.js';
import { writeMetrics, type RunFacts } from '../run/metrics.js';
import { outstanding, outstandingExit, problemFound, problemResolved } from '../run/outcome.js';
import { recordedRun, scan } from '../run/scan.js';
import type { Context, GlobalArgs } from '../run/settings.js';
import { duration, wholeNumber } from './option-check.js';
import { out, printChange } from './output.js';

interface Args extends GlobalArgs { interval?: string; 'full-every'?: string; count?: number; quiet?: boolean }

export function parseInterval(text: string, option = '--interval'): number {
  const ms = parseDuration(text);
  if (ms === null) throw new LsmError(`${option} '${text}' is not a duration like 10s, 500ms or 1m`, EXIT.USAGE);
  if (ms < 1000) throw new LsmError(`${option} must be at least 1s`, EXIT.USAGE);
  return ms;
}

const HEARTBEAT = 10_000; // METRICS_FILE is rewritten at least this often
// every interval of the loop, on a monotonic clock: a wall clock stepped back a day must not
// put the next full scan (--full-every), a burst's cap or the heartbeat off by a day
const elapsed = () => performance.now();

/** The probe for this context: the same selection as the scan, and the files its lines depend on. */
function probeFor(ctx: Context): Probe {
  const established = ctx.loaded.config.established;
  return new Probe({
    procRoot: ctx.procRoot,
    keep: (s) => recordable(s, { established }),
    keepState: (kind, state) => recordableState(kind, state, { established }),
    files: [ctx.loaded.config.ignoreFile, '/etc/passwd'],
  });
}

/** Drift from the baseline for the metrics, read again only when HEAD or the baseline moved. */
function driftReader(ctx: Context): () => Promise<RunFacts['drift']> {
  let key = '';
  let drift: RunFacts['drift'];
  return async () => {
    const repo = openRepo(ctx.repoDir);
    const [baseline, head] = [await readBaseline(repo), await headCommit(repo)];
    if (!baseline || !head) return undefined;
    if (`${baseline} ${head}` !== key) {
      drift = baseline === head ? [] : await diffFiles(repo, await treeFiles(repo, baseline), await treeFiles(repo, head));
      key = `${baseline} ${head}`;
    }
    return drift;
  };
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'watch',
  describe: 'scan continuously; a burst of changes gives one alert',
  builder: (y) => y
    .option('interval', { type: 'string', default: '10s', coerce: duration(1e3, 7 * 864e5), describe: 'time between looks (1s to 7d): a change is alerted within two' })
    .option('full-every', { type: 'string', default: '60s', coerce: duration(1e3, 7 * 864e5), describe: 'a full scan (with owners) at least this often (1s to 7d); between them a cheap probe decides' })
    .option('count', { type: 'number', coerce: wholeNumber(1), describe: 'stop after N looks (the first is a full scan)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'do not print changes' }),
  handler: async (argv) => {
    const { ctx, facts } = await recordedRun(argv); // METRICS_FILE on the way out, however watch ends
    const interval = parseInterval(argv.interval ?? '10s');
    const fullEvery = parseInterval(argv['full-every'] ?? '60s', '--full-every');
    const settings = alertSettings(ctx);
    const probe = probeFor(ctx);
    const drift = ctx.loaded.config.metricsFile ? driftReader(ctx) : null;
    let lastFull = -Infinity;
    let lastMetrics = -Infinity;
    let stopping = false;
    let wake: (() => void) | null = null;
    const stop = () => { stopping = true; wake?.(); }; // a signal ends the wait, not a scan
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    let burstStart: number | null = null; // the first commit not alerted yet (null: none waits)
    let quiet = true; // the last look saw no change: the next change starts a burst, alerted at once
    let latest: Map<string, SnapshotLine[]> | null = null;

    /** Spool what is not alerted yet (a burst as one alert), then deliver; true when that worked. */
    const alertPending = async (): Promise<boolean> => {
      try {
        const r = await spoolPending(settings, latest, { coalesce: true });
        for (const note of r.notes) process.stderr.write(`lsm: ${note}\n`);
        problemResolved('spool');
      } catch (err) {
        if (err instanceof LsmError && err.exitCode === EXIT.USAGE) throw err;
        const message = `cannot spool the alert (tried again at the next scan): ${reason(err)}`;
        process.stderr.write(`lsm: ${message}\n`);
        problemFound('spool', message, err instanceof LsmError ? err.exitCode : EXIT.FAILURE); // watch goes on; status, metrics and its exit say it until spooled
        return false;
      }
      // also when nothing new was spooled: what waits there (a mail server down, an event log on a
      // full disk) is tried as its back-off falls due (deliver skips what is not), not only at the next change
      await retryWaiting();
      return true;
    };

    const retryWaiting = async () => {
      try { await flushAlerts(ctx); } catch (err) { process.stderr.write(`lsm: alert delivery failed: ${(err as Error).message}\n`); }
    };

    const writeMetricsNow = async () => {
      if (!ctx.loaded.config.metricsFile) return;
      if (drift) facts.drift = await drift().catch(() => facts.drift);
      writeMetrics(ctx, facts, outstandingExit(ctx.repoDir) === EXIT.OK); // 0 while an alert is not spooled or recorded
      lastMetrics = elapsed();
    };

    const started = elapsed();
    for (let n = 0; !stopping && (argv.count === undefined || n < argv.count); n++) {
      // the probe looks first (also before a due full scan): what it sees is then compared with
      // what the scan collected, so a change made during the scan is seen at the next look
      const tickAt = elapsed();
      const changed = probe.changed();
      const full = changed !== null || tickAt - lastFull >= fullEvery;
      if (!full) {
        quiet = true;
        if (burstStart !== null && (await alertPending())) burstStart = null; // quiet for one interval
      } else {
        lastFull = elapsed();
        const { change, lines, collection, snapshot, failure } = await scan(ctx, { alert: false, deferFailure: true });
        if (failure) process.stderr.write(`lsm: ${failure.message}\n`); // a fleet alert not spooled: raised again at the next scan
        if (failure?.code !== 'Damaged') problemResolved('damaged'); // a scan that committed whole
        probe.learn(collection);
        facts.snapshot = snapshot;
        if (change) facts.commitTime = change.time;
        await writeMetricsNow(); // before the alert: a delivery can take long
        if (change) {
          if (!argv.quiet) printChange(change);
          burstStart ??= elapsed();
          latest = lines;
          // the head of a burst at once; then the cap; or, after a scan longer than an interval, the
          // quiet look its alert waits for is due now, not at the tick after next
          const head = quiet;
          quiet = false;
          const capped = elapsed() - burstStart > 10 * interval;
          if ((head || capped || (elapsed() - tickAt >= interval && probe.changed() === null)) && (await alertPending())) burstStart = null;
        } else {
          quiet = true;
          if (await alertPending()) burstStart = null; // quiet for one interval (or a catch-up: cheap when nothing waits)
        }
      }
      if (outstanding(ctx.repoDir).eventlog && eventLogCaughtUp(ctx)) problemResolved('eventlog'); // written since (lsm flush, a delivery)
      if (elapsed() - lastMetrics >= HEARTBEAT) await writeMetricsNow();
      if (stopping || (argv.count !== undefined && n + 1 >= argv.count)) break;
      // looks keep to a grid of intervals (a scan's time is not added): a change is seen at the next
      // tick, and alerted after its scan when it heads a burst: within one interval and a scan
      const now = elapsed();
      const next = started + Math.floor((now - started) / interval + 1) * interval;
      await new Promise<void>((r) => { const t = setTimeout(r, next - now); wake = () => { clearTimeout(t); r(); }; });
      wake = null;
    }
    if (burstStart !== null) await alertPending();
    if (stopping) out('lsm watch: stopped');
    // its exit says what is still outstanding as it ends (an alert not spooled, an event log that did not
    // record): a failure the disk recovered from and the spool caught up with is done, not exit 1
    process.exitCode = outstandingExit(ctx.repoDir);
  },
};
export default command;
