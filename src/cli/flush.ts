// lsm flush: deliver what the spool holds now, ignoring back-off.
import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import { checkSpoolOwner, flushAlerts } from '../run/alerts.js';
import { trackProblems } from '../run/outcome.js';
import { context, type GlobalArgs } from '../run/settings.js';
import { out } from './output.js';

interface Args extends GlobalArgs { 'retry-dead'?: boolean; quiet?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'flush',
  describe: 'deliver the alerts waiting in the spool now (every run also retries them, with back-off)',
  builder: (y) => y
    .option('retry-dead', { type: 'boolean', describe: 'also retry alerts that failed permanently (after fixing the cause)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing on success' }),
  handler: async (argv) => {
    const ctx = context(argv);
    checkSpoolOwner(ctx); // another repository's alerts are not this one's to deliver
    trackProblems(ctx.repoDir); // an event log that records again is no longer said by lsm status
    const r = await flushAlerts(ctx, { force: true, retryDead: argv['retry-dead'] });
    if (!argv.quiet || r.pending || r.dead) out(`${r.delivered} delivered, ${r.pending} waiting, ${r.dead} failed permanently`);
    if (r.pending || r.dead) process.exitCode = EXIT.FAILURE;
  },
};
export default command;
