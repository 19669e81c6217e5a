// From commits to spooled alerts, and from the spool through the hooks, on a real repository and
// real hook scripts: each commit's alert carries the owners only when they are its own (now is
// HEAD's moment), every commit spooled is recorded so alerting can resume after a reset, a reminder
// is an entry of its own, and hooks get the whole change, are retried alone when they fail, and a
// refused one is tried again only once it is made safe, or gone, or lsm flush --retry-dead says so.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver, raiseReminder, spoolPending, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { Spool } from '../../src/alert/spool.js';
import { commitSnapshot } from '../../src/store/commit.js';
import type { SnapshotLine } from '../../src/snapshot/index.js';
import type { Owner } from '../../src/types.js';
import { fakeSendmail } from '../helpers/config.js';

const T = Date.UTC(2026, 0, 1);
const line = (port: number) => `0.0.0.0:${port}  nc  root  /usr/bin/nc`;
const snap = (...ports: number[]) => new Map([['host/tcp', ports.map(line)]]);
const owner = (pid: number): Owner => ({ pid, comm: 'nc', exe: '/usr/bin/nc', uid: 0, user: 'root', cmdline: ['nc'], container: null, startedAt: null });
const now = (ports: number[]): Map<string, SnapshotLine[]> =>
  new Map([['host/tcp', ports.map((p) => ({ line: line(p), sockets: [{ owners: [owner(p)] }] as unknown as SnapshotLine['sockets'] }))]]);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mut-pending-'));
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: fakeSendmail(dir).path } }; // mail must be configured for an alert to leave the spool
  const alerts = (): Alert[] => readdirSync(s.spoolDir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(s.spoolDir, f), 'utf8')).alert);
  const spooledLog = () => readFileSync(join(s.repoDir, '.git', 'lsm', 'spooled'), 'utf8');
  return { dir, s, alerts, spooledLog };
}

describe('spooling the commits not alerted yet', () => {
  it("each commit is its own alert, oldest first; only HEAD's gets the owners seen now; each is recorded as spooled, once", async () => {
    const { s, alerts, spooledLog } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    expect(await spoolPending(s, now([1]))).toEqual({ added: 0, notes: [] }); // the first snapshot is the starting point
    const c2 = (await commitSnapshot(s.repoDir, snap(1, 2)))!;
    const c3 = (await commitSnapshot(s.repoDir, snap(1, 2, 3)))!;
    expect(await spoolPending(s, now([1, 2, 3]))).toEqual({ added: 2, notes: [] });
    const [a2, a3] = alerts();
    expect([a2.commit, a2.parent, a2.id, a3.commit, a3.parent]).toEqual([c2.commit, c2.parent, c2.commit, c3.commit, c2.commit]);
    expect(a2.added.map((l) => [l.line, l.owners.map((o) => o.pid)])).toEqual([[line(2), []]]); // port 2's owner now may not be the one of then
    expect(a3.added.map((l) => [l.line, l.owners.map((o) => o.pid)])).toEqual([[line(3), [3]]]);
    expect([a2.host, a2.repo, a2.summary]).toEqual(['web1', s.repoDir, c2.summary]);
    expect(a3.diff).toContain(`+${line(3)}\n`);
    expect(spooledLog()).toBe(`${c2.commit}\n${c3.commit}\n`);
    expect(readFileSync(join(s.repoDir, '.git', 'refs', 'lsm', 'alerted'), 'utf8')).toBe(`${c3.commit}\n`);
    expect(readFileSync(join(s.spoolDir, '.repo'), 'utf8')).toBe(`${s.repoDir}\n`);
    expect(await spoolPending(s, now([1, 2, 3]))).toEqual({ added: 0, notes: [] });
    expect(spooledLog()).toBe(`${c2.commit}\n${c3.commit}\n`);
  });

  it('a burst is one alert from before its first commit to HEAD, with the owners now, and every commit it covers recorded', async () => {
    const { s, alerts, spooledLog } = setup();
    const c1 = (await commitSnapshot(s.repoDir, snap(1)))!;
    await spoolPending(s, null);
    const c2 = (await commitSnapshot(s.repoDir, snap(1, 2)))!;
    const c3 = (await commitSnapshot(s.repoDir, snap(1, 2, 3)))!;
    expect(await spoolPending(s, now([1, 2, 3]), { coalesce: true })).toEqual({ added: 1, notes: [] });
    const [a] = alerts();
    expect([a.commit, a.parent, a.summary]).toEqual([c3.commit, c1.commit, '+2 -0: host/tcp +2']);
    expect(a.added.map((l) => [l.line, l.owners.map((o) => o.pid)])).toEqual([[line(2), [2]], [line(3), [3]]]);
    expect(a.time).toBe(c3.time);
    expect(spooledLog()).toBe(`${c2.commit}\n${c3.commit}\n`);
    // one commit alone is not a burst: its own alert
    const c4 = (await commitSnapshot(s.repoDir, snap(1, 2, 3, 4)))!;
    expect(await spoolPending(s, null, { coalesce: true })).toEqual({ added: 1, notes: [] });
    expect(alerts().map((x) => [x.commit, x.parent])).toEqual([[c3.commit, c1.commit], [c4.commit, c3.commit]]);
  });

  it('lsm watch (coalesce) on a new repository: the first snapshot raises nothing and makes no spool', async () => {
    const { s } = setup();
    await commitSnapshot(s.repoDir, snap(1, 2));
    expect(await spoolPending(s, now([1, 2]), { coalesce: true })).toEqual({ added: 0, notes: [] });
    expect(existsSync(s.spoolDir)).toBe(false);
  });

  it('a new repository alerts its first change without a note; a damaged ref is noted even then; the first snapshot makes no spool', async () => {
    const { s, alerts } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    expect(await spoolPending(s, null)).toEqual({ added: 0, notes: [] });
    expect(existsSync(s.spoolDir)).toBe(false);
    await commitSnapshot(s.repoDir, snap(1, 2));
    expect(await spoolPending(s, null)).toEqual({ added: 1, notes: [] });

    const t = setup();
    await commitSnapshot(t.s.repoDir, snap(1));
    await commitSnapshot(t.s.repoDir, snap(1, 2)); // never alerted: a new repository, two commits
    expect(await spoolPending(t.s, null)).toEqual({ added: 1, notes: [] });
    const u = setup();
    await commitSnapshot(u.s.repoDir, snap(1));
    await spoolPending(u.s, null);
    writeFileSync(join(u.s.repoDir, '.git', 'refs', 'lsm', 'alerted'), 'garbage\n');
    const c2 = (await commitSnapshot(u.s.repoDir, snap(1, 2)))!;
    expect(await spoolPending(u.s, null)).toEqual({ added: 1, notes: [`refs/lsm/alerted is damaged and no commit of this history was alerted before: alerted only the newest change (${c2.commit.slice(0, 10)}), not the whole history`] });
    expect(alerts()).toHaveLength(1);
  });

  it('where alerting resumes is known from the record of spooled commits once the spool is delivered, and from the spool without that record', async () => {
    const { s, spooledLog } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    const c2 = (await commitSnapshot(s.repoDir, snap(1, 2)))!;
    await spoolPending(s, null);
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 1 });
    expect(spooledLog()).toBe(`${c2.commit}\n`);
    const ref = join(s.repoDir, '.git', 'refs', 'lsm', 'alerted');
    rmSync(ref);
    const c3 = (await commitSnapshot(s.repoDir, snap(1, 2, 3)))!;
    expect((await spoolPending(s, null)).notes).toEqual([`refs/lsm/alerted is missing: alerted the 1 commit after ${c2.commit.slice(0, 10)}, the newest already alerted, not the whole history`]);
    // the record lost too, but the alert still in the spool (not delivered yet)
    rmSync(ref);
    writeFileSync(join(s.repoDir, '.git', 'lsm', 'spooled'), 'not a commit id\n');
    await commitSnapshot(s.repoDir, snap(1, 2, 3, 4));
    expect((await spoolPending(s, null)).notes).toEqual([`refs/lsm/alerted is missing: alerted the 1 commit after ${c3.commit.slice(0, 10)}, the newest already alerted, not the whole history`]);
  });

  it('a lost refs/lsm/alerted when HEAD itself was alerted and delivered already: nothing is alerted again', async () => {
    const { s, spooledLog } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    const c2 = (await commitSnapshot(s.repoDir, snap(1, 2)))!;
    await spoolPending(s, null);
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 1 });
    rmSync(join(s.repoDir, '.git', 'refs', 'lsm', 'alerted'));
    expect(await spoolPending(s, null)).toEqual({ added: 0, notes: [`refs/lsm/alerted is missing: HEAD (${c2.commit.slice(0, 10)}) was alerted already, nothing is alerted again`] });
    expect(existsSync(s.spoolDir) ? readdirSync(s.spoolDir).filter((f) => f.endsWith('.json')) : []).toEqual([]);
    expect(spooledLog()).toBe(`${c2.commit}\n`);
  });

  it('resuming after a lost refs/lsm/alerted counts the commits it alerts', async () => {
    const { s, alerts } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    const c2 = (await commitSnapshot(s.repoDir, snap(1, 2)))!;
    await spoolPending(s, null);
    rmSync(join(s.repoDir, '.git', 'refs', 'lsm', 'alerted'));
    await commitSnapshot(s.repoDir, snap(1, 2, 3));
    await commitSnapshot(s.repoDir, snap(1, 2, 3, 4));
    const r = await spoolPending(s, null);
    expect(r).toEqual({ added: 2, notes: [`refs/lsm/alerted is missing: alerted the 2 commits after ${c2.commit.slice(0, 10)}, the newest already alerted, not the whole history`] });
    expect(alerts()).toHaveLength(3);
  });
  it('a reset to the first snapshot then one change is not a new repository: the change is alerted, with a note that history was reset', async () => {
    const { s, alerts } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    await commitSnapshot(s.repoDir, snap(1, 2));
    const c3 = (await commitSnapshot(s.repoDir, snap(1, 2, 3)))!;
    await spoolPending(s, null);
    execFileSync('git', ['-C', s.repoDir, 'reset', '-q', '--hard', 'HEAD~2'], { stdio: 'pipe' });
    const c4 = (await commitSnapshot(s.repoDir, snap(1, 4)))!;
    expect(await spoolPending(s, null)).toEqual({ added: 1, notes: [
      `refs/lsm/alerted (${c3.commit.slice(0, 10)}) is not an ancestor of HEAD (history was reset) and no commit of this history was alerted before: alerted only the newest change (${c4.commit.slice(0, 10)}), not the whole history`,
    ] });
    expect(alerts().map((a) => a.commit).at(-1)).toBe(c4.commit);
  });
});

describe('a drift reminder', () => {
  it('is an entry of its own (its id names it a reminder and when), dated line by line, and leaves refs/lsm/alerted alone', async () => {
    const { s, alerts } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    const c2 = (await commitSnapshot(s.repoDir, snap(1, 2)))!;
    await spoolPending(s, null);
    const ref = readFileSync(join(s.repoDir, '.git', 'refs', 'lsm', 'alerted'), 'utf8');
    const since = new Map([[`host/tcp\n${line(2)}`, { commit: c2.commit, time: T - 5 }]]);
    await raiseReminder(s, { ...c2, time: T }, now([1, 2]), since);
    await raiseReminder(s, { ...c2, time: T + 1 }); // another day's reminder: another entry
    const [, r1, r2] = alerts();
    expect([r1.id, r1.commit, r1.reminder, r2.id]).toEqual([`${c2.commit}-reminder-${T}`, c2.commit, true, `${c2.commit}-reminder-${T + 1}`]);
    expect(r1.added).toEqual([{ path: 'host/tcp', line: line(2), owners: [expect.objectContaining({ pid: 2 })], since: { commit: c2.commit, time: T - 5 } }]);
    expect(r2.added[0].since).toBeUndefined();
    expect(readFileSync(join(s.repoDir, '.git', 'refs', 'lsm', 'alerted'), 'utf8')).toBe(ref);
  });
});

describe('hooks, through delivery', () => {
  function hooked() {
    const t = setup();
    mkdirSync(t.s.hooksDir);
    const hook = (name: string, body: string, mode = 0o755) => {
      writeFileSync(join(t.s.hooksDir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(t.s.hooksDir, name), mode);
    };
    return { ...t, hook };
  }
  const A = (n: number, parent: string | null = null): Alert => ({
    id: String(n).padStart(40, 'f'), commit: String(n).padStart(40, 'f'), parent, host: 'web1', time: T, summary: '+1 -0: host/tcp +1',
    added: [{ path: 'host/tcp', line: line(n), owners: [] }], removed: [], diff: `+${line(n)}\n`, repo: '/r',
  });

  it('a hook gets the change as JSON with its diff, and LSM_ID, LSM_PARENT (empty for none) and LSM_HOOK', async () => {
    const { dir, s, hook } = hooked();
    hook('10-json', `cat > ${dir}/in.json\nenv | grep '^LSM_' | sort > ${dir}/env`);
    await new Spool(s.spoolDir).add(A(1));
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 1, problems: [] });
    const input = JSON.parse(readFileSync(join(dir, 'in.json'), 'utf8'));
    expect(input).toEqual({ id: A(1).id, schema: 1, time: new Date(T).toISOString(), host: 'web1', commit: A(1).commit, parent: null, summary: A(1).summary,
      added: [{ path: 'host/tcp', line: line(1), owners: [] }], removed: [], repo: '/r', diff: `+${line(1)}\n` });
    const env = Object.fromEntries(readFileSync(join(dir, 'env'), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
    expect(env).toMatchObject({ LSM_ADDED: '1', LSM_COMMIT: A(1).commit, LSM_HOOK: join(s.hooksDir, '10-json'), LSM_HOST: 'web1', LSM_ID: A(1).id, LSM_PARENT: '', LSM_REMOVED: '0', LSM_REPO: '/r', LSM_SUMMARY: A(1).summary });
  });

  it('every failing hook is named with why; the others ran once; the channel retries after back-off, in order', async () => {
    const { dir, s, hook } = hooked();
    hook('10-ok', `echo "$LSM_COMMIT" >> ${dir}/ok.log`);
    hook('20-bad', `echo "no route to SIEM" >&2\necho more >&2\n[ -e ${dir}/fixed ] || exit 2`);
    hook('30-worse', `[ -e ${dir}/fixed ] || kill -TERM $$`);
    const spool = new Spool(s.spoolDir);
    await spool.add(A(1));
    await spool.add(A(2));
    const r1 = await deliver(s, { now: T });
    expect(r1).toMatchObject({ delivered: 0, pending: 2, dead: 0 });
    expect(r1.problems).toEqual([`alert ${A(1).commit.slice(0, 10)}: hooks: hook 20-bad: exit 2: no route to SIEM; 30-worse: exit SIGTERM`]);
    writeFileSync(join(dir, 'fixed'), '');
    expect(await deliver(s, { now: T + 59_999 })).toMatchObject({ delivered: 0, pending: 2, problems: [
      `2 alerts waiting for hooks, next try after ${new Date(T + 60_000).toISOString()} (last error: hook 20-bad: exit 2: no route to SIEM; 30-worse: exit SIGTERM; lsm flush tries now)`,
    ] });
    expect(await deliver(s, { now: T + 60_000 })).toMatchObject({ delivered: 2, pending: 0, problems: [] });
    expect(readFileSync(join(dir, 'ok.log'), 'utf8')).toBe(`${A(1).commit}\n${A(2).commit}\n`);
  });

  it('a refused hook makes the channel dead, without running any refused hook; deleting it or --retry-dead tries again', async () => {
    const { dir, s, hook } = hooked();
    hook('10-ok', `echo "$LSM_COMMIT" >> ${dir}/ok.log`);
    hook('20-open', `echo "$LSM_COMMIT" >> ${dir}/open.log`, 0o775);
    await new Spool(s.spoolDir).add(A(1));
    const r1 = await deliver(s, { now: T });
    expect(r1).toMatchObject({ delivered: 0, pending: 0, dead: 1 });
    expect(r1.problems).toEqual([
      `hook ${join(s.hooksDir, '20-open')} refused: writable by group (mode 775)`,
      `alert ${A(1).commit.slice(0, 10)}: hooks: hook 20-open refused (retried once made safe)`,
    ]);
    expect((await deliver(s, { now: T + 3_600_000, force: true })).problems).toEqual([]); // dead: not tried again by itself
    const r3 = await deliver(s, { now: T + 3_600_000, retryDead: true });
    expect(r3).toMatchObject({ dead: 1 });
    expect(r3.problems).toHaveLength(2); // tried again, refused again
    rmSync(join(s.hooksDir, '20-open'));
    expect(await deliver(s, { now: T + 3_600_000 })).toMatchObject({ delivered: 1, dead: 0, problems: [] });
    expect(readFileSync(join(dir, 'ok.log'), 'utf8')).toBe(`${A(1).commit}\n`);
    expect(() => readFileSync(join(dir, 'open.log'))).toThrow();
  });

  it('with several refused hooks the channel stays dead until every one of them is made safe; the error names them all', async () => {
    const { dir, s, hook } = hooked();
    hook('20-a', `echo a >> ${dir}/a.log`, 0o775);
    hook('30-b', `echo b >> ${dir}/b.log`, 0o775);
    await new Spool(s.spoolDir).add(A(1));
    const r1 = await deliver(s, { now: T });
    expect(r1.problems.at(-1)).toBe(`alert ${A(1).commit.slice(0, 10)}: hooks: hook 20-a, 30-b refused (retried once made safe)`);
    chmodSync(join(s.hooksDir, '20-a'), 0o755); // one made safe, the other still writable by its group
    expect(await deliver(s, { now: T + 3_600_000 })).toMatchObject({ delivered: 0, dead: 1, problems: [] });
    expect([existsSync(join(dir, 'a.log')), existsSync(join(dir, 'b.log'))]).toEqual([false, false]);
    chmodSync(join(s.hooksDir, '30-b'), 0o755);
    expect(await deliver(s, { now: T + 3_600_000 })).toMatchObject({ delivered: 1, dead: 0, problems: [] });
    expect([readFileSync(join(dir, 'a.log'), 'utf8'), readFileSync(join(dir, 'b.log'), 'utf8')]).toEqual(['a\n', 'b\n']);
  });

  it('a failing event log holds back later alerts on that channel only: hooks still run for each, in order', async () => {
    const { dir, s, hook } = hooked();
    hook('10-ok', `echo "$LSM_COMMIT" >> ${dir}/ok.log`);
    s.eventLog = join(dir, 'events.jsonl');
    mkdirSync(s.eventLog); // a directory where the log should be: every append fails
    const spool = new Spool(s.spoolDir);
    await spool.add(A(1));
    await spool.add(A(2));
    const r1 = await deliver(s, { now: T });
    expect(r1).toMatchObject({ delivered: 0, pending: 2 });
    expect(r1.problems).toHaveLength(1);
    expect(r1.problems[0]).toMatch(new RegExp(`^alert ${A(1).commit.slice(0, 10)}: eventlog: `));
    expect(readFileSync(join(dir, 'ok.log'), 'utf8')).toBe(`${A(1).commit}\n${A(2).commit}\n`);
    rmSync(s.eventLog, { recursive: true });
    expect(await deliver(s, { now: T, force: true })).toMatchObject({ delivered: 2, problems: [] });
    expect(readFileSync(s.eventLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l).id)).toEqual([A(1).id, A(2).id]);
    expect(readFileSync(join(dir, 'ok.log'), 'utf8')).toBe(`${A(1).commit}\n${A(2).commit}\n`); // not again
  });
});
