// The spool as a queue to trust, on real directories: what counts as an entry and what is moved to
// quarantine (with the reason a person reads), lsm's own files left alone, one spool per
// repository, what `lsm status` says about it, and mail through a sendmail stand-in that keeps what
// it is given (recipients already served are not mailed again; a failing sendmail is retried).
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { deliver, firstTimeUnconfigured, spoolSummary, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { Spool } from '../../src/alert/spool.js';
import { EXIT, LsmError } from '../../src/errors.js';
import { fakeSendmail } from '../helpers/config.js';

const T = Date.UTC(2026, 0, 1);
const id = (n: number) => String(n).padStart(40, 'e');
const alert = (n: number, extra: Partial<Alert> = {}): Alert => ({
  id: id(n), commit: id(n), parent: null, host: 'web1', time: T + n,
  summary: '+1 -0: host/tcp +1', added: [{ path: 'host/tcp', line: `0.0.0.0:${n}  nc  root  /usr/bin/nc`, owners: [] }], removed: [], diff: '', repo: '/r', ...extra,
});
const fresh = { done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null };

function setup(options: { sendmail?: boolean; eventLog?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mut-spool-'));
  const sm = fakeSendmail(dir);
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'a', 'b', 'spool'), eventLog: options.eventLog ? join(dir, 'var', 'log', 'lsm', 'events.jsonl') : '', hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['ops@example.org'], from: 'lsm@web1', subject: 'SUB', smtpUrl: '', sendmail: options.sendmail ? sm.path : '' } };
  const entries = () => readdirSync(s.spoolDir).filter((f) => f.endsWith('.json')).sort();
  const outbox = () => readdirSync(sm.outbox).sort().map((f) => readFileSync(join(sm.outbox, f)));
  return { dir, s, entries, outbox, sendmail: sm.path };
}

/** An entry as an older lsm (or a kill before its state) left it: the alert file alone. */
function oldEntry(dir: string, name: string, body: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
}

const entryName = (n: number, alertId = id(n)) => `${String(1_700_000_000_000 + n).padStart(14, '0')}-000000-${alertId}.json`;

describe('what the spool takes as an entry', () => {
  it('an entry whose content is not what its name says is moved to quarantine with the reason, and a notice logged; the valid ones are delivered', async () => {
    const { s, entries } = setup({ eventLog: true });
    const cases: [number, unknown, string][] = [
      [1, 3, 'not a JSON object'],
      [2, null, 'not a JSON object'],
      [3, { alert: 'x' }, 'no alert in it'],
      [4, { alert: alert(5) }, `its alert id "${id(5)}" does not match its name`],
      [5, { alert: { ...alert(5), id: id(5), commit: 'E'.repeat(40) } }, 'no commit id'],
      [6, { alert: { ...alert(6), commit: 6 } }, 'no commit id'],
      [7, { alert: { ...alert(7), summary: undefined } }, 'a field is missing'],
      [8, { alert: { ...alert(8), added: {} } }, 'a field is missing'],
      [9, { alert: { ...alert(9), removed: 'x' } }, 'a field is missing'],
      [10, { alert: { ...alert(10), diff: null } }, 'a field is missing'],
      // an entry from before states were kept apart: its channels must each be there, with done and attempts
      [11, { alert: alert(11), channels: 'x' }, 'state is not a JSON object'],
      [12, { alert: alert(12), channels: { eventlog: fresh, hooks: fresh } }, 'state has no valid mail channel'],
      [13, { alert: alert(13), channels: { eventlog: fresh, hooks: { ...fresh, done: 'no' }, mail: fresh } }, 'state has no valid hooks channel'],
      [14, { alert: alert(14), channels: { eventlog: { ...fresh, attempts: '0' }, hooks: fresh, mail: fresh } }, 'state has no valid eventlog channel'],
      [15, { alert: alert(15), channels: { eventlog: null, hooks: fresh, mail: fresh } }, 'state has no valid eventlog channel'],
    ];
    for (const [n, body] of cases) oldEntry(s.spoolDir, entryName(n), body);
    oldEntry(s.spoolDir, entryName(16), { alert: alert(16), channels: { eventlog: fresh, hooks: fresh, mail: fresh } }); // valid
    const report = await deliver(s, { now: T });
    for (const [n, , reason] of cases) {
      expect(report.problems.filter((p) => p.includes(entryName(n)))).toEqual([`spool: ${entryName(n)} moved to ${join(s.spoolDir, 'quarantine')}: not a spool entry: ${reason}`]);
    }
    expect(entries()).toEqual([entryName(16)]);
    const log = readFileSync(s.eventLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((l) => l.id !== null).map((l) => l.id)).toEqual([id(16)]);
    const notice = log.find((l) => l.file === entryName(3));
    expect(notice).toEqual({ id: null, schema: 1, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), event: 'spool-quarantine', host: 'web1', file: entryName(3), reason: 'not a spool entry: no alert in it', repo: s.repoDir });
    expect(readdirSync(join(s.spoolDir, 'quarantine')).map((f) => f.replace(/^\d+-/, '')).sort()).toEqual(cases.map(([n]) => entryName(n)).sort());
  });

  it("names: reminders' and fleet alerts' ids are entries, anything else lsm did not write goes to quarantine; lsm's own files stay", async () => {
    const { s, entries } = setup();
    const valid = [`${id(1)}-reminder-1764064800000`, `${id(2)}-fleet-host-web_1.a-b`, id(3)];
    for (const [i, v] of valid.entries()) oldEntry(s.spoolDir, entryName(i + 1, v), { alert: alert(i + 1, { id: v }) });
    const foreign = [
      `x${entryName(4)}`, `${entryName(5)}~`, `${entryName(6)}.json`, entryName(7, `${id(7)}-reminder-`), entryName(8, `${id(8)}-fleet-${'h'.repeat(121)}`),
      entryName(9, `${id(9)}-fleet-a/b`.replace('/', ' ')), entryName(10, id(10).toUpperCase()), `17-${id(11)}.json`, 'notes.state', 'xlsm.lock', 'lsm.lockx', '.x.tmpx', '.repox',
    ];
    for (const f of foreign) writeFileSync(join(s.spoolDir, f), JSON.stringify({ alert: alert(4) }));
    const own = ['lsm.lock.steal', '.told-no-mail', '.repo', '.x.json.tmp'];
    for (const f of own) writeFileSync(join(s.spoolDir, f), '');
    writeFileSync(join(s.spoolDir, `${entryName(3).replace(/\.json$/, '.state')}.1a2b3c4d.state.next`), '{}'); // a success state a kill left unused: swept
    const report = await deliver(s, { now: T });
    expect(report).toMatchObject({ pending: 3, mailUnconfigured: true });
    expect(entries()).toEqual(valid.map((v, i) => entryName(i + 1, v)));
    const moved = report.problems.filter((p) => p.startsWith('spool: ')).map((p) => /^spool: (.*) moved to /.exec(p)![1]).sort();
    expect(moved).toEqual([...foreign].sort());
    expect(report.problems.filter((p) => p.startsWith('spool: ')).every((p) => p.endsWith(': not a spool entry (its name is not one lsm writes)'))).toBe(true);
    for (const f of own) expect(existsSync(join(s.spoolDir, f))).toBe(true);
    expect(readdirSync(s.spoolDir).filter((f) => f.endsWith('.state.next'))).toEqual([]);
    // the live entries keep their states
    expect(readdirSync(s.spoolDir).filter((f) => f.endsWith('.state')).length).toBe(3);
  });

  it('a new spool is made with its parents, readable by root alone, and its entries named by time, each after the one before, so they sort in the order spooled', async () => {
    const { s, entries } = setup();
    const T0 = 1_700_000_000_000;
    const spool = new Spool(s.spoolDir, () => T0); // one clock reading for all: the same millisecond
    for (let n = 1; n <= 12; n++) await spool.add(alert(n));
    expect(statSync(s.spoolDir).mode & 0o777).toBe(0o700);
    expect(entries().map((f) => /^(\d{14})-(\d{6})-([0-9a-f]{40})\.json$/.exec(f)?.slice(1))).toEqual(Array.from({ length: 12 }, (_, i) => [String(T0 + i).padStart(14, '0'), '000000', id(i + 1)]));
    expect(spool.list().map((e) => e.id)).toEqual(Array.from({ length: 12 }, (_, i) => id(i + 1)));
    for (const f of readdirSync(s.spoolDir)) if (!f.startsWith('.')) expect(statSync(join(s.spoolDir, f)).mode & 0o777).toBe(0o600);
    expect(spool.has(id(12))).toBe(true);
    expect(spool.has(id(13))).toBe(false);
    expect(spool.has(id(12).slice(1))).toBe(false); // a whole id, not its tail
    expect(new Spool(join(s.spoolDir, 'none')).has(id(1))).toBe(false);
  });

  it('a spool belongs to one repository: another one is refused with a usage error, the same one (however named) is not', async () => {
    const { dir, s } = setup();
    const spool = new Spool(s.spoolDir);
    spool.claim(s.repoDir);
    expect(readFileSync(join(s.spoolDir, '.repo'), 'utf8')).toBe(`${s.repoDir}\n`);
    expect(statSync(join(s.spoolDir, '.repo')).mode & 0o777).toBe(0o600);
    spool.claim(`${s.repoDir}/./`);
    spool.claim(join(dir, 'x', '..', 'repo'));
    let err: unknown;
    try { spool.claim(join(dir, 'other')); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LsmError);
    expect((err as LsmError).message).toBe(`spool ${s.spoolDir} belongs to repository ${s.repoDir}, not ${join(dir, 'other')}: give this repository its own SPOOL_DIR (or leave SPOOL_DIR unset: with --repo the spool is kept in the repository)`);
    expect((err as LsmError).exitCode).toBe(EXIT.USAGE);
  });
});

describe('an entry found invalid while it is delivered', () => {
  it('an alert damaged after it was spooled is moved to quarantine with its state when a channel reads it; the others go on', async () => {
    const { s, entries } = setup({ eventLog: true });
    const spool = new Spool(s.spoolDir);
    await spool.add(alert(1));
    await spool.add(alert(2));
    await spool.add(alert(3));
    const [e1, e2] = entries();
    writeFileSync(join(s.spoolDir, e1), '{}');
    writeFileSync(join(s.spoolDir, e2), '{"alert":');
    const report = await deliver(s, { now: T });
    expect(report.problems.filter((p) => p.startsWith('spool: '))).toEqual([
      `spool: ${e1} moved to ${join(s.spoolDir, 'quarantine')}: not a spool entry: no alert in it`,
      expect.stringMatching(new RegExp(`^spool: ${e2} moved to .*: not a spool entry: unreadable: [^\\n]+$`)),
    ]);
    expect(report).toMatchObject({ pending: 1 });
    expect(readdirSync(join(s.spoolDir, 'quarantine')).map((f) => f.replace(/^\d+-/, '')).sort()).toEqual([e1, e1.replace(/json$/, 'state'), e2, e2.replace(/json$/, 'state')].sort());
    expect(readFileSync(s.eventLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.id).map((l) => l.id)).toEqual([id(3)]);
  });

  it('what cannot be moved to quarantine is still reported, with why; what another run moved already is not', async () => {
    const { s } = setup();
    const spool = new Spool(s.spoolDir);
    await spool.add(alert(1));
    const q = join(s.spoolDir, 'quarantine');
    writeFileSync(q, ''); // a file where the quarantine directory goes: said as what it is, never 'moved'
    writeFileSync(join(s.spoolDir, 'stray'), '');
    const report = await deliver(s, { now: T });
    expect(report.problems.filter((p) => p.startsWith('spool: '))).toEqual([
      `spool: stray not moved to quarantine (${q} is a file, not a directory: move it aside (mv ${q} ${q}.bad)): not a spool entry (its name is not one lsm writes); skipped`,
    ]);
    // a link planted there is never moved through
    rmSync(q);
    const elsewhere = mkdtempSync(join(tmpdir(), 'lsm-mut-elsewhere-'));
    symlinkSync(elsewhere, q);
    const linked = await deliver(s, { now: T });
    expect(linked.problems.filter((p) => p.startsWith('spool: '))).toEqual([expect.stringContaining(`spool: stray not moved to quarantine (${q} is a symbolic link to "${elsewhere}", not a directory: `)]);
    expect(readdirSync(elsewhere)).toEqual([]);
    const other = new Spool(mkdtempSync(join(tmpdir(), 'lsm-mut-spool-')));
    other.quarantine('gone', 'x');
    expect(other.quarantined).toEqual([]);
  });
});

describe('what lsm status says about the spool', () => {
  it('pending and dead entries, the oldest, the last errors (five at most, by commit), the quarantined alerts (not their states)', async () => {
    const { s } = setup();
    expect(spoolSummary(s.spoolDir)).toEqual({ pending: 0, dead: 0, oldest: null, lastErrors: [], quarantined: 0, refused: null });
    const err = (m: string) => ({ ...fresh, attempts: 1, lastError: m });
    for (let n = 1; n <= 7; n++) {
      oldEntry(s.spoolDir, entryName(n), { alert: alert(n), channels: { eventlog: fresh, hooks: n === 2 ? { ...err('hook x refused'), dead: true } : fresh, mail: n <= 6 ? err(`boom ${n}`) : fresh } });
    }
    mkdirSync(join(s.spoolDir, 'quarantine'));
    for (const f of ['1-a.json', '1-a.state', '2-b.json']) writeFileSync(join(s.spoolDir, 'quarantine', f), '');
    writeFileSync(join(s.spoolDir, entryName(7).replace(/json$/, 'state')), '{"eventlog":'); // damaged: status only reads, it moves nothing
    expect(spoolSummary(s.spoolDir)).toEqual({
      pending: 6, dead: 1, oldest: 1_700_000_000_001, quarantined: 2, refused: null,
      lastErrors: [`${id(1).slice(0, 10)}: boom 1`, `${id(2).slice(0, 10)}: hook x refused`, `${id(2).slice(0, 10)}: boom 2`, `${id(3).slice(0, 10)}: boom 3`, `${id(4).slice(0, 10)}: boom 4`],
    });
    expect(existsSync(join(s.spoolDir, entryName(7).replace(/json$/, 'state')))).toBe(true);
  });

  it('says once per spool that mail is not configured', () => {
    const { s } = setup();
    mkdirSync(s.spoolDir, { recursive: true });
    expect([firstTimeUnconfigured(s.spoolDir), firstTimeUnconfigured(s.spoolDir), firstTimeUnconfigured(s.spoolDir)]).toEqual([true, false, false]);
    expect(existsSync(join(s.spoolDir, '.told-no-mail'))).toBe(true);
    // a spool that cannot be written: said every time rather than never
    expect(firstTimeUnconfigured(join(s.spoolDir, 'missing'))).toBe(true);
    expect(firstTimeUnconfigured(join(s.spoolDir, 'missing'))).toBe(true);
  });
});

describe('mail through the local sendmail', () => {
  it("one mail: from, to, the subject with what changed, a Message-ID from the alert, auto-submitted, X-LSM headers, the diff attached when there is one", async () => {
    const { s, outbox } = setup({ sendmail: true });
    s.mail.to = ['ops@example.org', 'sec@example.org'];
    const spool = new Spool(s.spoolDir);
    await spool.add(alert(1, { parent: id(0), diff: 'diff --git a/host/tcp b/host/tcp\n+0.0.0.0:1  nc  root  /usr/bin/nc\n' }));
    await spool.add(alert(2));
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 2, pending: 0, problems: [] });
    const [m1, m2] = await Promise.all(outbox().map((raw) => simpleParser(raw)));
    expect(m1.headers.get('x-sendmail-args')).toBe('-i -f lsm@web1 ops@example.org sec@example.org');
    expect(m1.subject).toBe('SUB: +1 tcp 0.0.0.0:1 (nc)');
    expect(m1.from?.text).toBe('lsm@web1');
    expect(m1.messageId).toBe(`<lsm-${id(1)}@web1>`);
    expect([m1.headers.get('auto-submitted'), m1.headers.get('x-lsm-commit'), m1.headers.get('x-lsm-parent'), m1.headers.get('x-lsm-host')]).toEqual(['auto-generated', id(1), id(0), 'web1']);
    expect(m1.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([[`lsm-${id(1).slice(0, 10)}.diff`, 'text/x-diff', 'diff --git a/host/tcp b/host/tcp\n+0.0.0.0:1  nc  root  /usr/bin/nc\n']]);
    expect(m1.text).toContain('recorded a change');
    expect(m2.attachments).toEqual([]);
    expect(m2.headers.has('x-lsm-parent')).toBe(false); // no parent: no header (nodemailer leaves out an empty one)
  });

  it('a recipient that already has the mail is not mailed again; a failing sendmail is retried later, not given up', async () => {
    const { s, outbox, sendmail } = setup({ sendmail: true });
    s.mail.to = ['ops@example.org', 'sec@example.org'];
    oldEntry(s.spoolDir, entryName(1), { alert: alert(1), channels: { eventlog: fresh, hooks: fresh, mail: { ...fresh, attempts: 1, sentTo: ['ops@example.org'] } } });
    const real = readFileSync(sendmail, 'utf8');
    writeFileSync(sendmail, '#!/bin/sh\ncat >/dev/null\necho "sendmail: queue is full" >&2\nexit 75\n');
    chmodSync(sendmail, 0o755);
    const r1 = await deliver(s, { now: T });
    expect(r1).toMatchObject({ delivered: 0, pending: 1, dead: 0 });
    expect(r1.problems).toEqual([`alert ${id(1).slice(0, 10)}: mail: ESENDMAIL: Sendmail exited with code 75`]);
    const r2 = await deliver(s, { now: T + 1 });
    expect(r2.problems).toEqual([`1 alert waiting for mail, next try after ${new Date(T + 2 * 60_000).toISOString()} (last error: ESENDMAIL: Sendmail exited with code 75; lsm flush tries now)`]);
    writeFileSync(sendmail, real);
    expect(await deliver(s, { now: T + 1, force: true })).toMatchObject({ delivered: 1, problems: [] });
    const [m] = await Promise.all(outbox().map((raw) => simpleParser(raw)));
    expect(m.headers.get('x-sendmail-args')).toBe('-i -f lsm@web1 sec@example.org');
    expect(readdirSync(s.spoolDir).filter((f) => !f.startsWith('.') && f !== 'lsm.lock')).toEqual([]);
    // every recipient has it already (a kill after the send): nothing is sent again
    oldEntry(s.spoolDir, entryName(2), { alert: alert(2), channels: { eventlog: fresh, hooks: fresh, mail: { ...fresh, sentTo: ['ops@example.org', 'sec@example.org'] } } });
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 1, problems: [] });
    expect(outbox()).toHaveLength(1);
  });
});
