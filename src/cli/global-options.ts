// The options every command takes. What they resolve to (the repository, the config, the paths)
// is decided by the application layer, src/run/settings.ts; re-exported here for the commands
// answered from the journal, which load only these two modules (fast-path.ts).
import type { Options } from 'yargs';
import type { GlobalArgs } from '../run/settings.js';

export { context, defaultRepo, type Context, type GlobalArgs } from '../run/settings.js';

// given twice is an error (option-check.ts), as for every option: which one was meant is not lsm's guess
export const GLOBAL_OPTIONS = {
  repo: { type: 'string', requiresArg: true, describe: 'snapshot repository (env LSM_REPO; default /var/lib/lsm/snapshots for root, else $XDG_STATE_HOME/lsm/snapshots)', global: true },
  config: { type: 'string', requiresArg: true, describe: 'config file (env LSM_CONFIG; default /etc/lsm/lsm.conf for root)', global: true },
  proc: { type: 'string', requiresArg: true, describe: 'the /proc to read (for tests and chroots)', global: true, hidden: true },
  color: { type: 'boolean', describe: 'colour output on a terminal (--no-color: never; NO_COLOR is honoured)', global: true, default: true },
  pager: { type: 'boolean', describe: 'page long output on a terminal through $LSM_PAGER, $PAGER or less -FRX (--no-pager: never; LSM_PAGER=cat too)', global: true, default: true },
} as const satisfies Record<keyof GlobalArgs | 'pager', Options>; // pager.ts reads pager: no command does
