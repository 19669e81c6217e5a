// lsm install: set lsm up as a system tool, the way LSM's installer did: directories with safe
// modes, a commented default config, the command, a schedule (cron.d or a systemd timer, from the
// templates in hooks/), and the baseline. --root installs into another root (tests, images).
import type { CommandModule } from 'yargs';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYS, type ConfigEnv } from '../config.js';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError, ioError } from '../errors.js';
import { context, type GlobalArgs } from './context.js';
import { out } from './output.js';

export const HOOKS_SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'hooks');
const MAIN_JS = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
// the command users run (node flags in one place); the installed wrapper calls it
const BIN_LSM = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'lsm');
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Args extends GlobalArgs { root?: string; schedule?: string; baseline?: boolean }

/** Every path the install writes, under an optional root. */
export function installPaths(root = '') {
  const at = (p: string) => (root ? join(root, p) : p);
  return {
    command: at('/usr/local/sbin/lsm'),
    configDir: at('/etc/lsm'),
    config: at('/etc/lsm/lsm.conf'),
    ignore: at('/etc/lsm/ignore'),
    hooksDir: at('/etc/lsm/hooks.d'),
    stateDir: at('/var/lib/lsm'),
    repo: at('/var/lib/lsm/snapshots'),
    spool: at('/var/lib/lsm/spool'),
    logDir: at('/var/log/lsm'),
    cron: at('/etc/cron.d/lsm'),
    service: at('/etc/systemd/system/lsm.service'),
    timer: at('/etc/systemd/system/lsm.timer'),
  };
}

const SYSTEM_ENV: ConfigEnv = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };

/** The default config: every key, commented out at its default, with its one-line doc. */
export function defaultConfigText(): string {
  const lines = ['# lsm configuration: KEY="value" lines; an LSM 0.6 conf.lsm (USER, SUB) is read as it is.',
    '# Every line below is commented out: the value shown is the default. `lsm config` shows what is in effect.', ''];
  for (const [key, def] of Object.entries(KEYS)) {
    lines.push(`# ${def.doc}`);
    lines.push(`#${key}="${def.default(SYSTEM_ENV)}"`);
    lines.push('');
  }
  return lines.join('\n');
}

const IGNORE_TEXT = `# lsm ignore rules: lines matching a rule are never recorded. One rule a line: WHERE PATTERN.
# WHERE: a kind (tcp udp raw packet unix *) in any namespace, or a path glob (host/udp, netns/*/unix).
# PATTERN: a glob over the snapshot line (or just its endpoint). Examples:
#udp        *:68                         # DHCP client
#udp        [fe80::*]:546                # DHCPv6 client
#unix       @/tmp/dbus-*                 # D-Bus session buses with random names
#unix       /run/user/*                  # per-user desktop sockets
`;

/** '10m' -> the cron spec and the systemd interval. */
export function scheduleSpec(interval: string): { cron: string; systemd: string } {
  const ms = parseDuration(interval);
  if (ms === null) throw new LsmError(`INTERVAL '${interval}' is not a duration like 10m`, EXIT.USAGE);
  const minutes = Math.max(1, Math.round(ms / 6e4));
  if (minutes % 60 === 0 && minutes <= 24 * 60) {
    const h = minutes / 60;
    return { cron: h === 1 ? '0 * * * *' : `0 */${h} * * *`, systemd: `${h}h` };
  }
  if (minutes > 59) throw new LsmError(`INTERVAL '${interval}' does not fit cron: use 1m to 59m or whole hours`, EXIT.USAGE);
  return { cron: minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`, systemd: `${minutes}min` };
}

function template(name: string, values: Record<string, string>): string {
  let text = readFileSync(join(HOOKS_SRC, name), 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`@${k}@`, v);
  return text;
}

function write(path: string, text: string, mode: number, changed: string[]): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : null;
  mkdirSync(dirname(path), { recursive: true });
  if (old !== text) { writeFileSync(path, text, { mode }); changed.push(path); }
  chmodSync(path, mode);
}

function hasSystemd(root: string): boolean {
  return existsSync(join(root || '/', 'run/systemd/system'));
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'install',
  describe: 'install lsm as a system tool: config, directories, the command, a schedule (cron or systemd), the baseline',
  builder: (y) => y
    .option('root', { type: 'string', describe: 'install into this root instead of / (for images and tests)' })
    .option('schedule', { choices: ['cron', 'systemd', 'none'], describe: 'how to run lsm -c (default: systemd when it runs, else cron)' })
    .option('baseline', { type: 'boolean', describe: 'take the baseline now (default: yes, except with --root)' }),
  handler: async (argv) => {
    const root = argv.root ?? '';
    if (!root && process.getuid?.() !== 0) throw new LsmError('lsm install writes /etc, /var and /usr/local: run it as root (or use --root DIR)', EXIT.USAGE);
    const p = installPaths(root);
    const changed: string[] = [];
    try {
      for (const [dir, mode] of [[p.configDir, 0o755], [p.hooksDir, 0o755], [p.stateDir, 0o700], [p.spool, 0o700], [p.logDir, 0o750]] as const) {
        mkdirSync(dirname(dir), { recursive: true, mode: 0o755 }); // parents like /var/lib stay 0755
        mkdirSync(dir, { recursive: true, mode });
        chmodSync(dir, mode);
      }
      if (!existsSync(p.config)) write(p.config, defaultConfigText(), 0o600, changed); // never overwrite an admin's config
      if (!existsSync(p.ignore)) write(p.ignore, IGNORE_TEXT, 0o644, changed);
      write(p.command, `#!/bin/sh\n# lsm, installed by lsm install\nLSM_NODE=${shellQuote(process.execPath)} exec ${shellQuote(BIN_LSM)} "$@"\n`, 0o755, changed);
      const interval = context({ ...argv, config: existsSync(p.config) ? p.config : undefined }).loaded.config.interval;
      const spec = scheduleSpec(interval);
      const schedule = argv.schedule ?? (hasSystemd(root) ? 'systemd' : 'cron');
      const lsm = '/usr/local/sbin/lsm';
      if (schedule === 'cron') write(p.cron, template('cron.d/lsm', { LSM: lsm, INTERVAL: interval, CRON_SPEC: spec.cron }), 0o644, changed);
      if (schedule === 'systemd') {
        write(p.service, template('systemd/lsm.service', { LSM: lsm }), 0o644, changed);
        write(p.timer, template('systemd/lsm.timer', { INTERVAL: interval, SYSTEMD_INTERVAL: spec.systemd }), 0o644, changed);
        if (!root) execFileSync('systemctl', ['daemon-reload'], { stdio: 'ignore' });
        if (!root) execFileSync('systemctl', ['enable', '--now', 'lsm.timer'], { stdio: 'ignore' });
      }
      out('lsm installed');
      out(`  command   ${p.command}`);
      out(`  config    ${p.config}${changed.includes(p.config) ? ' (new: every key commented out at its default)' : ' (kept as it was)'}`);
      out(`  ignore    ${p.ignore}`);
      out(`  hooks     ${p.hooksDir} (example: ${join(HOOKS_SRC, 'examples', '50-webhook')})`);
      out(`  history   ${p.repo}`);
      out(`  spool     ${p.spool}`);
      out(`  schedule  ${schedule === 'cron' ? `${p.cron}: lsm -c every ${interval}` : schedule === 'systemd' ? `${p.timer}: lsm -c every ${interval}` : 'none (run lsm -c yourself)'}`);
      if (argv.baseline ?? !root) {
        const r = execFileSync(process.execPath, [MAIN_JS, '-g', '--repo', p.repo, '--config', p.config], { encoding: 'utf8' });
        out(`  baseline  ${r.trim().split('\n').pop()}`);
      }
    } catch (err) {
      if (err instanceof LsmError) throw err;
      throw ioError('install failed', err);
    }
  },
};
export default command;

