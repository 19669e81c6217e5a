// The layer's first two stages: the sockets now (collect) and the snapshot they make (with the
// ignore rules the settings name).
import { collect } from '../collect/index.js';
import { EXIT, LsmError } from '../errors.js';
import { readChecked } from '../safe-path.js';
import { parseIgnoreRules, type IgnoreRule } from '../snapshot/ignore.js';
import { snapshotLines, type SnapshotLine } from '../snapshot/index.js';
import { recordable, recordableState } from '../snapshot/select.js';
import type { Collection, Snapshot } from '../types.js';
import type { Context } from './settings.js';

export function ignoreRules(ctx: Context): IgnoreRule[] {
  const file = ctx.loaded.config.ignoreFile;
  let text: string;
  try {
    text = readChecked(file); // checked with its directories by the settings
  } catch (err) {
    if (err instanceof LsmError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && ctx.loaded.sources.IGNORE_FILE === 'default') return [];
    throw new LsmError(`cannot read ignore rules ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, EXIT.USAGE);
  }
  return parseIgnoreRules(text, file);
}

/** The sockets now: what a snapshot records, or with `all` every socket. */
export function collectNow(ctx: Context, options: { established?: boolean; all?: boolean } = {}): Collection {
  const established = options.established ?? ctx.loaded.config.established;
  return collect({
    procRoot: ctx.procRoot,
    keep: options.all ? undefined : (s) => recordable(s, { established }),
    keepState: options.all ? undefined : (kind, state) => recordableState(kind, state, { established }),
  });
}

export interface Snapshotted { collection: Collection; snapshot: Snapshot; lines: Map<string, SnapshotLine[]> }

export function takeSnapshot(ctx: Context, options: { established?: boolean } = {}): Snapshotted {
  const established = options.established ?? ctx.loaded.config.established;
  const collection = collectNow(ctx, { established });
  const lines = snapshotLines(collection, { established, ignore: ignoreRules(ctx) });
  const snapshot: Snapshot = new Map([...lines].map(([path, l]) => [path, l.map((x) => x.line)]));
  return { collection, snapshot, lines };
}
