// lsm check (LSM's -c, what cron runs): scan, commit and alert what changed, and report what
// differs from the approved baseline (the work: run/check.ts). Silent when nothing changed, so
// cron mails nothing. With DRIFT_REMINDER_HOURS, unapproved drift older than that is alerted
// again, at most that often.
import type { CommandModule, Options } from 'yargs';
import { EXIT } from '../errors.js';
import { raiseExitCode } from '../run/outcome.js';
import { summarize } from '../store/changes.js';
import { driftNow, runCheck } from '../run/check.js';
import { recordedRun, settle } from '../run/scan.js';
import type { GlobalArgs } from '../run/settings.js';
import { out, printChange, shortId } from './output.js';

interface Args extends GlobalArgs { json?: boolean; 'exit-code'?: boolean; quiet?: boolean }

export const options = {
  json: { type: 'boolean', describe: 'print the change and the drift as JSON' },
  quiet: { alias: 'q', type: 'boolean', describe: 'print nothing' },
  'exit-code': { type: 'boolean', describe: 'exit 3 when the state differs from the baseline' },
} as const satisfies Record<string, Options>;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'check',
  describe: 'scan, commit any change, and report drift from the baseline (LSM: lsm -c)',
  builder: (y) => y.options(options),
  handler: async (argv) => {
    // METRICS_FILE records this run however it ends, a run its settings' checks refuse included
    const { ctx, facts } = await recordedRun(argv);
    const { scanned, repo, baseline, firstBaseline, drift, reminded } = await runCheck(ctx, facts, { exitCode: argv['exit-code'] });
    const { change } = scanned;
    if (firstBaseline && !argv.quiet) out(`no baseline yet: approved the current state (${shortId(baseline)}) as the baseline`);
    if (change?.parent === null && process.stdout.isTTY && !argv.quiet && !argv.json) (await import('./first-run.js')).sayFirstScan(change, ctx.repoDir, ctx.ownRepo, firstBaseline);
    if (argv.json) {
      if (!argv.quiet) {
        const d = await driftNow(ctx, repo); // with since and commit per line
        const { changeJson, driftJson, json } = await import('./json.js');
        out(json({ change: change && changeJson(change), ...driftJson(d), reminded }));
      }
    }
    else if (!argv.quiet && (change || reminded)) {
      if (change) printChange(change);
      if (drift.length) out(`drift from baseline ${shortId(baseline)}: ${summarize(drift)} (lsm drift; approve with lsm -g)${reminded ? '; reminder sent' : ''}`);
    }
    settle(scanned); // an alert it could not spool fails the run, once what it found is printed
    if (drift.length && argv['exit-code']) raiseExitCode(EXIT.CHANGED); // a failure set before (an event log that could not record) wins over 3
  },
};
export default command;
