// The command registry: one file a command. LSM 0.6's flags map onto commands here.
import type { CommandModule } from 'yargs';
import baseline from './baseline.js';
import blame from './blame.js';
import check from './check.js';
import config from './config.js';
import diff from './diff.js';
import drift from './drift.js';
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
export const commands: CommandModule<any, any>[] = [scan, status, log, show, diff, baseline, check, forget, flush, config, install, uninstall, watch, blame, drift, reindex, verify];

/** LSM 0.6 flags become commands: -g baseline, -c check, -d forget (only before any command). */
export function rewriteLegacyFlags(args: string[]): string[] {
  const legacy: Record<string, string> = { '-g': 'baseline', '-c': 'check', '-d': 'forget' };
  const names = new Set(commands.map((c) => String(c.command).split(' ')[0]));
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    if (names.has(out[i])) break; // a command is already named: its own flags follow
    if (legacy[out[i]]) { out.splice(i, 1); out.unshift(legacy[args[i]]); break; }
  }
  return out;
}
