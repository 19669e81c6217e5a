// lsm fleet status / where / log / blame / diff: the questions asked of the central repository.
// Apart from fleet.ts (whose hooks load the alert pipeline) so that the fast path (fast-path.ts)
// runs them loading only the index's reader: node's start is most of what they cost.
import type { Argv, CommandModule } from 'yargs';
import { parseDuration, parseTime } from '../duration.js';
import { EXIT, LsmError } from '../errors.js';
import { centralFailing } from '../fleet/central-state.js';
import { pendingMail } from '../fleet/digest.js';
import { fleetBlame, fleetDiff, fleetLog, fleetStatus, fleetWhere } from '../fleet/questions.js';
import { readOnlyConfig } from '../run/settings.js';
import { fleetGitdir } from './fleet-gitdir.js';
import type { GlobalArgs } from './global-options.js';
import { json as jsonText } from './json.js';
import { duration, time } from './option-check.js';
import { out } from './output.js';

export interface FleetArgs extends GlobalArgs { fleet?: string; json?: boolean }
// yargs types each builder's options; one loose shape here keeps the table short
export type FleetArgv = FleetArgs & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Sub = CommandModule<FleetArgs, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function silentAfter(argv: FleetArgv, ctxInterval: string): number {
  const text = argv['silent-after'] ?? `${3 * (parseDuration(ctxInterval) ?? 600_000) / 60_000}m`;
  const ms = parseDuration(text);
  if (ms === null) throw new LsmError(`--silent-after must be a duration like 30m or 2h, not '${text}'`, EXIT.USAGE);
  return ms;
}

export const fleetOption = { fleet: { type: 'string', requiresArg: true, describe: 'the central repository (env LSM_FLEET; default: the current directory)' } } as const;
export const jsonOption = { json: { type: 'boolean', describe: 'print JSON' } } as const;
const json = (v: object) => out(jsonText(v)); // { schema, ... } as every --json

export const statusOptions = { ...jsonOption, 'silent-after': { type: 'string', coerce: duration(1, 366 * 864e5), describe: 'silent: no push for this long (default: 3 x INTERVAL)' } } as const;
export const status: Sub = {
  command: 'status',
  describe: 'every host: last push, last change, sockets now, drift from its baseline, and whether it fell silent',
  builder: (y: Argv) => y.options(statusOptions),
  handler: (argv: FleetArgv) => {
    const gitdir = fleetGitdir(argv);
    const { config } = readOnlyConfig(argv);
    const rows = fleetStatus(gitdir, silentAfter(argv, config.interval));
    const failing = centralFailing(gitdir);
    // changes held for a host's next central mail (one a host every FLEET_MAIL_INTERVAL): shown, never silent
    const held = pendingMail(gitdir, config.fleetMailInterval);
    const central = failing && { failingSince: new Date(failing.since).toISOString(), problems: failing.problems };
    // central alerts not spooled or delivered: the answer is given, and its exit says the server is not doing its job
    if (central) process.exitCode = EXIT.FAILURE;
    if (argv.json) {
      if (central) process.stderr.write(`lsm: central alerts failing since ${central.failingSince}: ${central.problems[0]}; lsm fleet check retries\n`);
      return json({ hosts: rows, central, heldMail: held });
    }
    out('HOST  LAST SEEN  LAST CHANGE  CHANGES  SOCKETS  DRIFT');
    for (const r of rows) {
      // drift from the host's pushed baseline: lines now and not approved, and approved but gone
      const drift = r.drift ? `+${r.drift.added.length} -${r.drift.removed.length}` : '-';
      out(`${r.host}  ${r.lastSeen ?? '-'}  ${r.lastChange ?? '-'}  ${r.changes}  ${Object.entries(r.sockets).map(([k, n]) => `${k}=${n}`).join(',') || '-'}  ${drift}${r.silent ? '  SILENT' : ''}${r.clockOff ? `  (host clock: ${r.lastChangeCommitted})` : ''}`);
    }
    const silent = rows.filter((r) => r.silent).length;
    out(`${rows.length} hosts, ${silent} silent`);
    for (const h of held) out(`central mail: ${h.changes} change${h.changes === 1 ? '' : 's'} of ${h.host} held for one digest (since ${h.oldest}), sent by the first drain or lsm fleet check after ${h.sendAfter}`);
    if (central) out(`central alerts: failing since ${central.failingSince}: ${central.problems[0]}${central.problems.length > 1 ? ` (and ${central.problems.length - 1} more)` : ''}; lsm fleet check retries`);
  },
};

export const whereOptions = jsonOption;
export const where: Sub = {
  command: 'where <what>',
  describe: 'which hosts have a matching socket now, and since when (a port, 4444/tcp, an address:port, a path, any text)',
  builder: (y: Argv) => y.positional('what', { type: 'string' }).options(whereOptions),
  handler: (argv: FleetArgv) => {
    const hits = fleetWhere(fleetGitdir(argv), String(argv.what));
    if (argv.json) return json({ what: argv.what, hits });
    for (const h of hits) out(`${h.host}  ${h.path}  ${h.line}  since ${h.since}`);
    if (!hits.length) out(`no host has ${argv.what} now`);
  },
};

export const logOptions = { ...jsonOption, since: { type: 'string', coerce: time, describe: "only changes after this time (2026-11-01, '3 days ago', 1d)" }, host: { type: 'string', describe: 'one host only' }, grep: { type: 'string', describe: 'only changes that added or removed a matching line' } } as const;
export const log: Sub = {
  command: 'log',
  describe: 'one timeline of changes across hosts, oldest first',
  builder: (y: Argv) => y.options(logOptions),
  handler: (argv: FleetArgv) => {
    const entries = fleetLog(fleetGitdir(argv), { since: argv.since ? parseTime(argv.since) : undefined, host: argv.host, grep: argv.grep });
    if (argv.json) return json({ changes: entries });
    // the server's time first; the host's own beside it when they are more than a day apart
    for (const e of entries) out(`${e.time}  ${e.host}  ${e.commit.slice(0, 10)}  ${e.summary}${e.clockOff ? `  (host clock: ${e.committed})` : ''}`);
  },
};

export const blame: Sub = {
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
};

export const diff: Sub = {
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
};

/** For the fast path: the questions asked most, with their options (as the fleet command's builder gives them). */
export const FAST: Record<string, { default: Sub; options: Record<string, unknown> }> = {
  status: { default: status, options: { ...fleetOption, ...statusOptions } },
  where: { default: where, options: { ...fleetOption, ...whereOptions } },
  log: { default: log, options: { ...fleetOption, ...logOptions } },
};
