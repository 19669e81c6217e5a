// lsm fleet: the central repository's side. init sets it up; guard and receive are its git hooks;
// status, where, log, blame, diff answer questions across hosts; check alerts on silent hosts;
// reindex and verify rebuild and check the derived index.
import type { Argv, CommandModule } from 'yargs';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Spool } from '../alert/spool.js';
import type { Alert } from '../alert/message.js';
import { parseDuration } from '../duration.js';
import { EXIT, LsmError } from '../errors.js';
import { reindex, verifyIndex } from '../fleet/catalog.js';
import { guard, parseUpdates } from '../fleet/guard.js';
import { fleetBlame, fleetDiff, fleetLog, fleetStatus, fleetWhere } from '../fleet/questions.js';
import { deliverCentral, lockCentral, received } from '../fleet/receive.js';
import { initServer } from '../fleet/server.js';
import { alertSettings, context, type GlobalArgs } from './context.js';
import { parseTime } from './log.js';
import { out } from './output.js';

interface Args extends GlobalArgs { fleet?: string; json?: boolean }

/** The central repository's git directory: bare (DIR) or a clone's DIR/.git. */
function fleetGitdir(argv: Args): string {
  const dir = resolve(argv.fleet || process.env.LSM_FLEET || process.env.GIT_DIR || '.');
  if (existsSync(join(dir, 'HEAD')) && existsSync(join(dir, 'objects'))) return dir;
  if (existsSync(join(dir, '.git', 'HEAD'))) return join(dir, '.git');
  throw new LsmError(`${dir} is not a fleet repository (lsm fleet init makes one; --fleet DIR or LSM_FLEET names it)`, EXIT.USAGE);
}

const readStdin = () => readFileSync(0, 'utf8');
const json = (v: unknown) => out(JSON.stringify(v));

function silentAfter(argv: FleetArgv, ctxInterval: string): number {
  const text = argv['silent-after'] ?? `${3 * (parseDuration(ctxInterval) ?? 600_000) / 60_000}m`;
  const ms = parseDuration(text);
  if (ms === null) throw new LsmError(`--silent-after must be a duration like 30m or 2h, not '${text}'`, EXIT.USAGE);
  return ms;
}

const fleetOption = { fleet: { type: 'string', requiresArg: true, describe: 'the central repository (env LSM_FLEET; default: the current directory)' } } as const;
const jsonOption = { json: { type: 'boolean', describe: 'print JSON' } } as const;

type Sub = CommandModule<Args, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
// yargs types each builder's options; one loose shape here keeps the table short
type FleetArgv = Args & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const subcommands: Sub[] = [
  {
    command: 'init <dir>',
    describe: 'make DIR a bare repository ready to serve hosts (hooks installed) and print the web server configuration',
    builder: (y: Argv) => y.positional('dir', { type: 'string' }).options({
      listen: { type: 'string', default: '0.0.0.0', describe: 'address the web server binds' },
      port: { type: 'number', default: 8080, describe: 'port the web server listens on' },
      htpasswd: { type: 'string', default: '/etc/lsm/fleet.htpasswd', describe: 'basic-auth users (htpasswd -B FILE HOST_ID for each host)' },
      'web-user': { type: 'string', describe: 'the user the web server runs as (owns DIR)' },
    }),
    handler: (argv: FleetArgv) => {
      out(initServer(argv.dir, { config: argv.config, listen: argv.listen, port: argv.port, htpasswd: argv.htpasswd, user: argv['web-user'] }).trimEnd());
    },
  },
  {
    command: 'guard',
    describe: "pre-receive hook: refuse non-fast-forwards, deletions, pushes to another host's branch, non-snapshots",
    handler: (argv: FleetArgv) => {
      const problems = guard(fleetGitdir(argv), parseUpdates(readStdin()), process.env.REMOTE_USER || undefined);
      for (const p of problems) process.stderr.write(`lsm fleet guard: ${p}\n`);
      if (problems.length) process.exitCode = EXIT.FAILURE;
    },
  },
  {
    command: 'receive',
    describe: 'post-receive hook: index what arrived and spool a central alert per host change',
    handler: async (argv: FleetArgv) => {
      const gitdir = fleetGitdir(argv);
      const ctx = context(argv);
      const { host: _h, repoDir: _r, ...alerts } = alertSettings(ctx);
      const r = await received(gitdir, parseUpdates(readStdin()), process.env.REMOTE_USER ?? '', alerts);
      for (const p of r.problems) process.stderr.write(`lsm fleet: ${p}\n`);
      // delivery in a process of its own, not holding the pushing host's request open
      if (r.spooled) spawn(process.execPath, [process.argv[1], 'fleet', 'deliver', '--fleet', gitdir], { detached: true, stdio: 'ignore' }).unref();
    },
  },
  {
    command: 'deliver',
    describe: 'deliver the central alerts waiting in the spool (the post-receive hook starts it)',
    handler: async (argv: FleetArgv) => {
      const { host: _h, repoDir: _r, ...alerts } = alertSettings(context(argv));
      const report = await deliverCentral(fleetGitdir(argv), alerts);
      for (const p of report.problems) process.stderr.write(`lsm: ${p}\n`);
    },
  },
  {
    command: 'status',
    describe: 'every host: last push, last change, sockets now, and whether it fell silent',
    builder: (y: Argv) => y.options({ ...jsonOption, 'silent-after': { type: 'string', describe: 'silent: no push for this long (default: 3 x INTERVAL)' } }),
    handler: (argv: FleetArgv) => {
      const rows = fleetStatus(fleetGitdir(argv), silentAfter(argv, context(argv).loaded.config.interval));
      if (argv.json) return json({ hosts: rows });
      out('HOST  LAST SEEN  LAST CHANGE  CHANGES  SOCKETS');
      for (const r of rows) {
        out(`${r.host}  ${r.lastSeen ?? '-'}  ${r.lastChange ?? '-'}  ${r.changes}  ${Object.entries(r.sockets).map(([k, n]) => `${k}=${n}`).join(',') || '-'}${r.silent ? '  SILENT' : ''}`);
      }
      const silent = rows.filter((r) => r.silent).length;
      out(`${rows.length} hosts, ${silent} silent`);
    },
  },
  {
    command: 'check',
    describe: 'alert on silent hosts (a dead-man switch, for cron on the server) and deliver central alerts',
    builder: (y: Argv) => y.options({ ...jsonOption, 'silent-after': { type: 'string', describe: 'silent: no push for this long (default: 3 x INTERVAL)' } }),
    handler: async (argv: FleetArgv) => {
      const gitdir = fleetGitdir(argv);
      const ctx = context(argv);
      const settings = alertSettings(ctx);
      const after = silentAfter(argv, ctx.loaded.config.interval);
      // once per silence, also when two checks run at once
      const lock = await lockCentral(gitdir);
      let raised = 0;
      let silent: ReturnType<typeof fleetStatus> = [];
      try {
        silent = fleetStatus(gitdir, after).filter((r) => r.silent);
        const spool = new Spool(settings.spoolDir);
        mkdirSync(join(gitdir, 'lsm', 'silent-alerted'), { recursive: true });
        for (const r of silent) {
          const marker = join(gitdir, 'lsm', 'silent-alerted', r.host);
          const key = r.lastSeen ?? 'never';
          if (existsSync(marker) && readFileSync(marker, 'utf8') === key) continue;
          await spool.add({
            id: `${r.tip}-fleet-silent-${r.host}-${Date.parse(key) || 0}`, commit: r.tip, parent: null, host: r.host, time: Date.now(),
            summary: `SILENT HOST ${r.host}: no push since ${key} (more than ${argv['silent-after'] ?? `${after / 60_000}m`}): lsm stopped, the host is down, or its root stopped pushing`,
            added: [], removed: [], diff: '', repo: `${gitdir} (branch hosts/${r.host})`,
          } satisfies Alert);
          writeFileSync(marker, key);
          raised++;
        }
      } finally {
        lock.release();
      }
      const report = await deliverCentral(gitdir, settings);
      for (const p of report.problems) process.stderr.write(`lsm: ${p}\n`);
      if (argv.json) json({ silent: silent.map((r) => r.host), raised });
      else if (silent.length) out(`${silent.length} silent host${silent.length === 1 ? '' : 's'}: ${silent.map((r) => r.host).join(', ')}${raised ? ` (${raised} alerted now)` : ''}`);
    },
  },
  {
    command: 'where <what>',
    describe: 'which hosts have a matching socket now, and since when (a port, 4444/tcp, an address:port, a path, any text)',
    builder: (y: Argv) => y.positional('what', { type: 'string' }).options(jsonOption),
    handler: (argv: FleetArgv) => {
      const hits = fleetWhere(fleetGitdir(argv), String(argv.what));
      if (argv.json) return json({ what: argv.what, hits });
      for (const h of hits) out(`${h.host}  ${h.path}  ${h.line}  since ${h.since}`);
      if (!hits.length) out(`no host has ${argv.what} now`);
    },
  },
  {
    command: 'log',
    describe: 'one timeline of changes across hosts, oldest first',
    builder: (y: Argv) => y.options({ ...jsonOption, since: { type: 'string', describe: "only changes after this time (2026-11-01, '3 days ago', 1d)" }, host: { type: 'string', describe: 'one host only' }, grep: { type: 'string', describe: 'only changes that added or removed a matching line' } }),
    handler: (argv: FleetArgv) => {
      const entries = fleetLog(fleetGitdir(argv), { since: argv.since ? parseTime(argv.since) : undefined, host: argv.host, grep: argv.grep });
      if (argv.json) return json({ changes: entries });
      for (const e of entries) out(`${e.time}  ${e.host}  ${e.commit.slice(0, 10)}  ${e.summary}`);
    },
  },
  {
    command: 'blame <what>',
    describe: 'every interval a matching socket was present, on every host',
    builder: (y: Argv) => y.positional('what', { type: 'string' }).options(jsonOption),
    handler: (argv: FleetArgv) => {
      const entries = fleetBlame(fleetGitdir(argv), String(argv.what));
      if (argv.json) return json({ what: argv.what, lines: entries });
      for (const e of entries) {
        out(`${e.host}  ${e.path}  ${e.line}`);
        for (const i of e.intervals) out(`  ${i.from} (${i.fromCommit.slice(0, 10)}) .. ${i.to ? `${i.to} (${i.toCommit!.slice(0, 10)})` : 'now'}`);
      }
    },
  },
  {
    command: 'diff <a> <b>',
    describe: "two hosts' current snapshots: what only one of them has",
    builder: (y: Argv) => y.positional('a', { type: 'string' }).positional('b', { type: 'string' }).options(jsonOption),
    handler: (argv: FleetArgv) => {
      const d = fleetDiff(fleetGitdir(argv), String(argv.a), String(argv.b));
      if (!d) throw new LsmError(`no such host: ${argv.a} or ${argv.b} (lsm fleet status lists them)`, EXIT.USAGE);
      if (argv.json) return json(d);
      for (const f of d.files) {
        out(`${f.path}`);
        for (const l of f.onlyA) out(`  < ${d.a}  ${l}`);
        for (const l of f.onlyB) out(`  > ${d.b}  ${l}`);
      }
    },
  },
  {
    command: 'reindex',
    describe: 'rebuild the fleet index from the host branches',
    handler: (argv: FleetArgv) => { out(`${reindex(fleetGitdir(argv))} hosts indexed`); },
  },
  {
    command: 'verify',
    describe: 'check the fleet index against the host branches',
    handler: (argv: FleetArgv) => {
      const problems = verifyIndex(fleetGitdir(argv));
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
