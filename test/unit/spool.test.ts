// The spool on a real directory: each alert beside a small state file, entries from before the
// split still delivered, and a backlog that cannot be delivered costs a run its states only.
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver, spoolSummary, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { Spool } from '../../src/alert/spool.js';
import { appendEvent, appendNotice, lastEventId } from '../../src/alert/eventlog.js';

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
    const entries = new Spool(s.spoolDir).list({ clean: true });
    expect(entries.map((e) => [e.commit, e.channels.mail.done])).toEqual([[alert(1).commit, true], [alert(2).commit, false]]);
    expect(readdirSync(s.spoolDir).some((f) => f.includes(alert(9).id))).toBe(false); // the orphan state is swept
    const report = await deliver(s);
    // the old entry's last channel (the event log) is done now, so it leaves; the other waits for mail
    expect(report).toMatchObject({ delivered: 1, pending: 1 });
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).commit)).toEqual([alert(1).commit, alert(2).commit]);
  });

  it('moves what is not a valid entry to quarantine, reports it, and still delivers the valid alerts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-spool-'));
    const s = settings(dir, join(dir, 'events.jsonl'));
    const spool = new Spool(s.spoolDir);
    await spool.add(alert(1));
    writeFileSync(join(s.spoolDir, 'backup.json'), JSON.stringify({ alert: alert(5) })); // a stray copy
    writeFileSync(join(s.spoolDir, `00001700000000003-000000-${alert(3).id}.json`), '{"alert":{"id":"cc'); // truncated
    writeFileSync(join(s.spoolDir, `00001700000000004-000000-${alert(4).id}.json`), '{"alert":null}');
    mkdirSync(join(s.spoolDir, 'junk'));
    await spool.add(alert(6));
    const torn = readdirSync(s.spoolDir).find((f) => f.includes(alert(6).id) && f.endsWith('.json'))!;
    writeFileSync(join(s.spoolDir, torn.replace(/\.json$/, '.state')), '{"eventlog":'); // a damaged state: delivered again from scratch

    const report = await deliver(s);
    expect(report).toMatchObject({ delivered: 0, pending: 2, dead: 0, mailUnconfigured: true });
    const moved = report.problems.filter((p) => p.startsWith('spool: ')).sort();
    expect(moved).toHaveLength(5);
    expect(moved.join('\n')).toMatch(/backup\.json moved to .*quarantine: not a spool entry \(its name is not one lsm writes\)/);
    expect(moved.join('\n')).toMatch(new RegExp(`${alert(3).id}\\.json moved to .*: not a spool entry: `));
    expect(moved.join('\n')).toMatch(new RegExp(`${alert(4).id}\\.json moved to .*: not a spool entry: no alert in it`));
    expect(moved.join('\n')).toMatch(/junk moved to .*: a directory that lsm did not make/);
    expect(moved.join('\n')).toMatch(/\.state moved to .*damaged delivery state/);
    expect(readdirSync(join(s.spoolDir, 'quarantine'))).toHaveLength(5);
    // the valid alerts reached the event log, each once; the quarantine is there too
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.commit).map((l) => l.commit)).toEqual([alert(1).commit, alert(6).commit]);
    expect(lines.filter((l) => l.event === 'spool-quarantine')).toHaveLength(5);
    expect(spoolSummary(s.spoolDir)).toMatchObject({ pending: 2, quarantined: 4 });
    // a second run finds nothing more to move and writes no event twice
    const again = await deliver(s, { force: true });
    expect(again.problems.filter((p) => p.startsWith('spool: '))).toEqual([]);
    expect(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n')).toHaveLength(7);
  });

  it('writes an event line once even when a kill lost the record of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-spool-'));
    const log = join(dir, 'events.jsonl');
    const a = { ...alert(7), added: Array.from({ length: 5000 }, (_, i) => ({ path: 'host/unix', line: `/run/x${i}.sock  d  root  /d`, owners: [] })) };
    appendEvent(log, alert(6));
    appendEvent(log, a);
    expect(lastEventId(log)).toBe(a.id);
    appendEvent(log, a); // as the run after a kill between the append and the state would
    expect(readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([alert(6).id, a.id]);
  });

  it('writes it once also when other lines came after it: a notice, another repository sharing the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-spool-'));
    const log = join(dir, 'events.jsonl');
    const s = settings(dir, log);
    const spool = new Spool(s.spoolDir);
    for (const n of [1, 2, 3]) await spool.add(alert(n));
    appendEvent(log, alert(1)); // a run killed right after this append, before recording it
    appendNotice(log, { event: 'spool-quarantine', host: 'web1', file: 'x', reason: 'y', repo: '/r' });
    appendEvent(log, { ...alert(9), repo: '/other' });
    appendEvent(log, { ...alert(2), repo: '/other' }); // the same id, about another repository: not this one's line
    await deliver(s);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.id && l.id.replace(/^c+/, ''), l.repo])).toEqual([['1', '/r'], [null, '/r'], ['9', '/other'], ['2', '/other'], ['2', '/r'], ['3', '/r']]);
  });

  it("looks for it behind others' lines beyond the first 64 KiB it reads, up to 4 MiB from the end", () => {
    const log = join(mkdtempSync(join(tmpdir(), 'lsm-spool-')), 'events.jsonl');
    const other = (n: number, bytes: number): Alert => ({ ...alert(n), repo: '/other', added: [{ path: 'host/tcp', line: 'x'.repeat(bytes), owners: [] }] });
    const ids = () => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).id.replace(/^c+/, ''));
    appendEvent(log, alert(1));
    appendEvent(log, other(8, 64 * 1024)); // the line itself is longer than the first read
    appendEvent(log, other(9, 900 * 1024));
    appendEvent(log, alert(1));
    expect(ids()).toEqual(['1', '8', '9']);
    // now 4 MiB and more from the end: no longer found (an event line is bounded to 64 KiB and a
    // socket line in it to 8 KiB: 80 lines of seven 8 KiB sockets each)
    const wide = (n: number): Alert => ({ ...alert(n), repo: '/other', added: Array.from({ length: 7 }, (_, i) => ({ path: 'host/tcp', line: `${i}`.repeat(8000), owners: [] })) });
    const more = Array.from({ length: 80 }, (_, i) => 10 + i);
    for (const n of more) appendEvent(log, wide(n));
    appendEvent(log, alert(1));
    expect(ids()).toEqual(['1', '8', '9', ...more.map(String), '1']);
  });

  it('refuses an unsafe hook for the alert, and runs it once it is made safe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-spool-'));
    const s = settings(dir);
    mkdirSync(s.hooksDir);
    const ran = join(dir, 'ran');
    writeFileSync(join(s.hooksDir, '10-ok'), `#!/bin/sh\necho ok >> ${ran}.ok\n`, { mode: 0o755 });
    writeFileSync(join(s.hooksDir, '20-loose'), `#!/bin/sh\necho "$LSM_ID" >> ${ran}\n`, { mode: 0o755 });
    chmodSync(join(s.hooksDir, '20-loose'), 0o777);
    await new Spool(s.spoolDir).add(alert(1));
    const r1 = await deliver(s);
    expect(r1.problems).toContain(`hook ${join(s.hooksDir, '20-loose')} refused: writable by others (mode 777)`);
    expect(r1).toMatchObject({ dead: 1 });
    expect(existsSync(ran)).toBe(false);
    await deliver(s, { force: true });
    expect(existsSync(ran)).toBe(false); // still refused
    chmodSync(join(s.hooksDir, '20-loose'), 0o755);
    await deliver(s);
    expect(readFileSync(ran, 'utf8')).toBe(`${alert(1).id}\n`);
    expect(readFileSync(`${ran}.ok`, 'utf8')).toBe('ok\n'); // the other hook ran once, not again
    expect(spoolSummary(s.spoolDir)).toMatchObject({ dead: 0 });
  });
});
