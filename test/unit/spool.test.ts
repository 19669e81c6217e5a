// The spool on a real directory: each alert beside a small state file, entries from before the
// split still delivered, and a backlog that cannot be delivered costs a run its states only.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver, spoolSummary, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { Spool } from '../../src/alert/spool.js';

const alert = (n: number): Alert => ({
  id: String(n).padStart(40, 'c'), commit: String(n).padStart(40, 'c'), parent: null, host: 'web1', time: 1_700_000_000_000 + n,
  summary: `+1 -0: host/tcp +1`, added: [{ path: 'host/tcp', line: `0.0.0.0:${n}  nc  root  /usr/bin/nc`, owners: [] }], removed: [], diff: '', repo: '/r',
});

function settings(dir: string, eventLog = ''): AlertSettings {
  return { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog, hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: '' } };
}

describe('the spool', () => {
  it('keeps each alert beside its state, and a backlog with no mail reads no alert', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-spool-'));
    const s = settings(dir);
    const spool = new Spool(s.spoolDir);
    for (let n = 1; n <= 5; n++) expect(await spool.add(alert(n))).toBe(true);
    expect(await spool.add(alert(3))).toBe(false); // once per id
    expect(readdirSync(s.spoolDir).filter((f) => !f.startsWith('.')).map((f) => f.replace(/^.*\./, '')).sort()).toEqual([...Array(5).fill('json'), ...Array(5).fill('state')]);

    // alerts that could not even be parsed: a run that read them would fail
    for (const f of readdirSync(s.spoolDir).filter((f) => f.endsWith('.json'))) writeFileSync(join(s.spoolDir, f), 'not json');
    for (let run = 0; run < 3; run++) {
      const report = await deliver(s);
      expect(report).toMatchObject({ delivered: 0, pending: 5, dead: 0, mailUnconfigured: true });
    }
    expect(spoolSummary(s.spoolDir)).toMatchObject({ pending: 5, dead: 0 });
  });

  it('delivers an entry spooled before states were kept apart, and one whose state a kill did not write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-spool-'));
    const s = settings(dir, join(dir, 'events.jsonl'));
    expect(new Spool(s.spoolDir).list()).toEqual([]); // no spool yet
    mkdirSync(s.spoolDir, { recursive: true });
    const fresh = { done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null };
    writeFileSync(join(s.spoolDir, `00001700000000001-000000-${alert(1).id}.json`), JSON.stringify({ alert: alert(1), channels: { eventlog: fresh, hooks: { ...fresh, done: true }, mail: { ...fresh, done: true } } }));
    writeFileSync(join(s.spoolDir, `00001700000000002-000000-${alert(2).id}.json`), JSON.stringify({ alert: alert(2) }));
    writeFileSync(join(s.spoolDir, `00001700000000000-000000-${alert(9).id}.state`), JSON.stringify({})); // its alert was delivered
    const entries = new Spool(s.spoolDir).list();
    expect(entries.map((e) => [e.commit, e.channels.mail.done])).toEqual([[alert(1).commit, true], [alert(2).commit, false]]);
    expect(readdirSync(s.spoolDir).some((f) => f.includes(alert(9).id))).toBe(false); // the orphan state is swept
    const report = await deliver(s);
    // the old entry's last channel (the event log) is done now, so it leaves; the other waits for mail
    expect(report).toMatchObject({ delivered: 1, pending: 1 });
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).commit)).toEqual([alert(1).commit, alert(2).commit]);
  });
});
