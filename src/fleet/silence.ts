// The dead-man switch: a host that stopped pushing is told once per silence, in words of its own
// (it made no change: no '+0 -0', no 'recorded a change'), and its return is told once too.
// lsm/silent-alerted/<host> holds when the host was last seen as the silence was told.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { reason } from '../errors.js';
import type { Alert } from '../alert/message.js';
import type { Spool } from '../alert/spool.js';
import type { HostStatus } from './questions.js';

/** '45s', '12m', '2h', '3d': how long, at a glance. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function notice(gitdir: string, r: HostStatus, id: string, subject: string, text: string, now: number): Alert {
  return { id, commit: r.tip, parent: null, host: r.host, time: now, summary: subject, added: [], removed: [], diff: '', repo: `${gitdir} (branch hosts/${r.host})`, subject, notice: text };
}

/**
 * Spool a silence alert for each silent host not yet told of this silence, and a return alert for
 * each host told of one that pushes again. A marker moves only after its alert is spooled.
 */
export async function tellSilence(gitdir: string, spool: Spool, rows: HostStatus[], limit: string, now = Date.now()): Promise<{ raised: number; problems: string[] }> {
  const out = { raised: 0, problems: [] as string[] };
  const dir = join(gitdir, 'lsm', 'silent-alerted');
  mkdirSync(dir, { recursive: true });
  const look = `To look further:\n  lsm fleet status --fleet ${gitdir}\n  git --git-dir ${gitdir} log -1 hosts/`;
  for (const r of rows) {
    const marker = join(dir, r.host);
    const told = existsSync(marker) ? readFileSync(marker, 'utf8') : null;
    const seen = r.lastSeen === null ? null : Date.parse(r.lastSeen);
    let alert: Alert;
    if (r.silent) {
      const key = r.lastSeen ?? 'never';
      if (told === key) continue;
      const last = seen === null ? 'never pushed' : `last push ${r.lastSeen}`;
      const subject = `${r.host}: silent for ${seen === null ? 'ever' : span(now - seen)}, ${last}`;
      alert = notice(gitdir, r, `${r.tip}-fleet-silent-${r.host}-${seen ?? 0}`, subject,
        `SILENT HOST ${r.host}: no push to the fleet${seen === null ? ' ever' : ` since ${r.lastSeen} (${span(now - seen)})`}, more than ${limit}, not even a heartbeat. ` +
        `lsm stopped there, the host is down, or its root stopped pushing: nothing it does now is recorded here.\n` +
        `The fleet says when it pushes again.\n\n${look}${r.host}`, now);
      try { await spool.add(alert); } catch (err) { out.problems.push(`silent-host alert for ${r.host} not spooled in ${spool.dir} (retried next check): ${reason(err)}`); continue; }
      writeFileSync(marker, key);
    } else {
      if (told === null) continue;
      const since = told === 'never' ? 'its first push' : told;
      const subject = `${r.host}: pushing again, silent since ${since}`;
      alert = notice(gitdir, r, `${r.tip}-fleet-back-${r.host}-${seen ?? 0}`, subject,
        `${r.host} is pushing again (last seen ${r.lastSeen}), after a silence told since ${since}. What it recorded meanwhile, it pushed now: lsm fleet log --host ${r.host} shows it.\n\n${look}${r.host}`, now);
      try { await spool.add(alert); } catch (err) { out.problems.push(`return alert for ${r.host} not spooled in ${spool.dir} (retried next check): ${reason(err)}`); continue; }
      rmSync(marker, { force: true });
    }
    out.raised++;
  }
  return out;
}
