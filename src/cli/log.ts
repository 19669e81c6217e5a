// lsm log: the history, one line a change (time, id, summary).
import type { CommandModule } from 'yargs';
import { EXIT, LsmError } from '../errors.js';
import { listCommits } from '../store/history.js';
import { requireRepo } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { dim, isoTime, out, shortId, yellow } from './output.js';

interface Args extends GlobalArgs { json?: boolean; n?: number; since?: string; until?: string }

/** '2026-11-24', an ISO time, or a relative '3 days ago' / '12h' / '30m'. */
export function parseTime(text: string, now = Date.now()): number {
  const rel = /^(\d+)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?|w|weeks?)(\s+ago)?$/i.exec(text.trim());
  if (rel) {
    const unit = rel[2][0].toLowerCase();
    const ms = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[unit as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(rel[1]) * ms;
  }
  if (text === 'yesterday') return now - 864e5;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new LsmError(`cannot read the time '${text}' (try 2026-11-24, '2026-11-24 08:00', '3 days ago' or 12h)`, EXIT.USAGE);
  return t;
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'log',
  describe: 'list the recorded changes, newest first',
  builder: (y) => y
    .option('n', { alias: 'max-count', type: 'number', describe: 'show at most N changes' })
    .option('since', { type: 'string', describe: "only changes after this time ('2026-11-01', '3 days ago', 12h)" })
    .option('until', { type: 'string', describe: 'only changes before this time' })
    .option('json', { type: 'boolean', describe: 'print JSON lines' }),
  handler: async (argv) => {
    const ctx = context(argv);
    if (argv.n !== undefined && (!Number.isInteger(argv.n) || argv.n < 0)) throw new LsmError('-n needs a whole number', EXIT.USAGE);
    const repo = requireRepo(ctx.repoDir);
    const entries = await listCommits(repo, {
      limit: argv.n, since: argv.since ? parseTime(argv.since) : undefined, until: argv.until ? parseTime(argv.until) : undefined,
    });
    for (const e of entries) {
      if (argv.json) out(JSON.stringify({ commit: e.commit, time: isoTime(e.time), summary: e.summary }));
      else out(`${dim(isoTime(e.time))} ${yellow(shortId(e.commit))} ${e.summary}`);
    }
  },
};
export default command;
