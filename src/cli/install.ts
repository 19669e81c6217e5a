// lsm install: set lsm up as a system tool, the way LSM's installer did, without its damage: a
// self-contained copy of the program in /usr/local/lib/lsm (production code only) and the command
// /usr/local/sbin/lsm that runs it, directories with safe modes, a commented default config, the
// man page, a logrotate file, a schedule (cron.d or a systemd timer, from the templates in hooks/),
// and a baseline when there is none yet. Re-running it upgrades: config, history, baseline and spool
// are kept. An LSM 0.6 install is migrated (install-lsm06.ts). --root installs into another root
// (images, tests): the files written name paths inside that root, never the host's.
import type { CommandModule } from 'yargs';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KEYS, type ConfigEnv } from '../config.js';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError, ioError } from '../errors.js';
import { checkPath } from '../safe-path.js';
import { readBaseline } from '../store/baseline.js';
import { headCommit, openRepo } from '../store/repo.js';
import { context, type GlobalArgs } from './context.js';
import { installProgram, Journal, moveAside, ownedByLsm, PACKAGE_ROOT, productionPackages, treeSize, writeOwned } from './install-files.js';
import { detectLsm06, importedLines, isLsm06Cron, lsm06IgnoreFiles } from './install-lsm06.js';
import { out } from './output.js';

export const HOOKS_SRC = join(PACKAGE_ROOT, 'hooks');
const LIB = '/usr/local/lib/lsm';
const COMMAND = '/usr/local/sbin/lsm';
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Args extends GlobalArgs { root?: string; schedule?: string; baseline?: boolean }

/** Every path the install writes, under an optional root. */
export function installPaths(root = '') {
  const at = (p: string) => (root ? join(root, p) : p);
  return {
    lib: at(LIB),
    command: at(COMMAND),
    man: at('/usr/local/share/man/man8/lsm.8'),
    configDir: at('/etc/lsm'),
    config: at('/etc/lsm/lsm.conf'),
    ignore: at('/etc/lsm/ignore'),
    hooksDir: at('/etc/lsm/hooks.d'),
    stateDir: at('/var/lib/lsm'),
    repo: at('/var/lib/lsm/snapshots'),
    spool: at('/var/lib/lsm/spool'),
    replaced: at('/var/lib/lsm/replaced'),
    logDir: at('/var/log/lsm'),
    logrotate: at('/etc/logrotate.d/lsm'),
    cron: at('/etc/cron.d/lsm'),
    service: at('/etc/systemd/system/lsm.service'),
    timer: at('/etc/systemd/system/lsm.timer'),
  };
}

export const SYSTEM_ENV: ConfigEnv = { root: true, configDir: '/etc/lsm', stateDir: '/var/lib/lsm' };

/** The default config: every key commented out at its default, with its one-line doc; `set` lines first. */
export function defaultConfigText(set: string[] = [], from = ''): string {
  const lines = ['# lsm configuration: KEY="value" lines; an LSM 0.6 conf.lsm (USER, SUB) is read as it is.',
    '# Every line below is commented out: the value shown is the default. `lsm config` shows what is in effect.', ''];
  if (set.length) lines.push(`# imported from ${from} (LSM 0.6) by lsm install`, ...set, '');
  for (const [key, def] of Object.entries(KEYS)) {
    lines.push(`# ${def.doc}`);
    lines.push(`#${key}="${def.default(SYSTEM_ENV)}"`);
    lines.push('');
  }
  return lines.join('\n');
}

export const IGNORE_TEXT = `# lsm ignore rules: lines matching a rule are never recorded. One rule a line: WHERE PATTERN.
# WHERE: a kind (tcp udp raw packet unix *) in any namespace, or a path glob (host/udp, netns/*/unix).
# PATTERN: a glob over the snapshot line (or just its endpoint). Examples:
#udp        *:68                         # DHCP client
#udp        [fe80::*]:546                # DHCPv6 client
#unix       @/tmp/dbus-*                 # D-Bus session buses with random names
#unix       /run/user/*                  # per-user desktop sockets
`;

/** The command on PATH: runs the program copied to `lib` with this node (cron's PATH may not hold node). */
export function commandScript(lib: string, node: string): string {
  return `#!/bin/sh\n# lsm, written by lsm install: runs the program in ${lib}\nLSM_NODE=${shellQuote(node)} exec ${lib}/bin/lsm "$@"\n`;
}

/** '10m' -> the cron spec and the systemd OnCalendar= spec (the same wall-clock times). */
export function scheduleSpec(interval: string): { cron: string; systemd: string } {
  const ms = parseDuration(interval);
  if (ms === null) throw new LsmError(`INTERVAL '${interval}' is not a duration like 10m`, EXIT.USAGE);
  const minutes = Math.max(1, Math.round(ms / 6e4));
  if (minutes % 60 === 0 && minutes <= 24 * 60) {
    const h = minutes / 60;
    if (h === 24) return { cron: '0 0 * * *', systemd: '*-*-* 00:00:00' };
    return { cron: h === 1 ? '0 * * * *' : `0 */${h} * * *`, systemd: h === 1 ? '*-*-* *:00:00' : `*-*-* 0/${h}:00:00` };
  }
  if (minutes > 59) throw new LsmError(`INTERVAL '${interval}' does not fit cron: use 1m to 59m or whole hours`, EXIT.USAGE);
  return { cron: minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`, systemd: minutes === 1 ? '*-*-* *:*:00' : `*-*-* *:0/${minutes}:00` };
}

export function template(name: string, values: Record<string, string>): string {
  let text = readFileSync(join(HOOKS_SRC, name), 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`@${k}@`, v);
  return text;
}

/** Is a process of one of these names running? (comm, from the /proc lsm reads) */
function running(procRoot: string, names: RegExp): boolean {
  let pids: string[];
  try { pids = readdirSync(procRoot).filter((n) => /^\d+$/.test(n)); } catch { return false; }
  return pids.some((pid) => { try { return names.test(readFileSync(join(procRoot, pid, 'comm'), 'utf8').trim()); } catch { return false; } });
}

/** The paths a scan writes, for the unit's ReadWritePaths= ('-': may be missing). */
function writablePaths(c: { spoolDir: string; eventLog: string; metricsFile?: string }): string {
  const dirs = new Set(['/var/lib/lsm', c.spoolDir]);
  if (c.eventLog) dirs.add(dirname(c.eventLog));
  if (c.metricsFile) dirs.add(dirname(c.metricsFile));
  const all = [...dirs];
  return all.filter((d) => !all.some((o) => o !== d && d.startsWith(`${o}/`))).map((d) => `-${d}`).join(' ');
}

/**
 * Mail through a local sendmail runs the MTA's sendmail inside the unit: it writes the MTA's queue
 * and, as root, changes user or writes a queue it does not own. SMTP (SMTP_URL) needs none of it.
 */
function mailSandbox(c: { sendmail: string; smtpUrl: string }): string {
  if (c.smtpUrl || !c.sendmail) return '# mail: SMTP_URL or none, so no local MTA queue is writable';
  return ['# mail: the local sendmail (SENDMAIL) writes its MTA\'s queue and, run by root, changes user',
    'ReadWritePaths=-/var/spool/postfix -/var/spool/exim4 -/var/spool/exim -/var/spool/mqueue -/var/spool/clientmqueue -/var/spool/nullmailer -/var/spool/dma',
    'CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER',
    'SystemCallFilter=@setuid @chown'].join('\n');
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'install',
  describe: 'install or upgrade lsm as a system tool: the program, config, directories, man page, a schedule (cron or systemd), the first baseline; migrates LSM 0.6',
  builder: (y) => y
    .option('root', { type: 'string', describe: 'install into this root instead of / (for images and tests)' })
    .option('schedule', { choices: ['cron', 'systemd', 'none'], describe: 'how to run lsm -c (default: SCHEDULE from the config when set, else systemd when it runs, else cron)' })
    .option('baseline', { type: 'boolean', describe: 'take the first baseline now when there is none (default: yes, except with --root); an existing baseline is never moved' }),
  handler: async (argv) => {
    const root = argv.root ?? '';
    if (!root && process.getuid?.() !== 0) throw new LsmError('lsm install writes /etc, /var and /usr/local: run it as root (or use --root DIR)', EXIT.USAGE);
    const p = installPaths(root);
    // root writes code and config there: none may be a directory another user controls
    for (const dir of new Set([p.configDir, p.stateDir, p.logDir, ...[p.lib, p.command, p.man, p.logrotate, p.cron, p.service].map((f) => dirname(f))])) checkPath(dir, 'install directory', 'dir');
    const notes: string[] = [];
    const warn = (m: string) => process.stderr.write(`lsm: warning: ${m}\n`);
    // an admin's config is read (and checked) before anything else is written; a new one is the
    // default (with LSM 0.6's USER and SUB), never the config of the machine installing into --root
    const configExisted = existsSync(p.config);
    const lsm06 = detectLsm06(root);
    const imported = !configExisted && lsm06 ? importedLines(lsm06) : [];
    // every step below is journaled: a refusal (systemd not running, a missing dependency, a bad
    // INTERVAL) or a failure takes back what was written, and the root is as it was
    const journal = new Journal();
    try {
      if (!configExisted) {
        try {
          journal.mkdir(dirname(p.configDir), 0o755);
          journal.mkdir(p.configDir, 0o755);
          writeOwned(p.config, defaultConfigText(imported, lsm06?.conf ?? ''), 0o600, journal);
        } catch (err) { throw ioError(`cannot write ${p.config}`, err); }
      }
      const ctx = context({ ...argv, config: p.config });
      const config = ctx.loaded.config;
      const spec = scheduleSpec(config.interval);
      const schedule = argv.schedule ?? (ctx.loaded.sources.SCHEDULE !== 'default' ? config.schedule : existsSync(join(root || '/', 'run/systemd/system')) ? 'systemd' : 'cron');
      if (schedule === 'systemd' && !root && !existsSync('/run/systemd/system')) throw new LsmError('--schedule systemd: systemd is not running on this machine (use --schedule cron)', EXIT.USAGE);
      productionPackages(); // a missing dependency refuses here, before the directories are made
      for (const [dir, mode] of [[p.configDir, 0o755], [p.hooksDir, 0o755], [p.stateDir, 0o700], [p.spool, 0o700], [p.logDir, 0o750]] as const) {
        journal.mkdir(dirname(dir), 0o755); // parents like /var/lib stay 0755
        journal.mkdir(dir, mode);
        journal.chmod(dir, mode);
      }
      if (lsm06) notes.push(`LSM 0.6 found in ${lsm06.dir}: migrating (it stays there as it is; remove it when you no longer need it)`);
      // what lsm's files replace is moved aside, never overwritten or written through
      const claim = (path: string, what: string, marker?: string) => {
        if (ownedByLsm(path, marker) !== 'foreign') return;
        const from = path === p.command && lsm06?.link ? `${path} (LSM 0.6's symlink to ${lsm06.link})` : path === p.cron && isLsm06Cron(path) ? `${path} (LSM 0.6's cron entry)` : `${path} (${what} lsm did not write)`;
        notes.push(`moved ${from} to ${moveAside(path, root, p.replaced, journal)} (lsm uninstall puts it back)`);
      };
      if (imported.length) notes.push(`imported ${imported.join(' ')} from ${lsm06!.conf} into ${p.config}`); else if (configExisted && lsm06?.conf) notes.push(`kept ${p.config} as it is (USER and SUB not imported from ${lsm06.conf})`);
      if (lsm06?.problem) notes.push(`could not read ${lsm06.conf}: ${lsm06.problem}; set USER and SUB in ${p.config} yourself`);
      for (const i of lsm06?.loaded?.ignored ?? []) notes.push(`conf.lsm's ${i.key} is ignored: ${i.why}`);
      // LSM 0.6's ignore files: into a new ignore file where they translate; each file named, one line
      const ignoreExisted = existsSync(p.ignore);
      const oldIgnores = lsm06 ? lsm06IgnoreFiles(lsm06) : [];
      const importedRules = ignoreExisted ? [] : oldIgnores.flatMap((f) => f.rules.length ? [`# from ${f.file} (LSM 0.6)`, ...f.rules] : []);
      if (!ignoreExisted) writeOwned(p.ignore, IGNORE_TEXT + (importedRules.length ? `\n# imported by lsm install\n${importedRules.join('\n')}\n` : ''), 0o644, journal);
      for (const f of oldIgnores) {
        const skipped = f.skipped.length ? `; lines ${f.skipped.map((s) => s.line).join(', ')} not imported: ${f.why}` : '';
        if (f.rules.length && !ignoreExisted) notes.push(`imported ${f.rules.length} ignore rule(s) from ${f.file} into ${p.ignore}${skipped}`);
        else if (f.rules.length) {
          const have = new Set(readFileSync(p.ignore, 'utf8').split('\n').map((l) => l.trim()));
          const missing = f.rules.filter((r) => !have.has(r));
          notes.push(missing.length ? `not imported ${f.file} (LSM 0.6's ignore file): ${p.ignore} exists and is kept as it is; add its rules yourself: ${missing.join('; ')}` : `${f.file} (LSM 0.6's ignore file): its rules are in ${p.ignore}${skipped}`);
        }
        else notes.push(`not imported ${f.file} (LSM 0.6's ignore file): ${f.why ?? 'no entries'}`);
      }

      // the program: a copy of this one; the command names it by its path in the installed system
      const copied = installProgram(p.lib, PACKAGE_ROOT, journal);
      claim(p.command, 'a command');
      writeOwned(p.command, commandScript(LIB, process.execPath), 0o755, journal);
      if (/^\/(home|root|tmp|run\/user)\//.test(process.execPath)) warn(`node is ${process.execPath}: cron may not see it, and the systemd unit hides /home, /root and /tmp; install node system-wide (apt-get install nodejs) and re-run lsm install`);
      claim(p.man, 'a man page', '.TH LSM');
      writeOwned(p.man, readFileSync(join(PACKAGE_ROOT, 'docs', 'lsm.8'), 'utf8'), 0o644, journal);
      claim(p.logrotate, 'a logrotate file');
      if (config.eventLog) writeOwned(p.logrotate, template('logrotate.d/lsm', { EVENT_LOG: config.eventLog }), 0o644, journal);

      if (schedule === 'cron') {
        claim(p.cron, 'a cron entry');
        writeOwned(p.cron, template('cron.d/lsm', { LSM: COMMAND, INTERVAL: config.interval, CRON_SPEC: spec.cron }), 0o644, journal);
        const cronRuns = running(ctx.procRoot, /^(cron|crond|cronie|fcron|dcron)$/) || existsSync(join(root || '/', 'lib/systemd/system-generators/systemd-crontab-generator'));
        if (!cronRuns) warn(`no cron daemon is running${root ? ' here' : ''}: nothing will run ${p.cron} until one does (apt-get install cron${root ? '; an image must start one' : ''}, or lsm install --schedule systemd)`);
        notes.push(`schedule: ${p.cron}: lsm -c every ${config.interval}${cronRuns ? '' : ' (NO CRON DAEMON RUNNING)'}`);
      } else if (lsm06 && existsSync(p.cron) && isLsm06Cron(p.cron)) claim(p.cron, 'a cron entry'); // LSM 0.6's would run beside the timer
      if (schedule === 'systemd') {
        claim(p.service, 'a unit');
        claim(p.timer, 'a unit');
        writeOwned(p.service, template('systemd/lsm.service', { LSM: COMMAND, READ_WRITE_PATHS: writablePaths(config), MAIL_SANDBOX: mailSandbox(config) }), 0o644, journal);
        writeOwned(p.timer, template('systemd/lsm.timer', { INTERVAL: config.interval, ON_CALENDAR: spec.systemd }), 0o644, journal);
        if (!root) {
          execFileSync('systemctl', ['daemon-reload'], { stdio: 'ignore' });
          execFileSync('systemctl', ['enable', '--now', 'lsm.timer'], { stdio: 'ignore' });
        }
        notes.push(`schedule: ${p.timer}: lsm -c every ${config.interval}${root ? ' (enable it in the image: systemctl enable lsm.timer)' : ', enabled'}`);
      }
      if (schedule === 'none') notes.push('schedule: none (run lsm -c yourself)');

      out(`lsm ${copied ? 'installed' : 'kept'} in ${p.lib} (${(treeSize(p.lib) / 1048576).toFixed(1)} MiB)`);
      out(`  command   ${p.command}`);
      out(`  config    ${p.config}${configExisted ? ' (kept as it was)' : imported.length ? " (new: USER and SUB from LSM 0.6's conf.lsm, every other key commented out at its default)" : ' (new: every key commented out at its default)'}`);
      out(`  ignore    ${p.ignore}`);
      out(`  hooks     ${p.hooksDir} (example: ${LIB}/hooks/examples/50-webhook)`);
      out(`  history   ${p.repo}`);
      out(`  spool     ${p.spool}`);
      out(`  man page  ${p.man} (man lsm)`);
      if (config.eventLog) out(`  log       ${config.eventLog}, rotated weekly by ${p.logrotate}`);
      for (const n of notes) out(`  ${n}`);
    } catch (err) {
      const stuck = journal.rollback();
      for (const s of stuck) process.stderr.write(`lsm: warning: could not take back: ${s}\n`);
      if (err instanceof LsmError) throw err;
      throw ioError('install failed', err);
    }
    // installed: a baseline that cannot be taken is said, and the install stays
    try {
      await baselineStep(argv.baseline ?? !root, p, root);
    } catch (err) {
      if (err instanceof LsmError) throw err;
      throw ioError('install done, but the first baseline failed', err);
    }
  },
};

/** The first baseline only: an upgrade keeps the one an administrator approved, whatever drifted since. */
async function baselineStep(wanted: boolean, p: ReturnType<typeof installPaths>, root: string): Promise<void> {
  const repo = existsSync(join(p.repo, '.git')) ? openRepo(p.repo) : null;
  const baseline = repo ? await readBaseline(repo) : null;
  if (baseline) { out(`  baseline  ${baseline.slice(0, 8)} kept (lsm drift shows what changed since; lsm -g approves)`); return; }
  if (repo && (await headCommit(repo))) { out('  baseline  none: the history has commits but no baseline (lsm -g approves the current state)'); return; }
  if (!wanted) { out(`  baseline  not taken${root ? ' (--root)' : ''}: the first lsm -c takes it`); return; }
  const r = execFileSync(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli', 'main.js'), '-g', '--repo', p.repo, '--config', p.config], { encoding: 'utf8' });
  out(`  baseline  ${r.trim().split('\n').pop()}`);
}
export default command;
