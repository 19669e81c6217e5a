// The post-receive side against real git: a push is recorded and indexed in the hook; the central
// alerts are spooled afterwards from that record (lsm fleet deliver / check), once per commit, and
// a record made while no delivery ran is still spooled later: nothing is lost between the two.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../src/alert/spool.js';
import { markSeen, readHostNow } from '../../src/fleet/catalog.js';
import { ZERO } from '../../src/fleet/guard.js';
import { drainQueue, drainWhileQueued, received, spoolReceived } from '../../src/fleet/receive.js';
import { centralFailing, recordCentralProblems } from '../../src/fleet/central-state.js';

const T0 = Date.parse('2026-11-01T00:00:00Z') / 1000;
const FILES = ['host/udp', 'host/raw', 'host/packet', 'host/unix'];

function commit(gitdir: string, host: string, t: number, tcp: string[], parent?: string): string {
  const text = tcp.join('\n') + '\n';
  let s = `commit refs/heads/hosts/${host}\ncommitter lsm <lsm@${host}> ${T0 + t} +0000\ndata 6\nchange\n${parent ? `from ${parent}\n` : ''}deleteall\n`;
  for (const [p, body] of [['host/tcp', text], ...FILES.map((f) => [f, ''])]) s += `M 100644 inline ${p}\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  execFileSync('git', ['--git-dir', gitdir, 'fast-import', '--quiet'], { input: s });
  return execFileSync('git', ['--git-dir', gitdir, 'rev-parse', `refs/heads/hosts/${host}`], { encoding: 'utf8' }).trim();
}

describe('fleet receive', () => {
  it('records and indexes in the hook; spools one alert per commit afterwards, from the record, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-fleet-receive-'));
    const gitdir = join(dir, 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const alerts = { spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks.d'), mail: { sendmail: '', smtpUrl: '', to: [] } } as unknown as Parameters<typeof spoolReceived>[1];
    const sshd = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
    const a = commit(gitdir, 'web-1', 0, [sshd]);
    const b = commit(gitdir, 'web-1', 10, [sshd, '0.0.0.0:4444  nc  root  /usr/bin/nc'], a);
    const c = commit(gitdir, 'web-1', 20, [sshd, '0.0.0.0:4445  nc  root  /usr/bin/nc'], b);
    // the hook: one push of three commits (the first is the host's starting point, no alert)
    const r = received(gitdir, [{ old: ZERO, new: c, ref: 'refs/heads/hosts/web-1' }], 'web-1', (T0 + 30) * 1000);
    expect(r).toEqual({ indexed: ['web-1'], recorded: 1, problems: [] });
    expect(readHostNow(gitdir, 'web-1')!.tip).toBe(c);
    expect(new Spool(alerts.spoolDir).list()).toHaveLength(0); // nothing spooled inside the push
    // a second push arrives before any delivery ran (its process died, say)
    const d = commit(gitdir, 'web-1', 40, [sshd], c);
    received(gitdir, [{ old: c, new: d, ref: 'refs/heads/hosts/web-1' }], 'web-1', (T0 + 50) * 1000);
    received(gitdir, [{ old: d, new: d, ref: 'refs/heads/hosts/web-1' }], 'web-1', (T0 + 60) * 1000); // a heartbeat: not recorded
    expect(readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    // a queued push drained after a later heartbeat (which the hook wrote itself) does not move 'seen' back
    expect(readFileSync(join(gitdir, 'lsm', 'seen', 'web-1'), 'utf8')).toBe(String((T0 + 60) * 1000));
    received(gitdir, [{ old: d, new: d, ref: 'refs/heads/hosts/web-1' }], 'web-1', (T0 + 55) * 1000);
    expect(readFileSync(join(gitdir, 'lsm', 'seen', 'web-1'), 'utf8')).toBe(String((T0 + 60) * 1000));
    const first = await spoolReceived(gitdir, alerts, { interval: 0 });
    expect(first).toEqual({ spooled: 3, problems: [] });
    const ids = new Spool(alerts.spoolDir).list().map((e) => e.alert.id).sort();
    expect(ids).toEqual([b, c, d].map((x) => `${x}-fleet-host-web-1`).sort());
    // spooled once: a later run (delivered meanwhile: the spool emptied) spools nothing again
    const spool = new Spool(alerts.spoolDir);
    for (const e of spool.list()) spool.remove(e);
    expect(await spoolReceived(gitdir, alerts, { interval: 0 })).toEqual({ spooled: 0, problems: [] });
    // a record being written (no newline yet) waits for the next run
    writeFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8') + '{"t":1,"host":"web-1"');
    expect(await spoolReceived(gitdir, alerts, { interval: 0 })).toEqual({ spooled: 0, problems: [] });
  });

  it('one process spools push after push, and a repack between them (packs replaced) changes nothing it reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-fleet-spool-'));
    const gitdir = join(dir, 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    execFileSync('git', ['--git-dir', gitdir, 'config', 'fastimport.unpackLimit', '0']); // each import a pack
    const alerts = { spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks.d'), mail: { sendmail: '', smtpUrl: '', to: [] } } as unknown as Parameters<typeof spoolReceived>[1];
    const sshd = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
    let tip = commit(gitdir, 'web-1', 0, [sshd]);
    received(gitdir, [{ old: ZERO, new: tip, ref: 'refs/heads/hosts/web-1' }], 'web-1', T0 * 1000);
    const packs = () => readdirSync(join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).sort();
    for (let i = 1; i <= 3; i++) {
      const next = commit(gitdir, 'web-1', i * 10, [sshd, `0.0.0.0:${4440 + i}  nc  root  /usr/bin/nc`], tip);
      received(gitdir, [{ old: tip, new: next, ref: 'refs/heads/hosts/web-1' }], 'web-1', (T0 + i * 10) * 1000);
      tip = next;
      const before = packs();
      if (i === 2) execFileSync('git', ['--git-dir', gitdir, 'gc', '--quiet']); // what the drain's gc --auto does
      if (i === 2) expect(packs().some((p) => before.includes(p))).toBe(false);
      expect(await spoolReceived(gitdir, alerts, { interval: 0 })).toEqual({ spooled: 1, problems: [] });
      const spooled = new Spool(alerts.spoolDir).list().find((e) => e.alert.id === `${next}-fleet-host-web-1`)!;
      expect(spooled.alert.diff).toContain(`+0.0.0.0:${4440 + i}  nc  root  /usr/bin/nc\n`);
      if (i > 1) expect(spooled.alert.diff).toContain(`-0.0.0.0:${4439 + i}  nc  root  /usr/bin/nc\n`);
    }
  });

  it("drains what the post-receive hook queued: recorded at the time it arrived, oldest first, then gone", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-fleet-queue-'));
    const gitdir = join(dir, 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const a = commit(gitdir, 'web-1', 0, ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']);
    const b = commit(gitdir, 'web-1', 10, ['0.0.0.0:23  telnetd  root  /usr/sbin/telnetd'], a);
    const q = join(gitdir, 'lsm', 'queue');
    mkdirSync(q, { recursive: true });
    // the hook's form: the user (newlines made spaces), then git's update lines; '.tmp' is one being written
    writeFileSync(join(q, '1793491300000-12'), `web-1\n${a} ${b} refs/heads/hosts/web-1\n`);
    writeFileSync(join(q, '1793491200000-11'), `web-1\n${ZERO} ${a} refs/heads/hosts/web-1\n`);
    writeFileSync(join(q, '1793491400000-13.tmp'), 'web-1\n');
    expect(drainQueue(gitdir)).toEqual({ indexed: ['web-1', 'web-1'], recorded: 2, problems: [] });
    const records = readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toEqual([{ t: 1793491200000, host: 'web-1', old: ZERO, new: a, user: 'web-1' }, { t: 1793491300000, host: 'web-1', old: a, new: b, user: 'web-1' }]);
    expect(readHostNow(gitdir, 'web-1')).toMatchObject({ tip: b, received: 1793491300000 });
    expect(existsSync(join(q, '1793491200000-11'))).toBe(false);
    expect(existsSync(join(q, '1793491400000-13.tmp'))).toBe(true);
    expect(drainQueue(gitdir)).toEqual({ indexed: [], recorded: 0, problems: [] });
  });

  it('a drain takes what is queued while it waits for more, and ends when nothing comes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-fleet-drain-'));
    const gitdir = join(dir, 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const alerts = { spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks.d'), mail: { sendmail: '', smtpUrl: '', to: [] } } as unknown as Parameters<typeof spoolReceived>[1];
    const q = join(gitdir, 'lsm', 'queue');
    mkdirSync(q, { recursive: true });
    const tips = ['web-1', 'web-2', 'web-3'].map((h) => commit(gitdir, h, 0, [`0.0.0.0:22  sshd  root  /usr/sbin/sshd-${h}`]));
    const queue = (i: number) => writeFileSync(join(q, `${1793491200000 + i}-${i}`), `web-${i + 1}\n${ZERO} ${tips[i]} refs/heads/hosts/web-${i + 1}\n`);
    const recorded = () => readFileSync(join(gitdir, 'lsm', 'pushes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).host);
    queue(0);
    const later = setTimeout(() => queue(1), 300); // a push while the drain waits for more
    await drainWhileQueued(gitdir, alerts, { interval: 0 }, { lingerMs: 1500, shiftMs: 60_000 });
    clearTimeout(later);
    expect(recorded()).toEqual(['web-1', 'web-2']);
    expect(readdirSync(q)).toEqual([]);
    // a shift's end: the drain stops even with pushes queued (the hook's loop starts the next)
    queue(2);
    writeFileSync(join(q, '1793491200009-9.tmp'), 'web-1\n'); // one being written: not a push yet
    await drainWhileQueued(gitdir, alerts, { interval: 0 }, { lingerMs: 0, shiftMs: 0 });
    expect(recorded()).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('a push queued for longer than two minutes is a central failure (no drain ran, or one died mid-way), said beside what the last run recorded', () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-stale-'));
    const now = Date.parse('2026-12-01T12:00:00Z');
    mkdirSync(join(gitdir, 'lsm', 'queue'), { recursive: true });
    writeFileSync(join(gitdir, 'lsm', 'queue', `${now - 60_000}-7`), 'web-1\n');
    writeFileSync(join(gitdir, 'lsm', 'queue', `${now - 119_999}-8.tmp`), ''); // one being written: not a push yet
    expect(centralFailing(gitdir, now)).toBeNull();
    writeFileSync(join(gitdir, 'lsm', 'queue', `${now - 120_000}-9`), 'web-2\n');
    expect(centralFailing(gitdir, now)).toEqual({ since: now - 120_000, problems: ['2 pushes queued since 2026-12-01T11:58:00.000Z not recorded yet (no drain ran since, or it died; lsm fleet check drains them)'] });
    writeFileSync(join(gitdir, 'lsm', 'central-failing'), JSON.stringify({ since: now - 600_000, problems: ['mail: refused'] }));
    expect(centralFailing(gitdir, now)).toEqual({ since: now - 600_000, problems: [expect.stringMatching(/^2 pushes queued since/), 'mail: refused'] });
  });

  it('a push the drain could not record: how many wait behind it is counted when asked, not when the drain wrote it', () => {
    const gitdir = join(mkdtempSync(join(tmpdir(), 'lsm-fleet-waiting-')), 'fleet.git');
    execFileSync('git', ['init', '--quiet', '--bare', gitdir]);
    const a = commit(gitdir, 'web-1', 0, ['0.0.0.0:22  sshd  root  /usr/sbin/sshd']);
    const now = Date.parse('2026-12-01T12:00:00Z');
    const q = join(gitdir, 'lsm', 'queue');
    mkdirSync(join(gitdir, 'lsm', 'seen', 'web-1', 'x'), { recursive: true }); // what the drain renames onto: a directory, not empty
    mkdirSync(q, { recursive: true });
    writeFileSync(join(q, `${now - 1000}-7`), `web-1\n${ZERO} ${a} refs/heads/hosts/web-1\n`);
    const { problems } = drainQueue(gitdir);
    expect(problems).toEqual([expect.stringMatching(/^the push queued as lsm\/queue\/\d+-7 cannot be recorded \(kept, retried next time; 1 push waits\): /)]);
    writeFileSync(join(gitdir, 'lsm', 'central-failing'), JSON.stringify({ since: now - 1000, problems }));
    writeFileSync(join(q, `${now - 500}-8`), 'web-2\n'); // a later push, queued after the drain stopped
    expect(centralFailing(gitdir, now)?.problems).toEqual([expect.stringContaining('(kept, retried next time; 2 pushes wait): ')]);
  });

  it("a link planted at the name of a temporary file the server writes (lsm/central-failing's, lsm/seen/<host>'s: <name>.<pid>.tmp) is removed, never written through", () => {
    const gitdir = mkdtempSync(join(tmpdir(), 'lsm-fleet-tmp-'));
    const victim = join(gitdir, 'victim');
    writeFileSync(victim, 'kept\n');
    mkdirSync(join(gitdir, 'lsm', 'seen'), { recursive: true });
    symlinkSync(victim, join(gitdir, 'lsm', `central-failing.${process.pid}.tmp`));
    symlinkSync(victim, join(gitdir, 'lsm', 'seen', `web-1.${process.pid}.tmp`));
    recordCentralProblems(gitdir, ['mail: refused'], 1000);
    markSeen(gitdir, 'web-1', 2000);
    expect(readFileSync(victim, 'utf8')).toBe('kept\n');
    expect(JSON.parse(readFileSync(join(gitdir, 'lsm', 'central-failing'), 'utf8'))).toEqual({ since: 1000, problems: ['mail: refused'] });
    expect([lstatSync(join(gitdir, 'lsm', 'seen', 'web-1')).isFile(), readFileSync(join(gitdir, 'lsm', 'seen', 'web-1'), 'utf8')]).toEqual([true, '2000']);
    expect(readdirSync(join(gitdir, 'lsm')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
