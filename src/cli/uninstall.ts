// lsm uninstall: remove what lsm install wrote; the history, config and spool stay unless --purge
// --yes (the history is the audit trail: deleting it takes two words, as with lsm -d --purge --yes).
import type { CommandModule } from 'yargs';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { EXIT, LsmError } from '../errors.js';
import type { GlobalArgs } from './context.js';
import { installPaths } from './install.js';
import { ownedByLsm } from './install-files.js';
import { out } from './output.js';

interface Args extends GlobalArgs { root?: string; purge?: boolean; yes?: boolean }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'uninstall',
  describe: 'remove the schedule, the command and the program; --purge --yes also deletes config, history, spool and logs',
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
    if (argv.purge) for (const d of [p.configDir, p.stateDir, p.logDir]) if (existsSync(d)) { rmSync(d, { recursive: true }); removed.push(d); }
    for (const f of removed) out(`removed ${f}`);
    if (!argv.purge) out(`kept ${p.repo} (history), ${p.configDir} and ${p.spool}: lsm uninstall --purge --yes deletes them`);
  },
};
export default command;
