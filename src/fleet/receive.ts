// Server side, post-receive: record when each host pushed, index what arrived, and spool one
// central alert per new commit through the alert pipeline (spool first, never lost), so a host
// whose own mail was silenced still reports here.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lockRepository, type Lock } from '../store/lock.js';
import type { AlertSettings, DeliveryReport } from '../alert/index.js';
import { atomicFs } from '../store/atomic-fs.js';
import type { Repo } from '../store/repo.js';
import { fleetRefs, markSeen, recordPush, updateHostIndex } from './catalog.js';
import { ZERO, type RefUpdate } from './guard.js';
import { baselineOfRef, hostOfRef } from './names.js';

const MAX_ALERTS_PER_PUSH = 1000;

export function bareRepo(gitdir: string): Repo {
  return { dir: gitdir, gitdir, fs: atomicFs(gitdir), cache: {} };
}

export interface ReceiveReport { indexed: string[]; spooled: number; problems: string[] }

/** After a push: index, and spool an alert per new commit. `alerts` null: index only. */
export async function received(gitdir: string, updates: RefUpdate[], user: string, alerts: Omit<AlertSettings, 'host' | 'repoDir'> | null, now = Date.now()): Promise<ReceiveReport> {
  const report: ReceiveReport = { indexed: [], spooled: 0, problems: [] };
  const repo = bareRepo(gitdir);
  const refs = fleetRefs(gitdir); // after the push: the hosts' tips and baselines as they are now
  // a baseline pushed: the host's drift is derived again (its commits are indexed already)
  for (const u of updates) {
    const host = baselineOfRef(u.ref);
    const tip = host === null ? undefined : refs.tips.get(host);
    if (host === null || u.new === ZERO || tip === undefined || updates.some((o) => hostOfRef(o.ref) === host)) continue;
    markSeen(gitdir, host, now);
    try {
      updateHostIndex(gitdir, host, tip, null, refs.baselines.get(host) ?? null);
      report.indexed.push(host);
    } catch (err) {
      report.problems.push(`index of hosts/${host}: ${(err as Error).message} (lsm fleet reindex rebuilds it)`);
    }
  }
  for (const u of updates) {
    const host = hostOfRef(u.ref);
    if (host === null || u.new === ZERO) continue;
    markSeen(gitdir, host, now);
    if (u.old === u.new) continue; // a heartbeat: the host lives, nothing new
    recordPush(gitdir, { t: now, host, old: u.old, new: u.new, user });
    try {
      updateHostIndex(gitdir, host, u.new, now, refs.baselines.get(host) ?? null);
      report.indexed.push(host);
    } catch (err) {
      report.problems.push(`index of hosts/${host}: ${(err as Error).message} (lsm fleet reindex rebuilds it)`);
    }
    if (!alerts) continue;
    const range = u.old === ZERO ? [u.new] : [u.new, '--not', u.old];
    const r = spawnSync('git', ['rev-list', '--reverse', '--first-parent', `--max-count=${MAX_ALERTS_PER_PUSH}`, ...range], { cwd: gitdir, encoding: 'utf8', env: { ...process.env, GIT_DIR: gitdir } });
    // the alert pipeline is loaded only when a change arrived: a heartbeat push stays light
    const [{ buildAlert }, { Spool }, { commitChange, snapshotFiles, unifiedDiff }] = await Promise.all([import('../alert/message.js'), import('../alert/spool.js'), import('../store/history.js')]);
    const spool = new Spool(alerts.spoolDir);
    for (const oid of r.stdout.split('\n').filter(Boolean)) {
      try {
        if (spool.has(`${oid}-fleet-host-${host}`)) continue;
        const change = await commitChange(repo, oid);
        if (change.parent === null) continue; // a host's first snapshot is its starting point, not a change
        const diff = unifiedDiff(await snapshotFiles(repo, change.parent), await snapshotFiles(repo, oid));
        // two hosts can make the same commit (same snapshot, same second): the id names the host too
        const alert = { ...buildAlert(change, null, diff, host, `${gitdir} (branch hosts/${host})`), id: `${oid}-fleet-host-${host}` };
        if (await spool.add(alert)) report.spooled++;
      } catch (err) {
        report.problems.push(`alert for hosts/${host} ${oid.slice(0, 10)}: ${(err as Error).message}`);
      }
    }
  }
  return report;
}

/**
 * Deliver the central spool. Hosts push at once: deliveries take turns (or two would send the same
 * alert), and run after the push has returned (the hook starts them apart), so a slow mail server
 * never holds a host's push.
 */
export async function deliverCentral(gitdir: string, alerts: Omit<AlertSettings, 'host' | 'repoDir'>): Promise<DeliveryReport> {
  const lock = await lockCentral(gitdir);
  try {
    const { deliver } = await import('../alert/index.js');
    return await deliver({ ...alerts, host: '', repoDir: gitdir });
  } finally {
    lock.release();
  }
}

export async function lockCentral(gitdir: string): Promise<Lock> {
  mkdirSync(join(gitdir, 'lsm'), { recursive: true });
  return lockRepository(join(gitdir, 'lsm'), 120_000);
}
