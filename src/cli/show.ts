// lsm show [REV]: one recorded change, with its diff.
import type { CommandModule } from 'yargs';
import { commitChange, commitDiff } from '../store/history.js';
import { requireRepo, resolveRev } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { changeJson, json } from './json.js';
import { bold, isoTime, out, printPatch, yellow } from './output.js';

interface Args extends GlobalArgs { rev?: string; json?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'show [rev]',
  describe: 'show one change (default: the latest) with its diff',
  builder: (y) => y
    .positional('rev', { type: 'string', describe: 'a commit id (short is fine), HEAD~N, baseline' })
    .option('json', { type: 'boolean', describe: 'print the change as JSON' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const repo = requireRepo(ctx.repoDir);
    const oid = await resolveRev(repo, argv.rev ?? 'HEAD');
    const change = await commitChange(repo, oid);
    if (argv.json) { out(json({ change: changeJson(change) })); return; }
    out(yellow(`commit ${oid}`));
    out(`Date:   ${isoTime(change.time)}`);
    out('');
    out(`    ${bold(change.summary)}`);
    out('');
    printPatch(await commitDiff(repo, change.parent, oid));
  },
};
export default command;
