// lsm log: the recorded changes, newest first, one line each (time, id, summary); filters by time,
// by what changed (--grep: a port, path or text, as lsm blame reads it) and by namespace, answered
// from the journal; -p adds each change's diff, --stat its files.
import type { CommandModule, Options } from 'yargs';
import { parseTime } from '../duration.js';
import { labelDir } from '../snapshot/index.js';
import { lineMatcher } from '../store/blame.js';
import { jsonNeedle, linesBackward, parseRecord, recordNewest, recordTime, type JournalRecord } from '../store/journal-read.js';
import { requireRepo } from '../store/repo.js';
import { journalCaughtUp } from './history-context.js';
import { time, wholeNumber } from './option-check.js';
import { context, type GlobalArgs } from './global-options.js';
import { changeJson, json } from './json.js';
import { dim, green, isoTime, out, printPatch, red, shortId, yellow } from './output.js';

interface Args extends GlobalArgs {
  json?: boolean; n?: number; since?: string; until?: string; grep?: string; netns?: string; p?: boolean; stat?: boolean;
}

/** '2026-11-24', an ISO time, or a relative '3 days ago' / '12h' / '30m'. */
export { parseTime }; // it lives in duration.ts, so that fleet log loads without this module

function fileStats(rec: JournalRecord): [string, number, number][] {
  const stats = new Map<string, [number, number]>();
  for (const [p] of rec.a) { const s = stats.get(p) ?? [0, 0]; s[0]++; stats.set(p, s); }
  for (const [p] of rec.r) { const s = stats.get(p) ?? [0, 0]; s[1]++; stats.set(p, s); }
  return [...stats].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, [a, r]]) => [p, a, r]);
}

export const options = {
  n: { alias: 'max-count', type: 'number', coerce: wholeNumber(0), describe: 'show at most N changes' },
  since: { type: 'string', coerce: time, describe: "only changes after this time ('2026-11-01', '3 days ago', 12h)" },
  until: { type: 'string', coerce: time, describe: 'only changes before this time' },
  grep: { type: 'string', describe: 'only changes that added or removed a matching line (22, 53/udp, 127.0.0.1:631, /run/x.sock, text)' },
  netns: { alias: 'container', type: 'string', describe: "only changes in this namespace ('host', an ip netns name, a container id)" },
  p: { alias: 'patch', type: 'boolean', describe: 'show each change as a diff' },
  stat: { type: 'boolean', describe: 'show the files each change touched' },
  json: { type: 'boolean', describe: 'print JSON lines, one change each' },
} as const satisfies Record<string, Options>;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'log',
  describe: 'list the recorded changes, newest first',
  builder: (y) => y.options(options),
  handler: async (argv) => {
    const ctx = context(argv);
    const since = argv.since ? parseTime(argv.since) : -Infinity;
    const until = argv.until ? parseTime(argv.until) : Infinity;
    const match = argv.grep ? lineMatcher(argv.grep) : null;
    // the directory as lsm writes it (escaped, with '%'), or the raw name, escaped the same way
    const prefix = argv.netns === undefined ? null : argv.netns === 'host' ? 'host/'
      : `netns/${argv.netns.includes('%') ? argv.netns : labelDir(Buffer.from(argv.netns, 'utf8').toString('latin1'))}/`;
    // text a record must hold to pass --grep and --netns: records without it are never parsed
    const needles = [match?.needle, prefix].flatMap((t) => (t ? [jsonNeedle(t)] : []));
    const journal = await journalCaughtUp(ctx.repoDir);
    const repo = argv.p ? requireRepo(ctx.repoDir) : null;
    const history = argv.p ? await import('../store/history.js') : null; // jsdiff, snapshot formats: for -p only
    // lines are written together (before each diff, and at the end): a write each was 3 ms for 500
    let pending: string[] = [];
    const say = (line: string) => pending.push(line);
    const flush = () => { if (pending.length) out(pending.join('\n')); pending = []; };
    let shown = 0;
    // newest first, in commit order: the walk stops at the first record that it and every older one
    // are too old for (recordNewest: a clock stepped back makes a record older than one before it)
    for (const line of linesBackward(journal)) {
      if (argv.n !== undefined && shown >= argv.n) break;
      if (recordNewest(line) < since) break;
      const t = recordTime(line);
      if (t < since || t > until || !needles.every((n) => line.includes(n))) continue;
      const rec = parseRecord(line);
      if (!rec) break;
      const touched = [...rec.a, ...rec.r];
      if (match && !touched.some(([p, l]) => match(p, l))) continue;
      if (prefix && !touched.some(([p]) => p.startsWith(prefix))) continue;
      shown++;
      if (argv.json) {
        say(json({ change: changeJson({ commit: rec.c, parent: rec.p, time: rec.t, summary: rec.s, added: rec.a, removed: rec.r }) }));
        continue;
      }
      say(`${yellow(shortId(rec.c))} ${dim(isoTime(rec.t))} ${rec.s}`);
      if (argv.stat) for (const [p, a, r] of fileStats(rec)) say(` ${p} | ${green('+'.repeat(Math.min(a, 30)))}${red('-'.repeat(Math.min(r, 30)))} ${a + r}`);
      if (repo && history) {
        flush();
        printPatch(await history.commitDiff(repo, rec.p, rec.c));
        out();
      }
    }
    flush();
  },
};
export default command;
