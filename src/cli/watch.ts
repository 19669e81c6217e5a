// lsm watch: scan continuously, for those who want minutes to become seconds. A burst of changes
// is committed scan by scan (the history stays exact) but alerted once: when the state has been
// quiet for one interval, or after ten intervals at most.
import type { CommandModule } from 'yargs';
import { raiseAlert, spoolPending } from '../alert/index.js';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError } from '../errors.js';
import { summarize } from '../store/changes.js';
import { diffFiles } from '../store/history.js';
import { headCommit, openRepo, treeFiles } from '../store/repo.js';
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
    let burstParent: string | null | undefined; // undefined: no burst under way
    let burstStart = 0;
    let latest: Map<string, SnapshotLine[]> | null = null;
    const repo = openRepo(ctx.repoDir);

    const raiseBurst = async () => {
      const head = (await headCommit(repo))!;
      const files = burstParent ? await diffFiles(repo, await treeFiles(repo, burstParent), await treeFiles(repo, head)) : [];
      // a socket that came and went within the burst nets to nothing: alert each commit instead
      if (files.length && burstParent) await raiseAlert(settings, { commit: head, parent: burstParent, time: Date.now(), summary: summarize(files), files }, latest);
      else await spoolPending(settings, latest);
      await flushAlerts(ctx);
      burstParent = undefined;
    };

    for (let n = 0; !stopping && (argv.count === undefined || n < argv.count); n++) {
      const before = await headCommit(repo);
      const { change, lines } = await scan(ctx, { alert: false });
      if (change) {
        if (!argv.quiet) printChange(change);
        if (burstParent === undefined) { burstParent = before; burstStart = Date.now(); }
        latest = lines;
      } else if (burstParent !== undefined) {
        await raiseBurst(); // quiet for one interval
      }
      if (burstParent !== undefined && Date.now() - burstStart > 10 * interval) await raiseBurst();
      if (stopping || (argv.count !== undefined && n + 1 >= argv.count)) break;
      await new Promise<void>((r) => { const t = setTimeout(r, interval); wake = () => { clearTimeout(t); r(); }; });
      wake = null;
    }
    if (burstParent !== undefined) await raiseBurst();
    if (stopping) out('lsm watch: stopped');
  },
};
export default command;
