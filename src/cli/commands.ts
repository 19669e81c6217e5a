// The command registry: one file a command (LSM 0.6's flags map onto commands in fast-path.ts).
import type { CommandModule } from 'yargs';
import accept from './accept.js';
import baseline from './baseline.js';
import blame from './blame.js';
import completion from './completion.js';
import check from './check.js';
import config from './config.js';
import diff from './diff.js';
import drift from './drift.js';
import fleet from './fleet.js';
import flush from './flush.js';
import forget from './forget.js';
import install from './install.js';
import log from './log.js';
import reindex from './reindex.js';
import scan from './scan.js';
import show from './show.js';
import status from './status.js';
import uninstall from './uninstall.js';
import verify from './verify.js';
import watch from './watch.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [scan, status, log, show, diff, baseline, accept, check, forget, flush, config, install, uninstall, watch, blame, drift, reindex, verify, fleet, completion];
