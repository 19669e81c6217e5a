// lsm watch: scan continuously, for those who want minutes to become seconds. A burst of changes
// is committed scan by scan (the history stays exact) but alerted once: when the state has been
// quiet for one interval, or after ten intervals at most. The alert of a burst covers every
// commit not alerted yet (refs/lsm/alerted), so a watch killed mid-burst, or one that could not
// spool (a full disk), loses nothing: the next run, or its own next scan, spools what is left.
import type { CommandModule } from 'yargs';
import { spoolPending } from '../alert/index.js';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError } from '../errors.js';
import type { SnapshotLine } from '../snapshot/index.js';
import { alertSettings, context, flushAlerts, scan, type GlobalArgs } from './context.js';
import { out, printChange } from './output.js';

interface Args extends GlobalArgs { interval?: string; count?: number; quiet?: boolean }

export function parseInterval(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new LsmError(`--interval '${text}' is not a duration like 10s, 500ms or 1m`, EXIT.USAGE);
  if (ms < 1000) throw new LsmError('--interval must be at least 1s', EXIT.USAGE);
  return ms;
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'watch',
  describe: 'scan continuously; a burst of changes gives one alert',
  builder: (y) => y
    .option('interval', { type: 'string', default: '10s', describe: 'time between scans (>= 1s)' })
    .option('count', { type: 'number', describe: 'stop after N scans' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'do not print changes' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const interval = parseInterval(argv.interval ?? '10s');
    const settings = alertSettings(ctx);
    let stopping = false;
    let wake: (() => void) | null = null;
    const stop = () => { stopping = true; wake?.(); }; // a signal ends the wait, not a scan
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    let burstStart: number | null = null; // null: no burst under way
    let latest: Map<string, SnapshotLine[]> | null = null;

    /** Spool what is not alerted yet (a burst as one alert), then deliver; true when that worked. */
    const alertPending = async (): Promise<boolean> => {
      try {
        const r = await spoolPending(settings, latest, { coalesce: true });
        for (const note of r.notes) process.stderr.write(`lsm: ${note}\n`);
        if (r.added === 0 && burstStart === null) return true;
      } catch (err) {
        if (err instanceof LsmError && err.exitCode === EXIT.USAGE) throw err;
        process.stderr.write(`lsm: cannot spool the alert (tried again at the next scan): ${(err as Error).message}\n`);
        return false;
      }
      try { await flushAlerts(ctx); } catch (err) { process.stderr.write(`lsm: alert delivery failed: ${(err as Error).message}\n`); }
      return true;
    };

    for (let n = 0; !stopping && (argv.count === undefined || n < argv.count); n++) {
      const { change, lines } = await scan(ctx, { alert: false });
      if (change) {
        if (!argv.quiet) printChange(change);
        burstStart ??= Date.now();
        latest = lines;
        if (Date.now() - burstStart > 10 * interval && (await alertPending())) burstStart = null;
      } else if (await alertPending()) { // quiet for one interval (or a catch-up: cheap when nothing waits)
        burstStart = null;
      }
      if (stopping || (argv.count !== undefined && n + 1 >= argv.count)) break;
      await new Promise<void>((r) => { const t = setTimeout(r, interval); wake = () => { clearTimeout(t); r(); }; });
      wake = null;
    }
    if (burstStart !== null) await alertPending();
    if (stopping) out('lsm watch: stopped');
  },
};
export default command;
