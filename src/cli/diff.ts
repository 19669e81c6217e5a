// lsm diff [A] [B]: no revision: the last snapshot against the sockets now (nothing is committed);
// one: that revision against the last snapshot; two: A against B.
import type { CommandModule } from 'yargs';
import { EXIT } from '../errors.js';
import { fileChange, summarize } from '../store/changes.js';
import { commitTime, snapshotFiles, unifiedDiff } from '../store/history.js';
import { requireRepo, resolveRev } from '../store/repo.js';
import type { FileChange, Snapshot } from '../types.js';
import { context, takeSnapshot, type GlobalArgs } from './context.js';
import { changeJson, json, jsonTime } from './json.js';
import { printPatch, out } from './output.js';

interface Args extends GlobalArgs { from?: string; to?: string; 'exit-code'?: boolean; quiet?: boolean; json?: boolean }

function fileChanges(before: Snapshot, after: Snapshot): FileChange[] {
  return [...new Set([...before.keys(), ...after.keys()])].sort()
    .flatMap((path) => fileChange(path, before.get(path) ?? [], after.get(path) ?? []) ?? []);
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'diff [from] [to]',
  describe: 'diff two snapshots; with no revision, the last snapshot against now',
  builder: (y) => y
    .positional('from', { type: 'string', describe: 'older revision (commit id, HEAD~N, baseline)' })
    .positional('to', { type: 'string', describe: 'newer revision (default: HEAD; with no revision at all: the sockets now)' })
    .option('exit-code', { type: 'boolean', describe: 'exit 3 when the two differ, 0 when they do not (git diff --exit-code, with lsm\'s 3)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print nothing (with --exit-code: only the exit status)' })
    .option('json', { type: 'boolean', describe: 'print the difference as a change object (time: the newer side\'s commit time, or the scan\'s for the sockets now, whose commit is null), with from and to: each side\'s commit and time' }),
  handler: async (argv) => {
    const ctx = context(argv);
    const repo = requireRepo(ctx.repoDir);
    const from = await resolveRev(repo, argv.from ?? 'HEAD');
    const to = argv.from === undefined ? null : await resolveRev(repo, argv.to ?? 'HEAD');
    const before = await snapshotFiles(repo, from);
    const scannedAt = Date.now();
    const after = to === null ? takeSnapshot(ctx).snapshot : await snapshotFiles(repo, to);
    const patch = unifiedDiff(before, after);
    if (argv.json && !argv.quiet) {
      const files = fileChanges(before, after);
      // each side's time: a commit's (as show and log give it), the scan's for the sockets now
      const fromTime = await commitTime(repo, from);
      const toTime = to === null ? scannedAt : await commitTime(repo, to);
      out(json({
        change: changeJson({ commit: to, parent: from, time: toTime, summary: summarize(files), files }),
        from: { commit: from, time: jsonTime(fromTime) }, to: { commit: to, time: jsonTime(toTime) },
      }));
    } else if (patch && !argv.quiet) printPatch(patch);
    if (patch && argv['exit-code']) process.exitCode = EXIT.CHANGED;
  },
};
export default command;
