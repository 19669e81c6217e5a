// deliver() on real spool directories, real hook scripts and a real event log: a spool that does
// not exist is not made; what a channel that recovers leaves in the state (no stale error for
// lsm status); the waiting count; the hook's input as one line; delivered, pending and dead counted.
import { describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver, spoolSummary, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { Spool } from '../../src/alert/spool.js';

const T = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const hex = (n: number) => String(n).padStart(40, '9');
const alert = (n: number): Alert => ({
  id: hex(n), commit: hex(n), parent: null, host: 'web1', time: T + n,
  summary: '+1 -0: host/tcp +1', added: [{ path: 'host/tcp', line: `0.0.0.0:${n}  nc  root  /usr/bin/nc`, owners: [] }], removed: [], diff: '', repo: '/r',
});
const fresh = { done: false, dead: false, attempts: 0, nextAttempt: 0, lastError: null };
const entryName = (n: number) => `${String(1_700_000_000_000 + n).padStart(14, '0')}-000000-${hex(n)}.json`;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-mut-deliver-'));
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog: join(dir, 'events.jsonl'), hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: '' } }; // mail unconfigured: entries stay in the spool
  mkdirSync(s.hooksDir);
  const hook = (name: string, body: string) => writeFileSync(join(s.hooksDir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const state = (e: string) => JSON.parse(readFileSync(join(s.spoolDir, e.replace(/\.json$/, '.state')), 'utf8'));
  return { dir, s, hook, state };
}

describe('a spool with nothing to deliver', () => {
  it('a spool that does not exist gives an empty report and is not made; one holding only lsm\'s own files and its quarantine gives an empty report', async () => {
    const { s } = setup();
    expect(await deliver(s, { now: T })).toEqual({ delivered: 0, pending: 0, dead: 0, problems: [], mailUnconfigured: false });
    expect(existsSync(s.spoolDir)).toBe(false);
    mkdirSync(join(s.spoolDir, 'quarantine'), { recursive: true });
    writeFileSync(join(s.spoolDir, '.repo'), `${s.repoDir}\n`);
    writeFileSync(join(s.spoolDir, '.told-no-mail'), '');
    writeFileSync(join(s.spoolDir, 'quarantine', '1-x.json'), '');
    expect(await deliver(s, { now: T })).toEqual({ delivered: 0, pending: 0, dead: 0, problems: [], mailUnconfigured: false });
    expect(readdirSync(s.spoolDir).sort()).toEqual(['.repo', '.told-no-mail', 'quarantine']);
  });
});

describe('the state a run leaves', () => {
  it('a channel that succeeds after failing is recorded done with its error cleared: lsm status shows no stale error while mail is not configured', async () => {
    const { dir, s, hook, state } = setup();
    hook('10-flaky', `[ -e ${dir}/fixed ] || { echo down >&2; exit 1; }`);
    mkdirSync(s.eventLog); // a directory where the log goes: the append fails
    await new Spool(s.spoolDir).add(alert(1));
    const [name] = readdirSync(s.spoolDir).filter((f) => f.endsWith('.json'));
    const r1 = await deliver(s, { now: T });
    expect(r1).toMatchObject({ delivered: 0, pending: 1, dead: 0, mailUnconfigured: true });
    expect(r1.problems).toEqual([expect.stringMatching(new RegExp(`^alert ${hex(1).slice(0, 10)}: eventlog: `)), `alert ${hex(1).slice(0, 10)}: hooks: hook 10-flaky: exit 1: down`]);
    expect(spoolSummary(s.spoolDir).lastErrors).toHaveLength(2);
    expect(readdirSync(s.spoolDir).filter((f) => f.endsWith('.state.next'))).toEqual([]); // the success state prepared for the event log is dropped
    rmSync(s.eventLog, { recursive: true });
    writeFileSync(join(dir, 'fixed'), '');
    const r2 = await deliver(s, { now: T + MIN });
    expect(r2).toMatchObject({ delivered: 0, pending: 1, dead: 0, problems: [], mailUnconfigured: true });
    const st = state(name);
    expect(st.eventlog).toEqual({ done: true, dead: false, attempts: 1, nextAttempt: T + MIN, lastError: null });
    expect(st.hooks).toMatchObject({ done: true, dead: false, attempts: 1, lastError: null, hooksDone: ['10-flaky'], hooksRefused: [] });
    expect(st.mail).toEqual(fresh);
    expect(spoolSummary(s.spoolDir)).toEqual({ pending: 1, dead: 0, oldest: expect.any(Number), lastErrors: [], quarantined: 0, refused: null });
    // a run later tries neither again
    expect(await deliver(s, { now: T + 2 * MIN })).toMatchObject({ pending: 1, problems: [] });
    expect(readFileSync(s.eventLog, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a hook gets the change as one JSON line, ending in a newline', async () => {
    const { dir, s, hook } = setup();
    hook('10-cat', `cat > ${dir}/in`);
    await new Spool(s.spoolDir).add(alert(1));
    await deliver(s, { now: T });
    const input = readFileSync(join(dir, 'in'), 'utf8');
    expect(input.endsWith('}\n')).toBe(true);
    expect(input.split('\n')).toHaveLength(2);
    expect(JSON.parse(input)).toMatchObject({ id: hex(1), diff: '' });
  });
  it('a hook that cannot be run (being written: ETXTBSY) fails the channel named, with why; the hooks after it still run, once', async () => {
    const { dir, s, hook } = setup();
    hook('10-busy', 'exit 0');
    hook('20-ok', `echo "$LSM_ID" >> ${dir}/ok.log`);
    await new Spool(s.spoolDir).add(alert(1));
    const fd = openSync(join(s.hooksDir, '10-busy'), 'r+'); // an editor or an install holding it open for writing
    let r;
    try { r = await deliver(s, { now: T }); } finally { closeSync(fd); }
    expect(r.problems).toEqual([`alert ${hex(1).slice(0, 10)}: hooks: hook 10-busy: cannot run: spawn ETXTBSY`]);
    expect(r).toMatchObject({ pending: 1, dead: 0 });
    expect(await deliver(s, { now: T + MIN })).toMatchObject({ pending: 1, problems: [] });
    expect(readFileSync(join(dir, 'ok.log'), 'utf8')).toBe(`${hex(1)}\n`);
  });
});

describe('what a run counts', () => {
  it('the alerts waiting for a channel leave out those done or dead on it; delivered, pending and dead are counted apart', async () => {
    const { s } = setup();
    s.eventLog = '';
    s.mail.sendmail = '/bin/false'; // configured; never reached while the channel waits
    rmSync(s.hooksDir, { recursive: true });
    const waiting = { ...fresh, attempts: 4, nextAttempt: T + 5 * MIN, lastError: 'ESENDMAIL: Sendmail exited with code 75' }; // back-off 8 min, 3 min ago
    const done = { ...fresh, done: true, attempts: 1 };
    const channels: Record<number, object> = {
      1: { eventlog: done, hooks: done, mail: { ...fresh, dead: true, attempts: 1, lastError: 'recipient rejected: root' } }, // dead
      2: { eventlog: done, hooks: done, mail: waiting },
      3: { eventlog: done, hooks: fresh, mail: done }, // done with mail; hooks (none now) finish it
      4: { eventlog: done, hooks: done, mail: { ...waiting, attempts: 0, nextAttempt: 0, lastError: null } },
    };
    mkdirSync(s.spoolDir, { recursive: true });
    for (const [n, ch] of Object.entries(channels)) {
      writeFileSync(join(s.spoolDir, entryName(Number(n))), JSON.stringify({ alert: alert(Number(n)) }));
      writeFileSync(join(s.spoolDir, entryName(Number(n)).replace(/\.json$/, '.state')), JSON.stringify(ch));
    }
    const r = await deliver(s, { now: T });
    expect(r.problems).toEqual([`2 alerts waiting for mail, next try after ${new Date(T + 5 * MIN).toISOString()} (last error: ESENDMAIL: Sendmail exited with code 75; lsm flush tries now)`]);
    expect(r).toMatchObject({ delivered: 1, pending: 2, dead: 1, mailUnconfigured: false });
    expect(readdirSync(s.spoolDir).filter((f) => f.endsWith('.json')).sort()).toEqual([entryName(1), entryName(2), entryName(4)]);
  });
});
