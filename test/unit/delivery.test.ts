// Delivery on a real spool directory with real hooks (shell scripts) and a sendmail stand-in that
// keeps what it is given: back-off, order, hooks' retries and environment, and the escaping of
// owners' exe and command line in every channel. Time is passed in (deliver's `now`), so back-off
// is checked to the millisecond without waiting.
import { describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { deliver, type AlertSettings } from '../../src/alert/index.js';
import { buildAlert, type Alert } from '../../src/alert/message.js';
import { Spool } from '../../src/alert/spool.js';
import { fakeSendmail } from '../helpers/config.js';

const T = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const alert = (n: number): Alert => ({
  id: String(n).padStart(40, 'a'), commit: String(n).padStart(40, 'a'), parent: String(n - 1).padStart(40, 'a'), host: 'web1', time: T + n,
  summary: '+1 -0: host/tcp +1', added: [{ path: 'host/tcp', line: `0.0.0.0:${n}  nc  root  /usr/bin/nc`, owners: [] }], removed: [], diff: '', repo: '/r',
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-deliver-'));
  const hooks = join(dir, 'hooks');
  mkdirSync(hooks, { mode: 0o755 });
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: hooks, host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: fakeSendmail(dir).path } };
  /** A hook that records each run (its commit) in LOG, and fails while FAIL exists. */
  const hook = (name: string) => {
    const log = join(dir, `${name}.log`);
    const fail = join(dir, `${name}.fail`);
    writeFileSync(join(hooks, name), `#!/bin/sh\necho "$LSM_COMMIT" >> ${log}\n[ -e ${fail} ] && exit 1\nexit 0\n`, { mode: 0o700 });
    return {
      runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((c) => Number(c.replace(/^a+/, ''))) : []),
      failing: (on: boolean) => (on ? writeFileSync(fail, '') : rmSync(fail, { force: true })),
    };
  };
  return { dir, s, hook };
}

describe('delivery', () => {
  it('backs off a failing channel 1 min, 2, 4, 8 ... doubling up to 1 h, and says until when', async () => {
    const { s, hook } = setup();
    const h = hook('10-fail');
    h.failing(true);
    await new Spool(s.spoolDir).add(alert(1));
    let now = T;
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await deliver(s, { now });
      expect(r).toMatchObject({ delivered: 0, pending: 1 });
      // one run later than now: it waits, and says until when
      const waiting = await deliver(s, { now: now + 1 });
      const until = Date.parse(/next try after (\S+) /.exec(waiting.problems.join('\n'))![1]);
      waits.push((until - now) / MIN);
      now = until;
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    expect(h.runs()).toHaveLength(9); // tried once per due run, never while waiting
    h.failing(false);
    expect(await deliver(s, { now })).toMatchObject({ delivered: 1, pending: 0 });
  });

  it('keeps the order: after a transient failure of the oldest alert, later ones wait behind it', async () => {
    const { s, hook } = setup();
    const h = hook('10-record');
    const spool = new Spool(s.spoolDir);
    for (const n of [1, 2, 3]) await spool.add(alert(n));
    h.failing(true);
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 0, pending: 3 });
    expect(h.runs()).toEqual([1]); // 2 and 3 not tried before 1
    h.failing(false);
    expect(await deliver(s, { now: T + 1, force: true })).toMatchObject({ delivered: 3, pending: 0 });
    expect(h.runs()).toEqual([1, 1, 2, 3]);
  });

  it('retries a failed hook with its alert, never one that succeeded, and gives hooks the LSM_* variables', async () => {
    const { dir, s, hook } = setup();
    const ok = hook('10-ok');
    const flaky = hook('20-flaky');
    writeFileSync(join(s.hooksDir, '30-env'), `#!/bin/sh\nenv | grep '^LSM_' | sort > ${join(dir, 'env')}\n`, { mode: 0o700 });
    await new Spool(s.spoolDir).add(alert(7));
    flaky.failing(true);
    const first = await deliver(s, { now: T });
    expect(first).toMatchObject({ delivered: 0, pending: 1 });
    expect(first.problems.join('\n')).toMatch(/hook 20-flaky: /);
    flaky.failing(false);
    expect(await deliver(s, { now: T + MIN })).toMatchObject({ delivered: 1 });
    expect([ok.runs(), flaky.runs()]).toEqual([[7], [7, 7]]);
    const a = alert(7);
    // docs/alerts.md's seven (others, like LSM_ID and LSM_HOOK, may come beside them)
    const env = Object.fromEntries(readFileSync(join(dir, 'env'), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
    expect(env).toMatchObject({ LSM_ADDED: '1', LSM_COMMIT: a.commit, LSM_HOST: 'web1', LSM_PARENT: a.parent, LSM_REMOVED: '0', LSM_REPO: '/r', LSM_SUMMARY: a.summary });
  });

  it("escapes owners' exe and command line in the mail, the event log and the hooks' JSON", async () => {
    const { dir, s } = setup();
    const sendmail = { outbox: join(dir, 'outbox') }; // setup's
    s.eventLog = join(dir, 'events.jsonl');
    writeFileSync(join(s.hooksDir, '10-json'), `#!/bin/sh\ncat > ${join(dir, 'hook.json')}\n`, { mode: 0o700 });
    const line = '0.0.0.0:4444  nc  root  /tmp/x';
    const owner = { pid: 42, comm: 'nc', exe: '/tmp/x\n0.0.0.0:22  sshd', uid: 0, user: 'root', cmdline: ['nc\x1b[2J', '-l\n4444', 'a b'], container: null, startedAt: T };
    const a = buildAlert({ commit: 'c'.repeat(40), parent: null, time: T, summary: '+1 -0: host/tcp +1', files: [{ path: 'host/tcp', added: [line], removed: [] }] },
      new Map([['host/tcp', [{ line, sockets: [{ owners: [owner] }] } as never]]]), '', 'web1', '/r');
    expect(a.added[0].owners[0]).toMatchObject({ exe: '/tmp/x\\x0a0.0.0.0:22\\x20\\x20sshd', cmdline: "$'nc\\x1b[2J' $'-l\\x0a4444' 'a b'" });
    await new Spool(s.spoolDir).add(a);
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 1 });

    const mail = await simpleParser(readFileSync(join(sendmail.outbox, readdirSync(sendmail.outbox)[0])));
    expect(mail.text).toContain('exe /tmp/x\\x0a0.0.0.0:22\\x20\\x20sshd\n');
    expect(mail.text).toContain("cmdline $'nc\\x1b[2J' $'-l\\x0a4444' 'a b'\n");
    expect(mail.text).not.toMatch(/[\x1b]|\n0\.0\.0\.0:22|\n4444/); // nothing raw: no forged line, no terminal escape
    const event = JSON.parse(readFileSync(s.eventLog, 'utf8'));
    const hookJson = JSON.parse(readFileSync(join(dir, 'hook.json'), 'utf8'));
    for (const o of [event.added[0].owners[0], hookJson.added[0].owners[0]]) {
      expect(o).toMatchObject({ exe: '/tmp/x\\x0a0.0.0.0:22\\x20\\x20sshd', cmdline: "$'nc\\x1b[2J' $'-l\\x0a4444' 'a b'" });
    }
  });
});

// The wall clock can be stepped (an NTP correction, a wrong BIOS time put right) between two runs,
// and each run is a new process: the spool's times are wall-clock times, read by a later clock.
describe('delivery under a stepped clock', () => {
  const DAY = 24 * 60 * MIN;

  it('a clock stepped back a day: the failed channel is retried within its back-off of the new time, not a day later', async () => {
    const { s, hook } = setup();
    const h = hook('10-flaky');
    h.failing(true);
    await new Spool(s.spoolDir, () => T + DAY).add(alert(1));
    expect(await deliver(s, { now: T + DAY })).toMatchObject({ delivered: 0, pending: 1 }); // next try at T + DAY + 1 min
    h.failing(false);
    // within its back-off it waits, as ever; a step back of a day leaves it further ahead than that
    expect((await deliver(s, { now: T + DAY })).problems.join('\n')).toMatch(/1 alert waiting for hooks, next try after /);
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 1, pending: 0 });
    expect(h.runs()).toEqual([1, 1]);
  });

  it('waits exactly its back-off and no more: a time one ms further ahead than the back-off that set it is due', async () => {
    const { s, hook } = setup();
    const h = hook('10-flaky');
    h.failing(true);
    await new Spool(s.spoolDir, () => T).add(alert(1));
    await deliver(s, { now: T }); // 1st failure: 1 min
    await deliver(s, { now: T + MIN }); // 2nd: 2 min, next try at T + 3 min
    expect(h.runs()).toEqual([1, 1]);
    expect(await deliver(s, { now: T + MIN })).toMatchObject({ pending: 1 }); // 2 min ahead: its back-off
    expect(h.runs()).toEqual([1, 1]);
    expect(await deliver(s, { now: T + MIN - 1 })).toMatchObject({ pending: 1 }); // stepped back 1 ms: due
    expect(h.runs()).toEqual([1, 1, 1]);
  });

  it('a clock stepped forward a year: what waits is retried at once, and nothing is dead', async () => {
    const { s, hook } = setup();
    const h = hook('10-flaky');
    h.failing(true);
    await new Spool(s.spoolDir, () => T).add(alert(1));
    await deliver(s, { now: T });
    h.failing(false);
    expect(await deliver(s, { now: T + 365 * DAY })).toMatchObject({ delivered: 1, pending: 0, dead: 0 });
  });

  it('alerts leave in the order they were spooled, whatever the clock said when each was', async () => {
    const { s, hook } = setup();
    const h = hook('10-record');
    // spooled a day ahead, then the clock is put right; later one that was 2 days ahead, put right again
    const at = [T + DAY, T, T, T + 2 * DAY, T - DAY];
    for (const [i, t] of at.entries()) await new Spool(s.spoolDir, () => t).add(alert(i + 1));
    const entries = new Spool(s.spoolDir).list();
    expect(entries.map((e) => e.commit)).toEqual([1, 2, 3, 4, 5].map((n) => alert(n).commit));
    // when each was spooled: by the clock then, or just after the entry before it
    expect(entries.map((e) => e.spooledAt - T)).toEqual([DAY, DAY + 1, DAY + 2, 2 * DAY, 2 * DAY + 1]);
    expect(await deliver(s, { now: T })).toMatchObject({ delivered: 5 });
    expect(h.runs()).toEqual([1, 2, 3, 4, 5]);
    // an empty spool starts again from the clock
    await new Spool(s.spoolDir, () => T).add(alert(6));
    expect(new Spool(s.spoolDir).list().map((e) => e.spooledAt)).toEqual([T]);
  });
});
