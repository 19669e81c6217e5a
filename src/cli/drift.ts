// lsm drift: what differs from the approved baseline, how long each difference has stood, and who
// approved the baseline when. The baseline moves only by lsm -g / lsm accept.
import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import { computeDrift } from '../store/drift.js';
import { requireRepo } from '../store/repo.js';
import { readJournalCaughtUp } from './history-context.js';
import { context, type GlobalArgs } from './context.js';
import { driftJson, json } from './json.js';
import { dim, green, isoTime, out, red, shortId } from './output.js';

interface Args extends GlobalArgs { json?: boolean; 'exit-code'?: boolean }

export function duration(ms: number): string {
  const m = Math.max(0, Math.floor(ms / 60_000));
  if (m < 60) return `${m}m`;
  if (m < 48 * 60) return `${Math.floor(m / 60)}h ${m % 60}m`;
  return `${Math.floor(m / 1440)}d ${Math.floor((m % 1440) / 60)}h`;
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'drift',
  describe: 'what differs from the approved baseline, and since when',
  builder: (y) => y
    .option('json', { type: 'boolean', describe: 'print JSON' })
    .option('exit-code', { type: 'boolean', describe: 'exit 3 when there is drift' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const records = await readJournalCaughtUp(ctx.repoDir);
    const d = await computeDrift(requireRepo(ctx.repoDir), records);
    if (argv.json) out(json(driftJson(d)));
    else if (!d.baseline) out("no baseline yet: lsm -g approves the current state");
    else {
      const who = d.approved ? ` approved by ${d.approved.who} at ${isoTime(d.approved.time)} (${d.approved.message})` : '';
      out(`baseline ${shortId(d.baseline)}${who}`);
      if (d.lines.length === 0) out('no drift: the sockets now are the approved ones');
      const now = Date.now();
      for (const l of d.lines) {
        const text = `${l.kind === 'added' ? '+' : '-'} ${l.path}  ${l.line}`;
        out(`${l.kind === 'added' ? green(text) : red(text)}  ${dim(`${l.kind === 'added' ? 'since' : 'gone since'} ${isoTime(l.since)} (${duration(now - l.since)})`)}`);
      }
    }
    if (d.lines.length && argv['exit-code']) process.exitCode = EXIT.CHANGED;
  },
};
export default command;
