// lsm fleet: the central repository's side. init sets it up; guard and receive are its git hooks;
// status, where, log, blame, diff answer questions across hosts; check alerts on silent hosts;
// reindex and verify rebuild and check the derived index.
import type { Argv, CommandModule } from 'yargs';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Spool } from '../alert/spool.js';
import { EXIT, LsmError } from '../errors.js';
import { reindex, verifyIndex } from '../fleet/catalog.js';
import { fleetStatus } from '../fleet/questions.js';
import { recordCentralProblems } from '../fleet/central-state.js';
import { deliverCentral, drainQueue, lockCentral } from '../fleet/receive.js';
import { span, tellSilence } from '../fleet/silence.js';
import { initServer } from '../fleet/server.js';
import { alertSettings } from '../run/alerts.js';
import { centralConfig, centralContext, type GlobalArgs } from '../run/settings.js';
import { fleetGitdir } from './fleet-gitdir.js';
import { blame, diff, fleetOption, log, silentAfter, status, statusOptions, where, type FleetArgs, type FleetArgv } from './fleet-questions.js';
import { runGuard, runReceive } from './fleet-hook.js';
import { warn } from '../run/warn.js';
import { json as jsonText } from './json.js';
import { wholeNumber } from './option-check.js';
import { out } from './output.js';

type Args = FleetArgs;

/** The hooks run as the web server's user with --config: one it cannot read would lose every central alert. */
function hooksReadConfig(user: string, config: string): void {
  if (process.getuid?.() !== 0) return; // only root can act as another user
  const r = spawnSync('runuser', ['-u', user, '--', 'test', '-r', resolve(config)]);
  if (r.status !== 0) throw new LsmError(`the web server's user ${user} cannot read --config ${config}: the hooks run as ${user} and would lose central alerts; give the central alerts a config of their own that ${user} can read (docs/fleet.md: install -m 640 -g ${user}), then run lsm fleet init again`, EXIT.USAGE);
}
const readStdin = () => readFileSync(0, 'utf8');
const json = (v: object) => out(jsonText(v)); // { schema, ... } as every --json
type Sub = CommandModule<Args, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const subcommands: Sub[] = [
  {
    command: 'init <dir>',
    describe: 'make DIR a bare repository ready to serve hosts (hooks installed) and print the web server configuration',
    builder: (y: Argv) => y.positional('dir', { type: 'string' }).options({
      listen: { type: 'string', default: '0.0.0.0', describe: 'address the web server binds' },
      port: { type: 'number', default: 8080, coerce: wholeNumber(1, 65535), describe: 'port the web server listens on' },
      htpasswd: { type: 'string', default: '/etc/lsm/fleet.htpasswd', describe: 'basic-auth users (htpasswd -B FILE HOST_ID for each host)' },
      'web-user': { type: 'string', describe: 'the user the web server runs as (owns DIR)' },
    }),
    handler: (argv: FleetArgv) => {
      // what the hooks write, where they place it (the repository's own lsm/spool when SPOOL_DIR is
      // left unset); read, not checked: what the web server's user owns is not root's, and context() would refuse it
      const settings = centralConfig(argv, resolve(argv.dir)).config; // FLEET_MAX_PUSH_BYTES, and what the hooks write
      const writes = argv['web-user'] ? [{ path: settings.spoolDir, what: "SPOOL_DIR (the central alerts' spool)" }, { path: settings.eventLog, what: 'EVENT_LOG' }] : [];
      const served = initServer(argv.dir, { config: argv.config, listen: argv.listen, port: argv.port, htpasswd: argv.htpasswd, user: argv['web-user'], writes, maxPushBytes: settings.fleetMaxPushBytes }).trimEnd();
      if (argv['web-user'] && argv.config) hooksReadConfig(argv['web-user'], argv.config);
      out(served);
    },
  },
  {
    command: 'guard',
    describe: "pre-receive hook: refuse non-fast-forwards, deletions, pushes to another host's branch, non-snapshots",
    handler: (argv: FleetArgv) => {
      if (!runGuard(fleetGitdir(argv), readStdin())) process.exitCode = EXIT.FAILURE;
    },
  },
  {
    command: 'receive',
    describe: 'post-receive hook: record and index what arrived, and start the delivery of central alerts',
    handler: async (argv: FleetArgv) => { await runReceive(fleetGitdir(argv), readStdin(), argv.config); },
  },
  {
    command: 'deliver',
    describe: 'spool a central alert per host change recorded since the last time, and deliver the spool (the post-receive hook starts it)',
    handler: async (argv: FleetArgv) => {
      const gitdir = fleetGitdir(argv);
      const ctx = centralContext(argv, gitdir);
      const { host: _h, repoDir: _r, ...alerts } = alertSettings(ctx);
      const report = await deliverCentral(gitdir, alerts, { interval: ctx.loaded.config.fleetMailInterval, silentAfterMs: silentAfter(argv, ctx.loaded.config.interval) });
      for (const p of report.problems) process.stderr.write(`lsm: ${p}\n`);
      if (report.problems.length) process.exitCode = EXIT.FAILURE;
    },
  },
  status,
  {
    command: 'check',
    describe: 'alert on silent hosts (a dead-man switch, for cron on the server) and deliver central alerts',
    builder: (y: Argv) => y.options(statusOptions),
    handler: async (argv: FleetArgv) => {
      const gitdir = fleetGitdir(argv);
      const ctx = centralContext(argv, gitdir);
      const settings = alertSettings(ctx);
      const after = silentAfter(argv, ctx.loaded.config.interval);
      // once per silence, also when two checks run at once
      const lock = await lockCentral(gitdir);
      let raised = 0;
      const problems: string[] = [];
      let silent: ReturnType<typeof fleetStatus> = [];
      try {
        // pushes queued but not recorded yet (the drain died, or is behind) first: their hosts are not
        // silent; what cannot be recorded stays queued and is said once, by deliverCentral below
        drainQueue(gitdir);
        const rows = fleetStatus(gitdir, after);
        silent = rows.filter((r) => r.silent);
        const told = await tellSilence(gitdir, new Spool(settings.spoolDir), rows, argv['silent-after'] ?? span(after));
        raised = told.raised;
        problems.push(...told.problems);
      } finally {
        lock.release();
      }
      const report = await deliverCentral(gitdir, settings, { interval: ctx.loaded.config.fleetMailInterval, silentAfterMs: after });
      if (problems.length) recordCentralProblems(gitdir, [...problems, ...report.problems]);
      // anything not spooled or not delivered is kept and retried; the exit says it is not done
      for (const p of [...problems, ...report.problems]) process.stderr.write(`lsm: ${p}\n`);
      if (problems.length || report.problems.length) process.exitCode = EXIT.FAILURE;
      if (argv.json) json({ silent: silent.map((r) => r.host), raised });
      else if (silent.length) out(`${silent.length} silent host${silent.length === 1 ? '' : 's'}: ${silent.map((r) => r.host).join(', ')}${raised ? ` (${raised} alerted now)` : ''}`);
    },
  },
  where, log, blame, diff,
  {
    command: 'reindex',
    describe: 'rebuild the fleet index from the host branches (a host whose index is proven at its tip from its own files)',
    builder: (y: Argv) => y.options({ full: { type: 'boolean', default: false, describe: 'read every host from git, even one whose index is proven' } }),
    handler: async (argv: FleetArgv) => {
      const r = await reindex(fleetGitdir(argv), { full: argv.full === true });
      for (const line of r.movedAside) warn(line);
      out(`${r.hosts} hosts indexed`);
    },
  },
  {
    command: 'verify',
    describe: "check the fleet index against the host branches: every file's proof against the refs and its bytes",
    builder: (y: Argv) => y.options({ full: { type: 'boolean', default: false, describe: 'also rebuild every host from git and compare every byte' } }),
    handler: async (argv: FleetArgv) => {
      const problems = await verifyIndex(fleetGitdir(argv), { full: argv.full === true });
      for (const p of problems) out(p);
      if (problems.length) { out('lsm fleet reindex rebuilds the index'); process.exitCode = EXIT.FAILURE; } else out('index agrees with the branches');
    },
  },
];

const command: CommandModule<GlobalArgs, Args> = {
  command: 'fleet <command>',
  describe: 'many hosts: set up the central repository, and ask it questions',
  builder: (y) => y.options(fleetOption).command(subcommands).demandCommand(1, 'name a fleet command (lsm fleet --help lists them)'),
  handler: () => {},
};
export default command;
