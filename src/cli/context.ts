// What every command shares: the global options resolved (repository, config, /proc root: from
// global-options.ts) and the scan pipeline wired stage by stage: collect -> snapshot -> store -> alert.
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { deliver, firstTimeUnconfigured, spoolPending, type AlertSettings, type DeliveryReport } from '../alert/index.js';
import { qualified } from '../alert/mail.js';
import { collect } from '../collect/index.js';
import { EXIT, LsmError, systemIoError } from '../errors.js';
import { checkRunPaths, readChecked } from '../safe-path.js';
import { parseIgnoreRules, type IgnoreRule } from '../snapshot/ignore.js';
import { snapshotLines, type SnapshotLine } from '../snapshot/index.js';
import { recordable, recordableState } from '../snapshot/select.js';
import { commitSnapshot } from '../store/commit.js';
import type { Change, Collection, Snapshot } from '../types.js';
import { crashPoint } from '../testing/crash-point.js';
import { defaultRepo, type Context } from './global-options.js';

export { context, defaultRepo, type Context, type GlobalArgs } from './global-options.js';

export function ignoreRules(ctx: Context): IgnoreRule[] {
  const file = ctx.loaded.config.ignoreFile;
  let text: string;
  try {
    text = readChecked(file); // checked with its directories by context()
  } catch (err) {
    if (err instanceof LsmError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && ctx.loaded.sources.IGNORE_FILE === 'default') return [];
    throw new LsmError(`cannot read ignore rules ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, EXIT.USAGE);
  }
  return parseIgnoreRules(text, file);
}

export interface ScanResult {
  collection: Collection;
  snapshot: Snapshot;
  lines: Map<string, SnapshotLine[]>;
  change: Change | null;
}

/** The sockets now: what a snapshot records, or with `all` every socket. */
export function collectNow(ctx: Context, options: { established?: boolean; all?: boolean } = {}): Collection {
  const established = options.established ?? ctx.loaded.config.established;
  return collect({
    procRoot: ctx.procRoot,
    keep: options.all ? undefined : (s) => recordable(s, { established }),
    keepState: options.all ? undefined : (kind, state) => recordableState(kind, state, { established }),
  });
}

export function takeSnapshot(ctx: Context, options: { established?: boolean } = {}): { collection: Collection; snapshot: Snapshot; lines: Map<string, SnapshotLine[]> } {
  const established = options.established ?? ctx.loaded.config.established;
  const collection = collectNow(ctx, { established });
  const lines = snapshotLines(collection, { established, ignore: ignoreRules(ctx) });
  const snapshot: Snapshot = new Map([...lines].map(([path, l]) => [path, l.map((x) => x.line)]));
  return { collection, snapshot, lines };
}

export function alertSettings(ctx: Context): AlertSettings {
  const c = ctx.loaded.config;
  // another repository than the default one (--repo, LSM_REPO) keeps its spool and event log in
  // its own .git/lsm unless the config names them: two monitored repositories never cross
  const own = resolve(ctx.repoDir) !== resolve(defaultRepo());
  const inRepo = (key: string) => own && ctx.loaded.sources[key] === 'default';
  const spoolDir = inRepo('SPOOL_DIR') ? join(ctx.repoDir, '.git', 'lsm', 'spool') : c.spoolDir;
  const eventLog = inRepo('EVENT_LOG') && c.eventLog !== '' ? join(ctx.repoDir, '.git', 'lsm', 'events.jsonl') : c.eventLog;
  // context() checked the configured ones; these are the ones used
  if (spoolDir !== c.spoolDir || eventLog !== c.eventLog) checkRunPaths({ config: null, ignoreFile: c.ignoreFile, hooksDir: c.hooksDir, repoDir: ctx.repoDir, spoolDir, eventLog, sendmail: '' });
  return {
    repoDir: ctx.repoDir, host: hostname(), hooksDir: c.hooksDir, spoolDir, eventLog, repoFlag: own,
    mail: { to: c.smtpUrl ? c.user.map(qualified) : c.user, from: c.from, subject: c.subject, smtpUrl: c.smtpUrl, sendmail: c.sendmail, insecure: c.smtpInsecure },
  };
}

/** Deliver what the spool holds; delivery trouble is reported on stderr, and an event log that cannot record fails the command. */
export async function flushAlerts(ctx: Context, options: { force?: boolean; retryDead?: boolean } = {}): Promise<DeliveryReport> {
  const settings = alertSettings(ctx);
  const report = await deliver(settings, options);
  for (const p of report.problems) process.stderr.write(`lsm: ${p}\n`);
  if (report.unrecorded) process.exitCode = EXIT.FAILURE; // said above; the spool keeps them
  if (report.mailUnconfigured && firstTimeUnconfigured(settings.spoolDir)) {
    process.stderr.write(`lsm: no mail delivery: no sendmail on this machine and no SMTP_URL in the config; alerts stay in ${settings.spoolDir} (lsm status shows them). Set SMTP_URL or SENDMAIL, then run lsm flush\n`);
  }
  return report;
}

/** One scan: collect, snapshot, commit when something differs, then spool and deliver its alert. */
export async function scan(ctx: Context, options: { established?: boolean; alert?: boolean } = {}): Promise<ScanResult> {
  const { collection, snapshot, lines } = takeSnapshot(ctx, options);
  const change = await commitSnapshot(ctx.repoDir, snapshot);
  if (change) crashPoint('after-commit');
  if (options.alert !== false) {
    try {
      for (const note of (await spoolPending(alertSettings(ctx), lines)).notes) process.stderr.write(`lsm: ${note}\n`);
    } catch (err) {
      if (err instanceof LsmError && err.exitCode === EXIT.USAGE) throw err; // a spool lsm refuses to use
      // the change is committed; the next run spools it (refs/lsm/alerted stays behind)
      process.stderr.write(`lsm: cannot spool the alert: ${(systemIoError(err) as Error).message}\n`);
      process.exitCode = EXIT.FAILURE; // (a full disk: README's exit 1)
    }
    try {
      await flushAlerts(ctx);
    } catch (err) {
      process.stderr.write(`lsm: alert delivery failed: ${(err as Error).message}\n`);
    }
  }
  // fleet: after local alerts, so a slow or down server never delays them
  if (ctx.loaded.config.remote) await (await import('./fleet-push.js')).pushFleet(ctx).catch((err: Error) => process.stderr.write(`lsm: fleet push: ${err.message}\n`));
  return { collection, snapshot, lines, change };
}
