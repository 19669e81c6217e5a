// The layer's alert stage in-process (src/run/alerts.ts): the alert settings made from the run's
// (the one spool, event log, hooks; SMTP recipients qualified), spooling what is not alerted yet
// (its count, its notes on stderr, its failure with the code and data of the cause, kept for lsm
// status until a spool succeeds), and delivering (a sendmail stand-in that keeps what it is given;
// an event log that cannot record fails the run until it records; no mail said once).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { alertSettings, eventLogCaughtUp, flushAlerts, spoolAlerts } from '../../src/run/alerts.js';
import { spoolSummary } from '../../src/alert/index.js';
import { readProblems, trackProblems } from '../../src/run/outcome.js';
import { resolveSettings } from '../../src/run/settings.js';
import { scan } from '../../src/run/scan.js';
import { fakeSendmail } from '../helpers/config.js';
import { runWorld, stderrLines } from '../helpers/run-world.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); });

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
const entries = (spool: string) => readdirSync(spool).filter((f) => f.endsWith('.json')).sort();

describe('the alert settings', () => {
  it('are the run\'s: its spool, event log, hooks and mail; with SMTP every recipient is a full address', () => {
    const extra = { USER: 'root, admin@x.org', FROM: 'lsm@x.org', SUB: 'ports on $HOSTNAME', SMTP_INSECURE: 'yes' };
    const w = runWorld({ ...extra, SMTP_URL: 'smtp://mail.example:25' });
    const ctx = resolveSettings(w.args);
    expect(alertSettings(ctx)).toEqual({
      repoDir: w.repo, host: hostname(), hooksDir: join(w.conf, 'hooks.d'), spoolDir: w.spool, eventLog: w.events, repoFlag: true,
      mail: { to: [`root@${hostname()}`, 'admin@x.org'], from: 'lsm@x.org', subject: `ports on ${hostname()}`, smtpUrl: 'smtp://mail.example:25', sendmail: '', insecure: true },
    });
    const local = resolveSettings({ ...runWorld({ ...extra, SENDMAIL: '/usr/sbin/sendmail' }).args, repo: '/var/lib/lsm/snapshots' });
    expect(alertSettings(local).mail).toEqual({ to: ['root', 'admin@x.org'], from: 'lsm@x.org', subject: `ports on ${hostname()}`, smtpUrl: '', sendmail: '/usr/sbin/sendmail', insecure: true });
    expect(alertSettings(local).repoFlag).toBe(false);
  });
});

describe('spooling', () => {
  it('one alert for each commit not alerted yet, their count returned; none twice', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = resolveSettings(w.args);
    await scan(ctx, { alert: false });
    expect(await spoolAlerts(ctx, null)).toBe(0); // the first snapshot is no change
    w.listen(4444);
    await scan(ctx, { alert: false });
    w.listen(4445);
    await scan(ctx, { alert: false });
    expect(await spoolAlerts(ctx, null)).toBe(2);
    expect(entries(w.spool)).toHaveLength(2);
    expect(await spoolAlerts(ctx, null)).toBe(0);
    expect(git(w.repo, 'rev-parse', 'refs/lsm/alerted')).toBe(git(w.repo, 'rev-parse', 'HEAD'));
    // coalesced (lsm watch): one alert for both
    w.listen(4446);
    await scan(ctx, { alert: false });
    w.listen(4447);
    await scan(ctx, { alert: false });
    expect(await spoolAlerts(ctx, null, { coalesce: true })).toBe(1);
    expect(entries(w.spool)).toHaveLength(3);
  });

  it('what spooling noted is said on stderr, one line each', async () => {
    const w = runWorld();
    const said = stderrLines();
    const ctx = resolveSettings(w.args);
    await scan(ctx);
    w.listen(4444);
    await scan(ctx);
    const alerted = git(w.repo, 'rev-parse', 'HEAD');
    rmSync(join(w.repo, '.git', 'refs', 'lsm', 'alerted'));
    w.listen(4445);
    await scan(ctx, { alert: false });
    said.length = 0;
    expect(await spoolAlerts(ctx, null)).toBe(1);
    expect(said).toEqual([`lsm: refs/lsm/alerted is missing: alerted the 1 commit after ${alerted.slice(0, 10)}, the newest already alerted, not the whole history`]);
  });

  it('a failure keeps the cause\'s code and data (2: another repository\'s spool), fails the run, stays in lsm status until a spool succeeds', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = resolveSettings(w.args);
    trackProblems(ctx.repoDir);
    await scan(ctx);
    w.listen(4444);
    await scan(ctx, { alert: false });
    const other = join(w.dir, 'other');
    mkdirSync(w.spool, { recursive: true });
    writeFileSync(join(w.spool, '.repo'), `${other}\n`);
    const err = await spoolAlerts(ctx, null).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'SpoolClaimed', exitCode: 2, data: { spool: w.spool, owner: other, repo: resolve(w.repo) } });
    expect((err as Error).message).toMatch(/^cannot spool the alert \(the change is committed; the next run spools it\): spool .* belongs to repository /);
    expect(process.exitCode).toBe(2);
    expect(readProblems(w.repo).spool).toMatchObject({ exit: 2, message: (err as Error).message });
    // a file, or a symbolic link (to a real directory elsewhere), where the spool is: said as what it is
    // (never a bare ENOTDIR or EEXIST), refused, never followed: exit 1, kept for lsm status, flush refuses too
    rmSync(w.spool, { recursive: true });
    writeFileSync(w.spool, 'not a directory');
    const file = await spoolAlerts(ctx, null).then(() => null, (e: unknown) => e);
    expect(file).toMatchObject({ code: 'NotRecorded', exitCode: 1, data: { refused: 'a file', spool: w.spool } });
    expect((file as Error).message).toBe(`cannot spool the alert (the change is committed; the next run spools it): the spool directory ${w.spool} is a file, not a directory: refused, never followed; move it aside (mv ${w.spool} ${w.spool}.bad) and lsm makes a real one at the next run, or set SPOOL_DIR to a real directory`);
    expect(readProblems(w.repo).spool?.exit).toBe(1);
    rmSync(w.spool);
    const elsewhere = join(w.dir, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, w.spool);
    const link = await spoolAlerts(ctx, null).then(() => null, (e: unknown) => e);
    expect(link).toMatchObject({ code: 'NotRecorded', exitCode: 1, data: { refused: `a symbolic link to "${elsewhere}"`, spool: w.spool } });
    expect((link as Error).message).toMatch(/: the spool directory \S+ is a symbolic link to "\S+elsewhere", not a directory: refused, never followed; move it aside/);
    expect(await flushAlerts(ctx).then(() => null, (e: unknown) => e)).toMatchObject({ code: 'NotRecorded', data: { spool: w.spool } });
    expect(spoolSummary(w.spool).refused).toMatch(/is a symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]); // nothing written through it (not even the .repo claim)
    expect(readProblems(w.repo).spool?.message).toBe(spoolSummary(w.spool).refused); // the flush's refusal, the latest
    // the spool back: spooled, and the problem resolved
    rmSync(w.spool);
    expect(await spoolAlerts(ctx, null)).toBe(1);
    expect(readProblems(w.repo)).toEqual({});
    expect(existsSync(join(w.repo, '.git', 'lsm', 'problems.json'))).toBe(false);
    // refused again with nothing new to spool (the common run): the problem stays, since the run that first saw it
    await flushAlerts(ctx);
    rmSync(w.spool, { recursive: true });
    symlinkSync(elsewhere, w.spool);
    const run = async () => { expect(await spoolAlerts(ctx, null)).toBe(0); await flushAlerts(ctx).catch(() => null); return readProblems(w.repo).spool?.since; };
    const first = await run();
    await new Promise((r) => setTimeout(r, 20));
    expect([first, await run()]).toEqual([expect.any(Number), first]);
  });
});

describe('delivering', () => {
  it('mails what waits through the configured sendmail, to every recipient (a bare name too); the waiting count goes to 0; the event log caught up', async () => {
    const w = runWorld();
    const mail = fakeSendmail(w.dir);
    const ctx = resolveSettings({ ...w.args, config: runWorld({ SENDMAIL: mail.path, SPOOL_DIR: w.spool, EVENT_LOG: w.events, USER: 'root, ops@x.org', FROM: 'lsm@x.org' }).config });
    const said = stderrLines();
    await scan(ctx);
    w.listen(4444);
    await scan(ctx, { alert: false });
    await spoolAlerts(ctx, null);
    expect(eventLogCaughtUp(ctx)).toBe(false);
    const report = await flushAlerts(ctx);
    expect(report).toMatchObject({ delivered: 1, pending: 0, dead: 0, problems: [], mailUnconfigured: false });
    expect(readdirSync(mail.outbox)).toHaveLength(1);
    expect(readFileSync(join(mail.outbox, readdirSync(mail.outbox)[0]), 'utf8').split('\n')[0]).toBe('X-Sendmail-Args: -i -f lsm@x.org root ops@x.org');
    expect(readFileSync(w.events, 'utf8')).toContain('0.0.0.0:4444');
    expect(eventLogCaughtUp(ctx)).toBe(true);
    expect(said).toEqual([]);
  });

  it('an event log that cannot record fails the run (1) until it records, its back-off too; mail still waiting is no such failure', async () => {
    const w = runWorld();
    const said = stderrLines();
    const ctx = resolveSettings(w.args);
    trackProblems(ctx.repoDir);
    await scan(ctx);
    mkdirSync(w.events); // a directory where the log should be: appending fails
    w.listen(4444);
    await scan(ctx, { alert: false });
    await spoolAlerts(ctx, null);
    said.length = 0;
    let report = await flushAlerts(ctx);
    expect(report.unrecorded).toBe(1);
    const line = report.problems.find((p) => p.includes(': eventlog: '))!;
    expect(line).toBeTruthy();
    expect(said).toContain(`lsm: ${line}`);
    expect(process.exitCode).toBe(1);
    expect(readProblems(w.repo).eventlog).toMatchObject({ exit: 1, message: line });
    // the log fixed, but the alert waits out its back-off: still failing, still said in status
    rmSync(w.events, { recursive: true });
    process.exitCode = undefined;
    report = await flushAlerts(ctx);
    expect([report.unrecorded, report.pending]).toEqual([undefined, 1]);
    expect(process.exitCode).toBe(1);
    expect(readProblems(w.repo).eventlog).toMatchObject({ exit: 1, message: line });
    // flushed now: recorded; mail still waits (none configured), which fails nothing
    process.exitCode = undefined;
    report = await flushAlerts(ctx, { force: true });
    expect(report.pending).toBe(1);
    expect(eventLogCaughtUp(ctx)).toBe(true);
    expect(readProblems(w.repo)).toEqual({});
    expect(process.exitCode).toBeUndefined();
    expect(readFileSync(w.events, 'utf8')).toContain('0.0.0.0:4444');
  });

  it('with nothing waiting an event log problem another run left is resolved', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = resolveSettings(w.args);
    await scan(ctx);
    mkdirSync(join(w.repo, '.git', 'lsm'), { recursive: true });
    writeFileSync(join(w.repo, '.git', 'lsm', 'problems.json'), JSON.stringify({ eventlog: { since: 1, exit: 1, message: 'full' } }));
    trackProblems(ctx.repoDir);
    const report = await flushAlerts(ctx);
    expect([report.pending, report.dead]).toEqual([0, 0]);
    expect(readProblems(w.repo)).toEqual({});
    expect(eventLogCaughtUp(ctx)).toBe(true);
  });

  it('no mail configured: said once, where the alerts stay and what to set', async () => {
    const w = runWorld();
    const said = stderrLines();
    const ctx = resolveSettings(w.args);
    await scan(ctx);
    w.listen(4444);
    await scan(ctx);
    const told = `lsm: no mail delivery: no sendmail on this machine and no SMTP_URL in the config; alerts stay in ${w.spool} (lsm status shows them). Set SMTP_URL or SENDMAIL, then run lsm flush`;
    expect(said.filter((l) => l === told)).toHaveLength(1);
    expect(said.filter((l) => l.includes('no mail delivery'))).toHaveLength(1);
    const report = await flushAlerts(ctx, { force: true });
    expect(report.mailUnconfigured).toBe(true);
    expect(said.filter((l) => l.includes('no mail delivery'))).toHaveLength(1); // not again
    expect(existsSync(join(w.spool, '.told-no-mail'))).toBe(true);
    // the marker a FIFO or a link (to a file that is there): never followed nor taken as told; the note
    // is said again, with one line naming the damage, and the run exits 65
    const marker = join(w.spool, '.told-no-mail');
    const elsewhere = join(w.spool, '..', 'elsewhere');
    writeFileSync(elsewhere, '');
    for (const [plant, what] of [[() => execFileSync('mkfifo', [marker]), 'a FIFO'], [() => symlinkSync(elsewhere, marker), `a symbolic link to ${JSON.stringify(elsewhere)}`]] as const) {
      rmSync(marker);
      plant();
      const before = said.length;
      process.exitCode = undefined;
      await flushAlerts(ctx, { force: true });
      expect([process.exitCode, said.slice(before)]).toEqual([65, [told, `lsm: spool ${marker} is ${what}, not a file lsm made: damage, never followed; move it aside (mv ${marker} ${marker}.damaged), then lsm says once more that mail is not configured`]]);
    }
  });
});
