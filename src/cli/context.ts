// What every command shares: the global options resolved (repository, config, /proc root) and
// the scan pipeline wired stage by stage: collect -> snapshot -> store.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { collect } from '../collect/index.js';
import { loadConfig, type LoadedConfig } from '../config.js';
import { LsmError, EXIT } from '../errors.js';
import { parseIgnoreRules, type IgnoreRule } from '../snapshot/ignore.js';
import { buildSnapshot } from '../snapshot/index.js';
import { commitSnapshot } from '../store/commit.js';
import type { Change, Collection, Snapshot } from '../types.js';
import { readFileSync } from 'node:fs';

export interface GlobalArgs {
  repo?: string;
  config?: string;
  proc?: string;
  color?: boolean;
}

export function defaultRepo(): string {
  if (process.getuid?.() === 0) return '/var/lib/lsm/snapshots';
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'lsm', 'snapshots');
}

export interface Context {
  repoDir: string;
  loaded: LoadedConfig;
  procRoot: string;
}

export function context(argv: GlobalArgs): Context {
  const repoDir = argv.repo || process.env.LSM_REPO || defaultRepo();
  const loaded = loadConfig(argv.config || process.env.LSM_CONFIG || undefined);
  return { repoDir, loaded, procRoot: argv.proc || '/proc' };
}

export function ignoreRules(ctx: Context): IgnoreRule[] {
  const file = ctx.loaded.config.ignoreFile;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && ctx.loaded.sources.IGNORE_FILE === 'default') return [];
    throw new LsmError(`cannot read ignore rules ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, EXIT.USAGE);
  }
  return parseIgnoreRules(text, file);
}

export interface ScanResult {
  collection: Collection;
  snapshot: Snapshot;
  change: Change | null;
}

export function takeSnapshot(ctx: Context, options: { established?: boolean } = {}): { collection: Collection; snapshot: Snapshot } {
  const collection = collect({ procRoot: ctx.procRoot });
  const snapshot = buildSnapshot(collection, {
    established: options.established ?? ctx.loaded.config.established,
    ignore: ignoreRules(ctx),
  });
  return { collection, snapshot };
}

/** One scan: collect, snapshot, commit when something differs. */
export async function scan(ctx: Context, options: { established?: boolean } = {}): Promise<ScanResult> {
  const { collection, snapshot } = takeSnapshot(ctx, options);
  const change = await commitSnapshot(ctx.repoDir, snapshot);
  return { collection, snapshot, change };
}
