// lsm uninstall: remove what lsm install wrote and put back what it moved aside (LSM 0.6's cron
// entry and symlink: the host is monitored as before); the history, config and spool stay unless
// --purge --yes (the history is the audit trail: deleting it takes two words, as with lsm -d
// --purge --yes). Another program's files are never deleted, --purge or not: what cannot go back
// stays in replaced/, named with the command that puts it back.
import type { CommandModule } from 'yargs';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, LsmError } from '../errors.js';
import type { GlobalArgs } from './context.js';
import { installPaths } from './install.js';
import { ownedByLsm, restoreAside } from './install-files.js';
import { isLsm06Cron } from './install-lsm06.js';
import { out } from './output.js';

interface Args extends GlobalArgs { root?: string; purge?: boolean; yes?: boolean }

/** What a restored entry is, for the line that says it is back. */
function describe(path: string, p: ReturnType<typeof installPaths>): string {
  const st = lstatSync(path);
  if (path === p.command && st.isSymbolicLink()) return `LSM 0.6's symlink to ${readlinkSync(path)}`;
  if (path === p.cron && isLsm06Cron(path)) return "LSM 0.6's cron entry: LSM 0.6 runs again";
  return st.isSymbolicLink() ? `a symlink to ${readlinkSync(path)}` : 'as it was';
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'uninstall',
  describe: 'remove the schedule, the command and the program, and put back what install moved aside; --purge --yes also deletes config, history, spool and logs',
  builder: (y) => y
    .option('root', { type: 'string', describe: 'the root lsm was installed into' })
    .option('purge', { type: 'boolean', describe: 'also delete /etc/lsm, /var/lib/lsm (the history) and /var/log/lsm' })
    .option('yes', { type: 'boolean', describe: 'confirm --purge' }),
  handler: async (argv) => {
    const root = argv.root ?? '';
    if (!root && process.getuid?.() !== 0) throw new LsmError('lsm uninstall changes /etc and /usr/local: run it as root (or use --root DIR)', EXIT.USAGE);
    const p = installPaths(root);
    if (argv.purge && !argv.yes) throw new LsmError(`--purge deletes ${p.configDir}, ${p.stateDir} (the history) and ${p.logDir}: add --yes to confirm`, EXIT.USAGE);
    if (!root && existsSync(p.timer)) {
      try { execFileSync('systemctl', ['disable', '--now', 'lsm.timer'], { stdio: 'ignore' }); } catch { /* not running */ }
    }
    // only what lsm install wrote: another's file at one of these paths (LSM 0.6's cron entry) stays
    const removed = [p.cron, p.service, p.timer, p.command, p.logrotate].filter((f) => ownedByLsm(f) === 'ours');
    if (ownedByLsm(p.man, '.TH LSM') === 'ours') removed.push(p.man);
    for (const f of removed) rmSync(f);
    if (existsSync(p.lib)) { rmSync(p.lib, { recursive: true }); removed.push(p.lib); }
    // what install moved aside goes back where it was, now that lsm's files are gone
    const { restored, kept } = restoreAside(root, p.replaced);
    if (argv.purge) {
      for (const d of [p.configDir, p.logDir]) if (existsSync(d)) { rmSync(d, { recursive: true }); removed.push(d); }
      if (existsSync(p.stateDir)) {
        if (kept.length === 0) { rmSync(p.stateDir, { recursive: true }); removed.push(p.stateDir); }
        else for (const e of readdirSync(p.stateDir).filter((n) => join(p.stateDir, n) !== p.replaced)) { rmSync(join(p.stateDir, e), { recursive: true }); removed.push(join(p.stateDir, e)); }
      }
    }
    for (const f of removed) out(`removed ${f}`);
    for (const r of restored) out(`restored ${r.path} (${describe(r.path, p)})`);
    for (const k of kept) process.stderr.write(`lsm: warning: kept ${k.backup}: ${k.why}; to put it back: ${k.command}\n`);
    if (!argv.purge) out(`kept ${p.repo} (history), ${p.configDir} and ${p.spool}: lsm uninstall --purge --yes deletes them`);
  },
};
export default command;
