// Exactly once at the crash point the long `lsm watch` runs found: a run SIGKILLed after spooling
// an alert but before moving refs/lsm/alerted (LSM_TEST_CRASH_AT=after-spool). The next run must not
// spool those commits again: not inside a watch's burst alert with the next commit, nor after
// `lsm flush` delivered and removed their entry. Real sockets, a real SMTP server; mail and event
// log read back and counted per commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');
const SMTP_PORT = 2531;

describe('a run killed between spooling and moving refs/lsm/alerted', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  let port = 5400;
  const pids: number[] = [];

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-once-crash-'));
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  /** A repository with its own config, event log and SMTP server (the server's port is ignored). */
  async function setup(name: string) {
    const etc = join(tmp, name);
    const inbox = join(etc, 'inbox');
    mkdirSync(inbox, { recursive: true });
    const smtp = SMTP_PORT + pids.length;
    const env = { LSM_CONFIG: testConfig(etc, { SMTP_URL: `smtp://127.0.0.1:${smtp}`, USER: 'ops@example.org', FROM: 'lsm@example.org' }), NO_COLOR: '1' };
    writeFileSync(join(etc, 'ignore'), `tcp 127.0.0.1:${smtp}\n`);
    pids.push((await world.spawn([process.execPath, SINK, String(smtp), inbox])).pid);
    const repo = join(etc, 'repo');
    expect((await world.lsm(['-g', '--repo', repo], env)).code).toBe(0);
    const mails = async (): Promise<ParsedMail[]> => Promise.all(readdirSync(inbox).filter((n) => n.endsWith('.eml')).sort().map((n) => simpleParser(readFileSync(join(inbox, n)))));
    /** Per commit after the first, how many mails and event-log lines cover it ((parent, commit] of each). */
    const coverage = async () => {
      const chain = execFileSync('git', ['-C', repo, 'rev-list', '--first-parent', 'HEAD'], { encoding: 'utf8' }).trim().split('\n').reverse().slice(1);
      const count = (ranges: { commit: string; parent: string }[]) => chain.map((c) => ranges.filter((r) => chain.indexOf(r.parent) < chain.indexOf(c) && chain.indexOf(c) <= chain.indexOf(r.commit)).length);
      const mailed = (await mails()).map((m) => ({ commit: m.headers.get('x-lsm-commit') as string, parent: m.headers.get('x-lsm-parent') as string }));
      const logged = readFileSync(join(etc, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.commit);
      return { commits: chain.length, mail: count(mailed), eventLog: count(logged) };
    };
    return { env, repo, coverage, spooled: () => readdirSync(join(etc, 'spool')).filter((n) => n.endsWith('.json')) };
  }

  const newSocket = async () => { pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: port++ }], 'svc')).pid); };

  it("lsm watch: the next watch's burst alert covers only the commits after the spooled one", async () => {
    const { env, coverage, repo } = await setup('watch');
    await newSocket();
    const killed = await world.lsm(['watch', '--interval', '1s', '--count', '1', '--repo', repo], { ...env, LSM_TEST_CRASH_AT: 'after-spool' });
    expect(killed.signal).toBe('SIGKILL');
    await newSocket();
    // its first look commits the second socket and alerts what is not alerted yet, as one burst alert
    const next = await world.lsm(['watch', '--interval', '1s', '--count', '1', '--repo', repo], env);
    expect([next.code, next.stderr]).toEqual([0, '']);
    expect(await coverage()).toEqual({ commits: 2, mail: [1, 1], eventLog: [1, 1] });
  });

  it('lsm -c after lsm flush delivered the entry: the commit is not spooled again', async () => {
    const { env, coverage, repo, spooled } = await setup('cron');
    await newSocket();
    expect((await world.lsm(['-c', '--repo', repo], { ...env, LSM_TEST_CRASH_AT: 'after-spool' })).signal).toBe('SIGKILL');
    const flushed = await world.lsm(['flush', '--repo', repo], env);
    expect([flushed.code, flushed.stdout]).toEqual([0, '1 delivered, 0 waiting, 0 failed permanently\n']);
    await newSocket();
    const r = await world.lsm(['-c', '--repo', repo], env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(spooled()).toEqual([]);
    expect(await coverage()).toEqual({ commits: 2, mail: [1, 1], eventLog: [1, 1] });
  });
});
