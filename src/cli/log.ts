// lsm log: the recorded changes, newest first, one line each (time, id, summary); filters by time,
// by what changed (--grep: a port, path or text, as lsm blame reads it) and by namespace, answered
// from the journal; -p adds each change's diff, --stat its files.
import type { CommandModule } from 'yargs';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError } from '../errors.js';
import { lineMatcher } from '../store/blame.js';
import { snapshotFiles, unifiedDiff } from '../store/history.js';
import type { JournalRecord } from '../store/journal.js';
import { requireRepo } from '../store/repo.js';
import { readJournalCaughtUp } from './history-context.js';
import { context, type GlobalArgs } from './context.js';
import { dim, green, isoTime, out, printPatch, red, shortId, yellow } from './output.js';

interface Args extends GlobalArgs {
  json?: boolean; n?: number; since?: string; until?: string; grep?: string; netns?: string; p?: boolean; stat?: boolean;
}

/** '2026-11-24', an ISO time, or a relative '3 days ago' / '12h' / '30m'. */
export function parseTime(text: string, now = Date.now()): number {
  const ago = parseDuration(text.replace(/\s+ago$/i, ''));
  if (ago !== null) return now - ago;
  if (text === 'yesterday') return now - 864e5;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new LsmError(`cannot read the time '${text}' (try 2026-11-24, '2026-11-24 08:00', '3 days ago' or 12h)`, EXIT.USAGE);
  return t;
}

function fileStats(rec: JournalRecord): [string, number, number][] {
  const stats = new Map<string, [number, number]>();
  for (const [p] of rec.a) { const s = stats.get(p) ?? [0, 0]; s[0]++; stats.set(p, s); }
  for (const [p] of rec.r) { const s = stats.get(p) ?? [0, 0]; s[1]++; stats.set(p, s); }
  return [...stats].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, [a, r]]) => [p, a, r]);
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'log',
  describe: 'list the recorded changes, newest first',
  builder: (y) => y
    .option('n', { alias: 'max-count', type: 'number', describe: 'show at most N changes' })
    .option('since', { type: 'string', describe: "only changes after this time ('2026-11-01', '3 days ago', 12h)" })
    .option('until', { type: 'string', describe: 'only changes before this time' })
    .option('grep', { type: 'string', describe: 'only changes that added or removed a matching line (22, 53/udp, 127.0.0.1:631, /run/x.sock, text)' })
    .option('netns', { alias: 'container', type: 'string', describe: "only changes in this namespace ('host', an ip netns name, a container id)" })
    .option('p', { alias: 'patch', type: 'boolean', describe: 'show each change as a diff' })
    .option('stat', { type: 'boolean', describe: 'show the files each change touched' })
    .option('json', { type: 'boolean', describe: 'print JSON lines' }),
  handler: async (argv) => {
    const ctx = context(argv);
    if (argv.n !== undefined && (!Number.isInteger(argv.n) || argv.n < 0)) throw new LsmError('-n needs a whole number', EXIT.USAGE);
    const since = argv.since ? parseTime(argv.since) : -Infinity;
    const until = argv.until ? parseTime(argv.until) : Infinity;
    const match = argv.grep ? lineMatcher(argv.grep) : null;
    const prefix = argv.netns === undefined ? null : argv.netns === 'host' ? 'host/' : `netns/${argv.netns}/`;
    const records = await readJournalCaughtUp(ctx.repoDir);
    const repo = argv.p ? requireRepo(ctx.repoDir) : null;
    let shown = 0;
    // newest first; the journal is in commit order, so the walk stops at the first one too old
    for (let i = records.length - 1; i >= 0 && (argv.n === undefined || shown < argv.n); i--) {
      const rec = records[i];
      if (rec.t < since) break;
      if (rec.t > until) continue;
      const touched = [...rec.a, ...rec.r];
      if (match && !touched.some(([p, l]) => match(p, l))) continue;
      if (prefix && !touched.some(([p]) => p.startsWith(prefix))) continue;
      shown++;
      if (argv.json) {
        out(JSON.stringify({ commit: rec.c, parent: rec.p, time: isoTime(rec.t), summary: rec.s, ...(argv.stat || argv.p ? { added: rec.a, removed: rec.r } : {}) }));
        continue;
      }
      out(`${yellow(shortId(rec.c))} ${dim(isoTime(rec.t))} ${rec.s}`);
      if (argv.stat) for (const [p, a, r] of fileStats(rec)) out(` ${p} | ${green('+'.repeat(Math.min(a, 30)))}${red('-'.repeat(Math.min(r, 30)))} ${a + r}`);
      if (repo) {
        printPatch(unifiedDiff(await snapshotFiles(repo, rec.p), await snapshotFiles(repo, rec.c)));
        out();
      }
    }
  },
};
export default command;
