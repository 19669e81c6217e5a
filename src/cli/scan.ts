// lsm scan: take a snapshot, commit it if anything changed, print what changed.
import type { CommandModule, Options } from 'yargs';
import { EXIT } from '../errors.js';
import { raiseExitCode } from '../run/outcome.js';
import { scan, settle, trackRun } from '../run/scan.js';
import { context, type GlobalArgs } from '../run/settings.js';
import { changeJson, json } from './json.js';
import { out, printChange } from './output.js';

interface Args extends GlobalArgs { established?: boolean; json?: boolean; 'exit-code'?: boolean; quiet?: boolean }

export const options = {
  established: { type: 'boolean', describe: 'also record established connections (aggregated, no ephemeral ports)' },
  json: { type: 'boolean', describe: 'print the change as JSON' },
  quiet: { alias: 'q', type: 'boolean', describe: 'print nothing' },
  'exit-code': { type: 'boolean', describe: 'exit 3 when something changed' },
} as const satisfies Record<string, Options>;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'scan',
  describe: 'take a snapshot; commit and report it when something changed (prints nothing otherwise)',
  builder: (y) => y.options(options),
  handler: async (argv) => {
    const ctx = context(argv);
    trackRun(ctx); // what it could not do stays in lsm status until a run does it
    const scanned = await scan(ctx, { established: argv.established, deferFailure: true });
    const { change } = scanned;
    if (!argv.quiet) {
      if (argv.json) out(json({ change: change && changeJson(change) })); // an object even when nothing changed
      else if (change) {
        if (change.parent === null && process.stdout.isTTY) (await import('./first-run.js')).sayFirstScan(change, ctx.repoDir, ctx.ownRepo, false);
        printChange(change);
      }
    }
    settle(scanned); // an alert it could not spool fails the run, once the change is printed
    if (change && argv['exit-code']) raiseExitCode(EXIT.CHANGED); // a failure set before (an event log that could not record) wins over 3
  },
};
export default command;
