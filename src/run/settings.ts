// The application layer, first step: every setting and path a command uses is decided here, once
// (the config file, --repo, the /proc root, and from them the spool, the event log, the hooks, the
// ignore rules, the metrics file, the fleet's remote), then checked (owner and mode of every path
// lsm reads code or config from or writes to, the spool's owner, the fleet's values) before
// anything is written. What runs afterwards reads these and never works a path out again: the
// spool a scan writes is the one `status`, `flush` and the metrics read.
// Commands answered from the journal load only this module (cli/fast-path.ts): keep it light.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type LoadedConfig } from '../config.js';
import { EXIT, LsmError } from '../errors.js';
import { hostIdProblem } from '../fleet/names.js';
import { checkPath, checkRunPaths } from '../safe-path.js';

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
  /** The config, with the paths as this run uses them: loaded.config.spoolDir IS the spool. */
  loaded: LoadedConfig;
  procRoot: string;
  /** Another repository than the default (--repo, LSM_REPO): its spool and event log are its own unless configured. */
  ownRepo: boolean;
}

/** Where a repository that is not the default one keeps what the config leaves at its default. */
function keepInRepository(loaded: LoadedConfig, lsmDir: string): void {
  const c = loaded.config;
  const place = (key: 'SPOOL_DIR' | 'EVENT_LOG', field: 'spoolDir' | 'eventLog', path: string) => {
    if (loaded.sources[key] !== 'default') return;
    c[field] = loaded.values[key] = path;
    loaded.sources[key] = 'default (in the repository)';
  };
  place('SPOOL_DIR', 'spoolDir', join(lsmDir, 'spool'));
  if (c.eventLog !== '') place('EVENT_LOG', 'eventLog', join(lsmDir, 'events.jsonl'));
}

function given(argv: GlobalArgs): void {
  for (const k of ['repo', 'config', 'proc'] as const) {
    if (argv[k] === '') throw new LsmError(`--${k} needs a value`, EXIT.USAGE); // '--repo=' would silently mean the default
  }
}

/** The config file the command line or LSM_CONFIG names (else the default), read once the options are checked. */
function givenConfig(argv: GlobalArgs): LoadedConfig {
  given(argv);
  return loadConfig(argv.config || process.env.LSM_CONFIG || undefined);
}

/** Every setting of a command on a host repository, decided; nothing checked or written yet. */
export function resolveSettings(argv: GlobalArgs): Context {
  const loaded = givenConfig(argv);
  const repoDir = argv.repo || process.env.LSM_REPO || defaultRepo();
  // another repository than the default keeps its spool and event log in its own .git/lsm unless
  // the config names them: two monitored repositories never cross
  const ownRepo = resolve(repoDir) !== resolve(defaultRepo());
  if (ownRepo) keepInRepository(loaded, join(repoDir, '.git', 'lsm'));
  return { repoDir, loaded, procRoot: argv.proc || '/proc', ownRepo };
}

/**
 * Check every path the settings name: no path another user could swap under us (safe-path.ts;
 * exit 77 otherwise); and the values only a run would find wrong: a fleet host id no branch can
 * have (exit 2: else every run would commit, then fail to push, for ever).
 */
export function checkSettings(ctx: Context, repo: 'host' | 'none' = 'host'): void {
  const c = ctx.loaded.config;
  const hostId = c.remote && repo === 'host' ? hostIdProblem(c.hostId) : null;
  if (hostId) throw new LsmError(`${ctx.loaded.sources.HOST_ID}: HOST_ID: ${hostId}`, 'Usage', { key: 'HOST_ID' });
  checkRunPaths({ config: ctx.loaded.path, ignoreFile: c.ignoreFile, hooksDir: c.hooksDir, repoDir: repo === 'host' ? ctx.repoDir : null, spoolDir: c.spoolDir, eventLog: c.eventLog, sendmail: c.smtpUrl ? '' : c.sendmail });
}

/** The settings of a command, decided and checked, before it reads or writes anything else. */
export function context(argv: GlobalArgs): Context {
  const ctx = resolveSettings(argv);
  checkSettings(ctx);
  return ctx;
}

/**
 * The settings of the fleet's central repository (a bare gitdir): its spool and event log are its
 * own (gitdir/lsm/) unless the config names them, never the host's default /var/lib/lsm/spool
 * (whose alerts `lsm status` counts as the host's).
 */
export function centralContext(argv: GlobalArgs, gitdir: string): Context {
  const loaded = centralConfig(argv, gitdir);
  const ctx: Context = { repoDir: gitdir, loaded, procRoot: argv.proc || '/proc', ownRepo: true };
  checkSettings(ctx, 'none'); // the repository is the web server user's (README: fleet)
  return ctx;
}

/** The central config with its paths placed as the hooks place them (for init's check), read, not checked. */
export function centralConfig(argv: GlobalArgs, gitdir: string): LoadedConfig {
  const loaded = givenConfig(argv);
  keepInRepository(loaded, join(gitdir, 'lsm'));
  return loaded;
}

/**
 * The config of a command that writes nothing the config names (the fleet questions read INTERVAL):
 * only the config file is checked, as every file root reads settings from. The spool and event
 * log are not: on the server they are the web server user's, and a question never touches them.
 */
export function readOnlyConfig(argv: GlobalArgs): LoadedConfig {
  const loaded = givenConfig(argv);
  if (loaded.path) checkPath(loaded.path, 'config file', 'file');
  return loaded;
}
