// The spool's names and its own API on real directories: a state file named from its alert's name
// (ids may hold ".json" or ".state": fleet ids allow dots), the commit an entry is about, exact
// reasons for what is quarantined, list() without `clean` moving nothing, prepare/commit/abort of a
// success state, the removal of an entry that has no state file, and symbolic links put in the spool.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { InvalidEntry, Spool, alertProblem } from '../../src/alert/spool.js';

const T = Date.UTC(2026, 0, 1);
const hex = (n: number) => String(n).padStart(40, 'd');
const alert = (n: number, extra: Partial<Alert> = {}): Alert => ({
  id: hex(n), commit: hex(n), parent: null, host: 'web1', time: T + n,
  summary: '+1 -0: host/tcp +1', added: [{ path: 'host/tcp', line: `0.0.0.0:${n}  nc  root  /usr/bin/nc`, owners: [] }], removed: [], diff: '', repo: '/r', ...extra,
});
const fresh = { done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null };
const done = { ...fresh, done: true, attempts: 1 };
const entryName = (n: number, alertId = hex(n)) => `${String(1_700_000_000_000 + n).padStart(14, '0')}-000000-${alertId}.json`;
const parseError = (text: string) => { try { JSON.parse(text); } catch (e) { return (e as Error).message; } throw new Error('parsed'); };

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mut-names-'));
  const spoolDir = join(dir, 'spool');
  mkdirSync(spoolDir);
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir, eventLog: join(dir, 'events.jsonl'), hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: '' } };
  const write = (name: string, body: unknown) => writeFileSync(join(spoolDir, name), typeof body === 'string' ? body : JSON.stringify(body));
  const files = () => readdirSync(spoolDir).sort();
  const events = () => (existsSync(s.eventLog) ? readFileSync(s.eventLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
  return { dir, spoolDir, s, write, files, events };
}

describe("an entry's names", () => {
  it('the state of an alert whose id holds ".json" is named from the last ".json" of its name; the entry is delivered once and leaves nothing', async () => {
    const { spoolDir, s, files, events } = setup();
    const id = `${hex(1)}-fleet-host-a.json`;
    const spool = new Spool(spoolDir);
    expect(await spool.add(alert(1, { id }))).toBe(true);
    const [name] = files();
    expect(name).toMatch(new RegExp(`^\\d{14}-000000-${hex(1)}-fleet-host-a\\.json\\.json$`));
    expect(files()).toEqual([name, name.replace(/\.json$/, '.state')]);
    expect(JSON.parse(readFileSync(join(spoolDir, name.replace(/\.json$/, '.state')), 'utf8'))).toEqual({ eventlog: fresh, hooks: fresh, mail: fresh });
    expect(new Spool(spoolDir).list({ clean: true }).map((e) => [e.file, e.id])).toEqual([[name, id]]);
    const report = await deliver(s, { now: T });
    expect(report.problems.filter((p) => p.startsWith('spool: '))).toEqual([]);
    expect(events().map((l) => l.id)).toEqual([id]);
  });

  it('a live entry whose id holds ".state" keeps its state through a cleaning list(); the state of one whose alert is gone is swept, not quarantined', () => {
    const { spoolDir, write, files } = setup();
    const live = entryName(1, `${hex(1)}-fleet-a.state`);
    const orphan = entryName(2, `${hex(2)}-fleet-b.state`).replace(/\.json$/, '.state');
    write(live, { alert: alert(1, { id: `${hex(1)}-fleet-a.state` }) });
    write(live.replace(/\.json$/, '.state'), { eventlog: done, hooks: fresh, mail: fresh });
    write(orphan, { eventlog: done, hooks: done, mail: fresh });
    const spool = new Spool(spoolDir);
    const entries = spool.list({ clean: true });
    expect(spool.quarantined).toEqual([]);
    expect(entries.map((e) => [e.file, e.channels.eventlog.done])).toEqual([[live, true]]);
    expect(files()).toEqual([live, live.replace(/\.json$/, '.state')]);
  });

  it("an entry is about the commit its id starts with (a reminder's id says more), spooled when its name says", () => {
    const { spoolDir, write } = setup();
    const id = `${hex(1)}-reminder-1764064800000`;
    write(entryName(1, id), { alert: alert(1, { id }) });
    const [e] = new Spool(spoolDir).list();
    expect([e.id, e.commit, e.spooledAt]).toEqual([id, hex(1), 1_700_000_000_001]);
  });
});

describe('what is quarantined, and why, exactly', () => {
  it("a commit id is 40 lowercase hex digits, no more and nothing around them", () => {
    const { spoolDir, write, files } = setup();
    const cases = [`z${hex(1)}`, `${hex(2)}0`, hex(3).slice(1)];
    cases.forEach((commit, i) => write(entryName(i + 1), { alert: alert(i + 1, { commit }) }));
    write(entryName(4), { alert: alert(4) });
    const spool = new Spool(spoolDir);
    expect(spool.list({ clean: true }).map((e) => e.id)).toEqual([hex(4)]);
    expect(spool.quarantined).toEqual(cases.map((_, i) => ({ file: entryName(i + 1), reason: 'not a spool entry: no commit id', moved: true })));
    expect(files()).toEqual([entryName(4), 'quarantine']);
    for (const commit of cases) expect(alertProblem({ alert: alert(9, { commit }) }, hex(9))).toBe('no commit id');
    expect(alertProblem({ alert: alert(9) }, hex(9))).toBeNull();
  });

  it("an alert that does not parse is quarantined with the parser's message, whether found without a state or when a channel reads it", async () => {
    const { spoolDir, write } = setup();
    write(entryName(1), '{"alert":{"id":"cc');
    const spool = new Spool(spoolDir);
    expect(spool.list({ clean: true })).toEqual([]);
    expect(spool.quarantined).toEqual([{ file: entryName(1), reason: `not a spool entry: ${parseError('{"alert":{"id":"cc')}`, moved: true }]);
    expect(parseError('{"alert":{"id":"cc')).toBe('Unterminated string in JSON at position 18'); // what the line above holds
    // with a state, the alert is read only when used
    await spool.add(alert(2));
    const name = readdirSync(spoolDir).find((f) => f.endsWith(`${hex(2)}.json`))!;
    write(name, '{"alert":');
    const [e] = new Spool(spoolDir).list({ clean: true });
    let err: unknown;
    try { void e.alert; } catch (x) { err = x; }
    expect(err).toBeInstanceOf(InvalidEntry);
    expect((err as Error).message).toBe('unreadable: Unexpected end of JSON input');
  });
});

describe('list() without clean (lsm status, and spooling) only reads', () => {
  it('moves, sweeps and removes nothing: invalid entries, stray files, orphan and damaged states, unused success states all stay where they are', () => {
    const { spoolDir, write, files } = setup();
    write(entryName(1), { alert: alert(1) }); // valid, no state
    write(entryName(2), { alert: alert(3) }); // its id is not its name's
    write(entryName(3), 'not json');
    write(entryName(4), { alert: alert(4) });
    write(entryName(4).replace(/\.json$/, '.state'), '{"eventlog":'); // damaged
    write(entryName(5).replace(/\.json$/, '.state'), { eventlog: fresh, hooks: fresh, mail: fresh }); // orphan
    write(`${entryName(1).replace(/\.json$/, '.state')}.0a1b2c3d.state.next`, '{}');
    write('stray', '');
    mkdirSync(join(spoolDir, 'junk'));
    const before = files();
    const spool = new Spool(spoolDir);
    // entry 4's damaged state is not used: its alert holds no channels, so it starts fresh
    expect(spool.list().map((e) => e.id)).toEqual([hex(1), hex(4)]);
    expect(spool.quarantined).toEqual([]);
    expect(files()).toEqual(before);
    expect(existsSync(join(spoolDir, 'quarantine'))).toBe(false);
  });
});

describe("a success state prepared before a channel is tried", () => {
  it('prepare writes it aside; commit puts it in place; abort removes it, and a second abort (after a partly rejected mail) is harmless', async () => {
    const { spoolDir, files } = setup();
    const spool = new Spool(spoolDir);
    await spool.add(alert(1));
    const [e] = spool.list();
    const after = { eventlog: done, hooks: fresh, mail: fresh };
    const p1 = await spool.prepare(e, after);
    const next = files().filter((f) => f.endsWith('.state.next'));
    expect(next).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(spoolDir, next[0]), 'utf8'))).toEqual(after);
    p1.abort();
    expect(files().filter((f) => f.endsWith('.state.next'))).toEqual([]);
    expect(() => p1.abort()).not.toThrow();
    expect(new Spool(spoolDir).list()[0].channels.eventlog).toEqual(fresh); // the state is as it was
    const p2 = await spool.prepare(e, after);
    await p2.commit();
    expect(e.channels).toBe(after);
    expect(files().filter((f) => f.endsWith('.state.next'))).toEqual([]);
    expect(new Spool(spoolDir).list()[0].channels.eventlog).toEqual(done);
  });

  it('an entry with no state file whose channels are all done already (a kill before its removal) is removed, and counted delivered', async () => {
    const { s, spoolDir, write, files, events } = setup();
    write(entryName(1), { alert: alert(1), channels: { eventlog: done, hooks: done, mail: done } });
    const report = await deliver(s, { now: T });
    expect(report).toMatchObject({ delivered: 1, pending: 0, dead: 0, problems: [] });
    expect(files().filter((f) => !f.startsWith('.') && f !== 'lsm.lock')).toEqual([]);
    expect(events()).toEqual([]); // done already: not logged again
    // and removing what another run removed already is no error
    write(entryName(2), { alert: alert(2) });
    const [e] = new Spool(spoolDir).list();
    new Spool(spoolDir).remove(e);
    expect(existsSync(join(spoolDir, entryName(2)))).toBe(false);
  });
});

describe('symbolic links in the spool', () => {
  it('a symbolic link lsm did not make is moved to quarantine and reported, dangling or not, as a link: what it points to is untouched', () => {
    const { dir, spoolDir, write, files } = setup();
    write(entryName(1), { alert: alert(1) });
    const target = join(dir, 'target');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    symlinkSync(target, join(spoolDir, 'to-dir'));
    symlinkSync(join(dir, 'nowhere'), join(spoolDir, 'dangling'));
    symlinkSync(join(target, 'keep'), join(spoolDir, entryName(2))); // an entry's name, a link's body
    const spool = new Spool(spoolDir);
    expect(spool.list({ clean: true }).map((e) => e.id)).toEqual([hex(1)]);
    expect(spool.quarantined.map((q) => q.file).sort()).toEqual(['dangling', entryName(2), 'to-dir'].sort());
    for (const q of spool.quarantined.filter((x) => x.file !== entryName(2))) expect(q.reason).toBe('not a spool entry (its name is not one lsm writes)');
    expect(spool.quarantined.find((x) => x.file === entryName(2))!.reason).toBe(`not a spool entry: refusing ${join(spoolDir, entryName(2))}: it is a symbolic link`);
    expect(files()).toEqual([entryName(1), 'quarantine']);
    const moved = readdirSync(join(spoolDir, 'quarantine'));
    expect(moved.map((f) => f.replace(/^\d+-/, '')).sort()).toEqual(['dangling', entryName(2), 'to-dir'].sort());
    expect(readlinkSync(join(spoolDir, 'quarantine', moved.find((f) => f.endsWith('-to-dir'))!))).toBe(target);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
  });
});
