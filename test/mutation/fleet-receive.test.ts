// The central drain in-process against a real repository and a real spool (receive.ts, digest.ts):
// central mail paced per host (the first change at once, the next held and mailed as one digest
// once the interval has passed), a duplicated record held once, and every failure on the way said
// and retried: a damaged record, a record git cannot list, a spool that cannot take the alert, held
// changes that cannot be written, a marker that cannot move. What `lsm fleet status` shows of a
// failing drain (lsm/central-failing) comes and goes with it. A baseline pushed alone is indexed.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../src/alert/spool.js';
import { centralFailing } from '../../src/fleet/central-state.js';
import { reindex, verifyIndex } from '../../src/fleet/catalog.js';
import { pendingMail, readDigest } from '../../src/fleet/digest.js';
import { ZERO } from '../../src/fleet/guard.js';
import { fleetStatus } from '../../src/fleet/questions.js';
import { deliverCentral, drainQueue, queued, received, spoolReceived } from '../../src/fleet/receive.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const MIN = 60_000;
const SSHD = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
const nc = (port: number) => `0.0.0.0:${port}  nc  root  /usr/bin/nc`;
const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** A snapshot commit of host/tcp = LINES on hosts/<host> (or REF), committed at T0 + t, its summary as lsm writes one. */
function commit(gitdir: string, host: string, t: number, lines: string[], parent?: string, ref = `refs/heads/hosts/${host}`): string {
  const text = lines.join('\n') + '\n';
  const msg = `+${lines.length} -0: host/tcp ${lines.length}`;
  let s = `commit ${ref}\ncommitter lsm <lsm@${host}> ${Math.floor((T0 + t) / 1000)} +0000\ndata ${msg.length}\n${msg}\n${parent ? `from ${parent}\n` : ''}deleteall\n`;
  for (const [p, body] of [['host/tcp', text], ['host/udp', ''], ['host/raw', ''], ['host/packet', ''], ['host/unix', '']]) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s });
  return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', ref], { encoding: 'utf8' }).trim();
}

function central(): { dir: string; gitdir: string; alerts: Parameters<typeof spoolReceived>[1] } {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mreceive-'));
  tmps.push(dir);
  const gitdir = join(dir, 'fleet.git');
  execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
  const alerts = { spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks.d'), mail: { sendmail: '', smtpUrl: '', to: [] } } as unknown as Parameters<typeof spoolReceived>[1];
  return { dir, gitdir, alerts };
}
const alertsIn = (spoolDir: string) => new Spool(spoolDir).list().map((e) => e.alert).sort((a, b) => (a.id < b.id ? -1 : 1));
const push = (gitdir: string, old: string, tip: string, t: number, host = 'web-1') => received(gitdir, [{ old, new: tip, ref: `refs/heads/hosts/${host}` }], host, T0 + t);

describe('fleet central mail: one a host an interval', () => {
  it('the first change goes at once; the next ones are held, then mailed as one digest naming each, once the interval has passed', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(4444)], a);
    push(gitdir, ZERO, b, 20_000);
    const pace = { interval: 10 * MIN };
    expect(await spoolReceived(gitdir, alerts, { ...pace, now: T0 + MIN })).toEqual({ spooled: 1, problems: [] });
    expect(alertsIn(alerts.spoolDir).map((x) => [x.id, x.subject])).toEqual([[`${b}-fleet-host-web-1`, 'web-1: +1 tcp 0.0.0.0:4444 (nc)']]);
    expect(readDigest(gitdir, 'web-1')).toEqual({ lastMail: T0 + MIN, held: [] });
    const c = commit(gitdir, 'web-1', 2 * MIN, [SSHD, nc(4445)], b);
    const d = commit(gitdir, 'web-1', 3 * MIN, [SSHD], c);
    push(gitdir, b, c, 2 * MIN + 1);
    push(gitdir, c, d, 3 * MIN + 1);
    // within the interval: held, shown as pending, nothing spooled
    expect(await spoolReceived(gitdir, alerts, { ...pace, now: T0 + 11 * MIN - 1 })).toEqual({ spooled: 0, problems: [] });
    expect(readDigest(gitdir, 'web-1')).toEqual({ lastMail: T0 + MIN, held: [{ oid: c, t: T0 + 2 * MIN + 1 }, { oid: d, t: T0 + 3 * MIN + 1 }] });
    expect(pendingMail(gitdir, pace.interval)).toEqual([{ host: 'web-1', changes: 2, oldest: new Date(T0 + 2 * MIN + 1).toISOString(), sendAfter: new Date(T0 + 11 * MIN).toISOString() }]);
    // the interval has passed: one digest of both
    expect(await spoolReceived(gitdir, alerts, { ...pace, now: T0 + 11 * MIN })).toEqual({ spooled: 1, problems: [] });
    expect(readDigest(gitdir, 'web-1')).toEqual({ lastMail: T0 + 11 * MIN, held: [] });
    const digest = alertsIn(alerts.spoolDir).find((x) => x.id === `${d}-fleet-digest-web-1-2`)!;
    expect(digest.subject).toBe('web-1: 2 changes: -1 tcp 0.0.0.0:4444 (nc)');
    expect(digest.notice!.split('\n').slice(0, 6)).toEqual([
      'lsm on web-1 pushed 2 changes from 2026-11-01 00:02:00 UTC to 2026-11-01 00:03:00 UTC, held for one mail (at most one a host every FLEET_MAIL_INTERVAL=10m):',
      `  2026-11-01 00:02:00 UTC  ${c.slice(0, 10)}  +2 -0: host/tcp 2`,
      `  2026-11-01 00:03:00 UTC  ${d.slice(0, 10)}  +1 -0: host/tcp 1`,
      '',
      `Together they changed (${c.slice(0, 10)}^..${d.slice(0, 10)}):`,
      '',
    ]);
    // the net change, b to d: nc on 4444 gone (4445 came and went)
    expect(digest.diff).toContain(`-${nc(4444)}\n`);
    expect(digest.diff).not.toContain('4445');
    expect(pendingMail(gitdir, pace.interval)).toEqual([]);
    // nothing held: nothing more, however late
    expect(await spoolReceived(gitdir, alerts, { ...pace, now: T0 + 100 * MIN })).toEqual({ spooled: 0, problems: [] });
  });

  it('a record repeated (the queue drained twice after a crash) holds its changes once', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const c = commit(gitdir, 'web-1', 20_000, [SSHD, nc(2)], b);
    push(gitdir, a, c, 30_000);
    const records = join(gitdir, 'lsm', 'pushes.jsonl');
    appendFileSync(records, readFileSync(records, 'utf8'));
    expect(await spoolReceived(gitdir, alerts, { interval: 10 * MIN, now: T0 })).toEqual({ spooled: 1, problems: [] });
    expect(alertsIn(alerts.spoolDir).map((x) => x.id)).toEqual([`${c}-fleet-digest-web-1-2`]);
    expect(readFileSync(join(gitdir, 'lsm', 'pushes.spooled'), 'utf8')).toBe(String(readFileSync(records).length));
  });

  it('a marker "OFFSET DONE" (the commits of the record at OFFSET spooled already) skips those commits', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const c = commit(gitdir, 'web-1', 20_000, [SSHD, nc(2)], b);
    push(gitdir, a, c, 30_000);
    writeFileSync(join(gitdir, 'lsm', 'pushes.spooled'), '0 1');
    expect(await spoolReceived(gitdir, alerts, { interval: 0, now: T0 })).toEqual({ spooled: 1, problems: [] });
    expect(alertsIn(alerts.spoolDir).map((x) => x.id)).toEqual([`${c}-fleet-host-web-1`]);
  });
});

describe('fleet drain: every failure said, and retried', () => {
  it('a damaged record is skipped and named; a record git cannot list stops the drain there, every time, until it can', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const records = join(gitdir, 'lsm', 'pushes.jsonl');
    mkdirSync(join(gitdir, 'lsm'));
    writeFileSync(records, '{"t":1,"host":\n');
    push(gitdir, a, b, 20_000);
    const lost = 'f'.repeat(40);
    const upTo = readFileSync(records).length; // where the record git cannot list starts
    appendFileSync(records, JSON.stringify({ t: T0 + 30_000, host: 'web-2', old: ZERO, new: lost, user: 'web-2' }) + '\n');
    const r = await spoolReceived(gitdir, alerts, { interval: 0, now: T0 });
    expect(r.spooled).toBe(1);
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toBe('lsm/pushes.jsonl: a damaged record skipped at byte 0');
    expect(r.problems[1]).toMatch(new RegExp(`^central alerts for hosts/web-2: cannot list the pushed commits: fatal: bad object ${lost} \\(retried next time\\)$`));
    expect(alertsIn(alerts.spoolDir).map((x) => x.id)).toEqual([`${b}-fleet-host-web-1`]);
    // the marker stopped before the record it could not list: the next drain tries it again
    expect(Number(readFileSync(join(gitdir, 'lsm', 'pushes.spooled'), 'utf8'))).toBe(upTo);
    const again = await spoolReceived(gitdir, alerts, { interval: 0, now: T0 + 1 });
    expect(again.problems).toEqual([r.problems[1]]);
    expect(again.spooled).toBe(0);
  });

  it('a spool that cannot take the alert keeps the change held and says so; fixed, it is spooled', async () => {
    const { dir, gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    push(gitdir, ZERO, b, 20_000);
    writeFileSync(join(dir, 'not-a-dir'), '');
    const broken = { ...alerts, spoolDir: join(dir, 'not-a-dir', 'spool') };
    const r = await spoolReceived(gitdir, broken, { interval: 0, now: T0 });
    expect(r.spooled).toBe(0);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(new RegExp(`^central alert for hosts/web-1 ${b.slice(0, 10)} not spooled in ${broken.spoolDir} \\(retried next time\\): `));
    expect(readDigest(gitdir, 'web-1')).toEqual({ lastMail: null, held: [{ oid: b, t: T0 + 20_000 }] });
    expect(await spoolReceived(gitdir, alerts, { interval: 0, now: T0 + 1 })).toEqual({ spooled: 1, problems: [] });
    expect(readDigest(gitdir, 'web-1')).toEqual({ lastMail: T0 + 1, held: [] });
    // several held, interval 0: each its own mail; the first failure stops the rest, which stay held, in order
    const c = commit(gitdir, 'web-1', 30_000, [SSHD, nc(2)], b);
    const d = commit(gitdir, 'web-1', 40_000, [SSHD, nc(3)], c);
    push(gitdir, b, d, 50_000);
    const failed = await spoolReceived(gitdir, broken, { interval: 0, now: T0 + 2 });
    expect(failed.problems).toHaveLength(1);
    expect(readDigest(gitdir, 'web-1').held.map((h) => h.oid)).toEqual([c, d]);
    expect(await spoolReceived(gitdir, alerts, { interval: 0, now: T0 + 3 })).toEqual({ spooled: 2, problems: [] });
    expect(alertsIn(alerts.spoolDir).map((x) => x.id).sort()).toEqual([b, c, d].map((x) => `${x}-fleet-host-web-1`).sort());
  });

  it('several held changes that cannot be spooled are named as such', async () => {
    const { dir, gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const c = commit(gitdir, 'web-1', 20_000, [SSHD, nc(2)], b);
    push(gitdir, ZERO, c, 30_000);
    writeFileSync(join(dir, 'not-a-dir'), '');
    const broken = { ...alerts, spoolDir: join(dir, 'not-a-dir', 'spool') };
    const r = await spoolReceived(gitdir, broken, { interval: MIN, now: T0 });
    expect(r.problems[0]).toMatch(new RegExp(`^central alert for hosts/web-1 ${b.slice(0, 10)} and 1 more changes not spooled in `));
  });

  it('held changes that cannot be written, or a marker that cannot move, stop the drain before anything counts as done', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    push(gitdir, ZERO, b, 20_000);
    writeFileSync(join(gitdir, 'lsm', 'digest'), 'a file where the directory goes');
    const r = await spoolReceived(gitdir, alerts, { interval: 0, now: T0 });
    expect(r.spooled).toBe(0);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/^central alerts for hosts\/web-1: cannot hold its changes in lsm\/digest \(retried next time\): /);
    rmSync(join(gitdir, 'lsm', 'digest'));
    mkdirSync(join(gitdir, 'lsm', 'pushes.spooled', 'x'), { recursive: true }); // a directory where the marker goes
    const m = await spoolReceived(gitdir, alerts, { interval: 0, now: T0 });
    expect(m.problems).toHaveLength(1);
    expect(m.problems[0]).toMatch(/^cannot record how far central alerts are spooled \(lsm\/pushes.spooled\): /);
    expect(m.spooled).toBe(0); // it stopped at the marker: the held change waits
    expect(readDigest(gitdir, 'web-1').held.map((h) => h.oid)).toEqual([b]);
    rmSync(join(gitdir, 'lsm', 'pushes.spooled'), { recursive: true });
    expect(await spoolReceived(gitdir, alerts, { interval: 0, now: T0 })).toEqual({ spooled: 1, problems: [] });
    // a damaged record whose marker cannot move stops there too: the record after it waits
    const other = central();
    const x = commit(other.gitdir, 'web-1', 0, [SSHD]);
    const y = commit(other.gitdir, 'web-1', 10_000, [SSHD, nc(1)], x);
    mkdirSync(join(other.gitdir, 'lsm'));
    writeFileSync(join(other.gitdir, 'lsm', 'pushes.jsonl'), 'not json\n');
    push(other.gitdir, ZERO, y, 20_000);
    mkdirSync(join(other.gitdir, 'lsm', 'pushes.spooled', 'x'), { recursive: true });
    const d = await spoolReceived(other.gitdir, other.alerts, { interval: 0, now: T0 });
    expect(d.problems).toHaveLength(2);
    expect(d.problems[0]).toBe('lsm/pushes.jsonl: a damaged record skipped at byte 0');
    expect(d.problems[1]).toMatch(/^cannot record how far central alerts are spooled/);
    expect(readDigest(other.gitdir, 'web-1').held).toEqual([]);
  });

  it('deliverCentral drains the queue, spools, and keeps its problems for fleet status until a run does everything', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const q = join(gitdir, 'lsm', 'queue');
    mkdirSync(q, { recursive: true });
    expect(queued(gitdir)).toBe(false);
    writeFileSync(join(q, `${T0}-7.tmp`), 'web-1\n');
    expect(queued(gitdir)).toBe(false); // one being written
    writeFileSync(join(q, `${T0 + 5}-7`), `web-1\n${ZERO} ${b} refs/heads/hosts/web-1\n`);
    expect(queued(gitdir)).toBe(true);
    appendFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), '{broken\n');
    const report = await deliverCentral(gitdir, alerts, { interval: 0, now: T0 + MIN });
    expect(report.problems).toEqual(['lsm/pushes.jsonl: a damaged record skipped at byte 0']);
    expect(centralFailing(gitdir)).toEqual({ since: expect.any(Number), problems: ['lsm/pushes.jsonl: a damaged record skipped at byte 0'] });
    expect(queued(gitdir)).toBe(false);
    expect(alertsIn(alerts.spoolDir).map((x) => x.id)).toEqual([`${b}-fleet-host-web-1`]);
    const again = await deliverCentral(gitdir, alerts, { interval: 0, now: T0 + 2 * MIN });
    expect(again.problems).toEqual([]);
    expect(centralFailing(gitdir)).toBeNull();
    expect(drainQueue(join(gitdir, 'none'))).toEqual({ indexed: [], recorded: 0, problems: [] });
  });

  it('held changes lsm cannot read back (garbage in lsm/digest) are said, never read as none: the drain names the file, fleet status refuses (65); moved aside, the drain goes on', async () => {
    const { gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const c = commit(gitdir, 'web-1', 20_000, [SSHD, nc(2)], b);
    push(gitdir, ZERO, b, 20_000);
    const pace = { interval: 10 * MIN };
    await spoolReceived(gitdir, alerts, { ...pace, now: T0 + MIN }); // b mailed; the next change is held
    push(gitdir, b, c, 2 * MIN);
    await spoolReceived(gitdir, alerts, { ...pace, now: T0 + 3 * MIN });
    expect(readDigest(gitdir, 'web-1').held.map((h) => h.oid)).toEqual([c]);
    const file = join(gitdir, 'lsm', 'digest', 'web-1.json');
    writeFileSync(file, '{"lastMail":1,"held":[{"oid":"x"');
    const said = `${file} is damaged (not the held changes lsm writes): move it aside (mv ${file} ${file}.bad); the changes it held are not mailed, lsm fleet log --host web-1 lists them`;
    const r = await spoolReceived(gitdir, alerts, { ...pace, now: T0 + 20 * MIN });
    expect(r).toEqual({ spooled: 0, problems: [`central alerts for hosts/web-1: ${said}`] });
    expect(() => pendingMail(gitdir, pace.interval)).toThrow(expect.objectContaining({ code: 'Damaged', message: said }));
    rmSync(file);
    expect(await spoolReceived(gitdir, alerts, { ...pace, now: T0 + 21 * MIN })).toEqual({ spooled: 0, problems: [] });
  });

  it("a path of lsm/ of the wrong type (a directory, a symbolic link, a FIFO) is said as damage of that path: never read or written through, never a bare errno nor a hang; the push waits queued; moved aside, the next drain records it", async () => {
    const { dir, gitdir, alerts } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    const lsm = join(gitdir, 'lsm');
    const elsewhere = join(dir, 'elsewhere');
    writeFileSync(elsewhere, '');
    const damages: [string, () => void, string][] = [
      ['pushes.jsonl', () => mkdirSync(join(lsm, 'pushes.jsonl')), 'a directory, not a regular file'],
      ['pushes.jsonl', () => symlinkSync(elsewhere, join(lsm, 'pushes.jsonl')), `a symbolic link to "${elsewhere}", not a regular file`],
      ['pushes.spooled', () => execFileSync('mkfifo', [join(lsm, 'pushes.spooled')]), 'a FIFO, not a regular file'],
      ['queue', () => { renameSync(join(lsm, 'queue'), join(dir, 'q')); symlinkSync(join(dir, 'q'), join(lsm, 'queue')); }, `a symbolic link to "${join(dir, 'q')}", not a directory`],
      ['seen/web-1', () => { mkdirSync(join(lsm, 'seen'), { recursive: true }); mkdirSync(join(lsm, 'seen', 'web-1')); }, 'a directory, not a regular file'],
    ];
    mkdirSync(join(lsm, 'queue'), { recursive: true });
    writeFileSync(join(lsm, 'queue', `${T0 + 5}-7`), `web-1\n${ZERO} ${b} refs/heads/hosts/web-1\n`);
    for (const [path, damage, what] of damages) {
      damage();
      const line = `fleet server: ${join(lsm, path)} is ${what}: damage, neither read nor written through; move it aside (mv ${join(lsm, path)} ${join(lsm, path)}.damaged), `;
      const report = await deliverCentral(gitdir, alerts, { interval: 0, now: T0 + MIN });
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0].startsWith(line)).toBe(true);
      expect(centralFailing(gitdir, T0 + MIN)?.problems).toEqual(report.problems); // fleet status and fleet check say it
      expect(() => fleetStatus(gitdir, MIN)).toThrow(expect.objectContaining({ code: 'Damaged', exitCode: 65, message: report.problems[0] }));
      expect(readFileSync(elsewhere, 'utf8')).toBe(''); // nothing written through a link
      expect(queued(gitdir)).toBe(true); // the push waits
      rmSync(join(lsm, path), { recursive: true });
      if (path === 'queue') renameSync(join(dir, 'q'), join(lsm, 'queue'));
    }
    // lsm fleet verify and reindex: never through a link planted for lsm/index; verify says it,
    // reindex moves the link (not what it names) into lsm/damaged/ and makes the index again
    mkdirSync(join(dir, 'idx'));
    symlinkSync(join(dir, 'idx'), join(lsm, 'index'));
    expect(await verifyIndex(gitdir)).toEqual([expect.stringMatching(/^fleet server: \S+\/lsm\/index is a symbolic link to "\S+\/idx", not a directory: damage/)]);
    expect((await reindex(gitdir)).movedAside).toEqual([expect.stringMatching(/\/lsm\/index: damage moved to \S+\/lsm\/damaged\/lsm_index\.\d+ /)]);
    expect(readdirSync(join(dir, 'idx'))).toEqual([]);
    expect(lstatSync(join(lsm, 'index')).isDirectory()).toBe(true);
    expect(await verifyIndex(gitdir)).toEqual([]);
    const fixed = await deliverCentral(gitdir, alerts, { interval: 0, now: T0 + 2 * MIN });
    expect(fixed.problems).toEqual([]);
    expect(queued(gitdir)).toBe(false);
    expect(fleetStatus(gitdir, MIN, T0 + 2 * MIN).map((r) => r.tip)).toEqual([b]);
    expect(alertsIn(alerts.spoolDir).map((x) => x.id)).toEqual([`${b}-fleet-host-web-1`]);
  });
});

describe('fleet receive: baselines and what is not a host branch', () => {
  it("a baseline pushed alone is indexed (the host's drift); with its branch, once; without a branch, not at all; other refs and deletions are not recorded", () => {
    const { gitdir } = central();
    const a = commit(gitdir, 'web-1', 0, [SSHD]);
    const b = commit(gitdir, 'web-1', 10_000, [SSHD, nc(1)], a);
    expect(push(gitdir, ZERO, b, 20_000)).toEqual({ indexed: ['web-1'], recorded: 1, problems: [] });
    execFileSync('git', ['--git-dir', gitdir, 'update-ref', 'refs/heads/baselines/web-1', a]);
    expect(received(gitdir, [{ old: ZERO, new: a, ref: 'refs/heads/baselines/web-1' }], 'web-1', T0 + 30_000)).toEqual({ indexed: ['web-1'], recorded: 0, problems: [] });
    const row = fleetStatus(gitdir, 60 * MIN, T0 + 31_000)[0];
    expect(row.drift).toEqual({ baseline: a, added: [{ path: 'host/tcp', line: nc(1) }], removed: [] });
    expect(row.lastSeen).toBe(new Date(T0 + 30_000).toISOString()); // a baseline push is a sign of life
    // with the branch in the same push: indexed once, by the branch
    const c = commit(gitdir, 'web-1', 40_000, [SSHD, nc(2)], b);
    expect(received(gitdir, [{ old: b, new: c, ref: 'refs/heads/hosts/web-1' }, { old: a, new: b, ref: 'refs/heads/baselines/web-1' }], 'web-1', T0 + 50_000)).toEqual({ indexed: ['web-1'], recorded: 1, problems: [] });
    // no branch for the host: nothing to index; a deletion, another ref: nothing recorded
    expect(received(gitdir, [{ old: ZERO, new: a, ref: 'refs/heads/baselines/web-9' }], 'web-9', T0 + 60_000)).toEqual({ indexed: [], recorded: 0, problems: [] });
    expect(received(gitdir, [{ old: a, new: ZERO, ref: 'refs/heads/baselines/web-1' }, { old: c, new: ZERO, ref: 'refs/heads/hosts/web-1' }, { old: ZERO, new: a, ref: 'refs/heads/master' }], 'web-1', T0 + 70_000))
      .toEqual({ indexed: [], recorded: 0, problems: [] });
    expect(readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(fleetStatus(gitdir, 60 * MIN, T0 + 71_000).map((r) => r.host)).toEqual(['web-1']);
  });
});
