// lsm blame <what>: when each matching socket line first appeared, every interval it was present,
// and the commit that removed it. Answered from the journal, not by reading history.
import type { CommandModule, Options } from 'yargs';
import { EXIT } from '../errors.js';
import { blame, lineMatcher, presentNow, type Point } from '../store/blame.js';
import { linesWith, parseRecords } from '../store/journal-read.js';
import { journalCaughtUp } from './history-context.js';
import { context, type GlobalArgs } from './global-options.js';
import { json, jsonTime, socketJson } from './json.js';
import { bold, dim, green, isoTime, out, red, shortId } from './output.js';

interface Args extends GlobalArgs { what: string; all?: boolean; json?: boolean }

export const options = {
  all: { alias: 'a', type: 'boolean', describe: 'also lines that are gone now' },
  json: { type: 'boolean', describe: 'print JSON' },
} as const satisfies Record<string, Options>;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'blame <what>',
  describe: 'when did a socket appear, who held it, is it still there (port, 22/tcp, addr:port, unix path, or any text)',
  builder: (y) => y
    .positional('what', { type: 'string', demandOption: true, describe: '22, 53/udp, 127.0.0.1:631, [::1]:631, /run/x.sock, @name, or text' })
    .options(options),
  handler: async (argv) => {
    const ctx = context(argv);
    const match = lineMatcher(String(argv.what));
    // only the records that hold the matcher's needle can add or remove a matching line
    const records = parseRecords(linesWith(await journalCaughtUp(ctx.repoDir), [match.needle]));
    const found = blame(records, match).filter((b) => argv.all || presentNow(b));
    if (found.length === 0) process.exitCode = EXIT.NO_MATCH; // as grep and git grep: 1 when nothing matched
    if (argv.json) {
      const point = (p: Point) => ({ commit: p.commit, time: jsonTime(p.time) });
      out(json({ matches: found.map((b) => ({ ...socketJson(b.path, b.line), present: presentNow(b), intervals: b.intervals.map((i) => ({ from: point(i.from), to: i.to && point(i.to) })) })) }));
      return;
    }
    if (found.length === 0) { process.stderr.write(`lsm: nothing matches '${argv.what}'${argv.all ? '' : ' now (--all: also what is gone)'}\n`); return; }
    for (const b of found) {
      const first = b.intervals[0].from;
      out(bold(`${b.path}  ${b.line}`));
      out(`  first seen  ${isoTime(first.time)}  ${shortId(first.commit)}`);
      for (const i of b.intervals) {
        out(`  present     ${isoTime(i.from.time)} ${shortId(i.from.commit)} .. ` +
          (i.to ? red(`${isoTime(i.to.time)} ${shortId(i.to.commit)} (removed)`) : green('now')));
      }
      if (!presentNow(b)) out(dim(`  gone since ${isoTime(b.intervals[b.intervals.length - 1].to!.time)}`));
    }
  },
};
export default command;
