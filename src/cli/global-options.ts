// The options every command takes, and what they resolve to. Apart from context.ts (which also
// wires the scan pipeline, and imports it) so that commands answered from the journal load only
// this: see fast-path.ts.
import type { Options } from 'yargs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from '../config.js';
import { EXIT, LsmError } from '../errors.js';
import { checkRunPaths } from '../safe-path.js';

export interface GlobalArgs {
  repo?: string;
  config?: string;
  proc?: string;
  color?: boolean;
}

// given twice, the last one counts (as with most tools), never an array
const last = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);

export const GLOBAL_OPTIONS = {
  repo: { type: 'string', requiresArg: true, coerce: last, describe: 'snapshot repository (env LSM_REPO; default /var/lib/lsm/snapshots for root, else $XDG_STATE_HOME/lsm/snapshots)', global: true },
  config: { type: 'string', requiresArg: true, coerce: last, describe: 'config file (env LSM_CONFIG; default /etc/lsm/lsm.conf for root)', global: true },
  proc: { type: 'string', requiresArg: true, coerce: last, describe: 'the /proc to read (for tests and chroots)', global: true, hidden: true },
  color: { type: 'boolean', describe: 'colour output on a terminal (--no-color: never; NO_COLOR is honoured)', global: true, default: true },
} as const satisfies Record<keyof GlobalArgs, Options>;

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
  for (const k of ['repo', 'config', 'proc'] as const) {
    if (argv[k] === '') throw new LsmError(`--${k} needs a value`, EXIT.USAGE); // '--repo=' would silently mean the default
  }
  const repoDir = argv.repo || process.env.LSM_REPO || defaultRepo();
  const loaded = loadConfig(argv.config || process.env.LSM_CONFIG || undefined);
  const c = loaded.config;
  // before anything is read or written: no path another user could swap under us (safe-path.ts)
  checkRunPaths({ config: loaded.path, ignoreFile: c.ignoreFile, hooksDir: c.hooksDir, repoDir, spoolDir: c.spoolDir, eventLog: c.eventLog, sendmail: c.smtpUrl ? '' : c.sendmail });
  return { repoDir, loaded, procRoot: argv.proc || '/proc' };
}
