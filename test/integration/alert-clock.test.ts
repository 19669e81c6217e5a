// Retries and order through the real CLI when the wall clock was stepped: the machine's clock
// cannot be stepped in a test, so the spool is left as a clock a day ahead would have left it (an
// entry spooled and tried then, its next attempt a day and a minute from now), the clock "put
// right", and the next `lsm -c` must retry it at once and mail it before the newer alert. A real
// SMTP server; the mails are parsed back in the order it accepted them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { LSM, ROOT, World } from '../helpers/world.js';
import { testConfig } from '../helpers/config.js';

const SINK = join(ROOT, 'test', 'helpers', 'smtp-sink.mjs');
const STEP_CLOCK = join(ROOT, 'test', 'helpers', 'step-clock.mjs');
const SMTP_PORT = 2541;
const DAY = 86_400_000;

describe('a stepped wall clock', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  let port = 5500;
  const pids: number[] = [];

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-clock-'));
  });
  afterAll(async () => {
    for (const pid of pids) await world.kill(pid);
    await world?.stop();
  });

  const newSocket = async () => { pids.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: port++ }], 'svc')).pid); };

  it('stepped back a day: an alert that failed before the step is retried by the next lsm -c, and mailed before the newer one', async () => {
    const etc = join(tmp, 'etc');
    const inbox = join(tmp, 'inbox');
    mkdirSync(inbox);
    const env = { LSM_CONFIG: testConfig(etc, { SMTP_URL: `smtp://127.0.0.1:${SMTP_PORT}`, USER: 'ops@example.org', FROM: 'lsm@example.org' }), NO_COLOR: '1' };
    writeFileSync(join(etc, 'ignore'), `tcp 127.0.0.1:${SMTP_PORT}\n`);
    const repo = join(tmp, 'repo');
    const spool = join(etc, 'spool');
    expect((await world.lsm(['-g', '--repo', repo], env)).code).toBe(0);

    // the first change's mail fails (no server yet): it waits in the spool, next try in a minute
    await newSocket();
    const first = await world.lsm(['-c', '--repo', repo], env);
    expect(first.stderr).toMatch(/^lsm: alert [0-9a-f]{10}: mail: ESOCKET: connect ECONNREFUSED/m);
    const [entry] = readdirSync(spool).filter((n) => n.endsWith('.json'));
    const firstCommit = /-([0-9a-f]{40})\.json$/.exec(entry)![1];
    // ... as a clock a day ahead left it: spooled a day from now, the next try a day and a minute from now
    const [at, ...rest] = entry.split('-');
    const ahead = `${String(Number(at) + DAY).padStart(14, '0')}-${rest.join('-')}`;
    const state = JSON.parse(readFileSync(join(spool, entry.replace(/\.json$/, '.state')), 'utf8'));
    expect(state.mail).toMatchObject({ done: false, attempts: 1 });
    state.mail.nextAttempt += DAY;
    writeFileSync(join(spool, ahead.replace(/\.json$/, '.state')), JSON.stringify(state));
    renameSync(join(spool, entry), join(spool, ahead));
    rmSync(join(spool, entry.replace(/\.json$/, '.state')));

    // the clock is right again, the server is up, and a second change comes
    pids.push((await world.spawn([process.execPath, SINK, String(SMTP_PORT), inbox])).pid);
    await newSocket();
    const second = await world.lsm(['-c', '--repo', repo], env);
    expect([second.code, second.stderr]).toEqual([0, '']);
    const secondCommit = readFileSync(join(repo, '.git', 'refs', 'lsm', 'alerted'), 'utf8').trim();
    // in the order the server accepted them (its file names count)
    const files = readdirSync(inbox).filter((n) => n.endsWith('.eml')).sort((a, b) => Number(/-(\d+)\.eml$/.exec(a)![1]) - Number(/-(\d+)\.eml$/.exec(b)![1]));
    const mailed = await Promise.all(files.map(async (n) => (await simpleParser(readFileSync(join(inbox, n)))).headers.get('x-lsm-commit')));
    expect(mailed).toEqual([firstCommit, secondCommit]);
    expect(readdirSync(spool).filter((n) => n.endsWith('.json'))).toEqual([]);
  });

  it('lsm watch: a wall clock stepped back a day in the middle of a run puts off none of its full scans', async () => {
    const etc = join(tmp, 'etc-watch');
    const metrics = join(etc, 'lsm.prom');
    const env = { LSM_CONFIG: testConfig(etc, { METRICS_FILE: metrics }), NO_COLOR: '1', NODE_OPTIONS: `--import ${STEP_CLOCK}`, STEP_CLOCK_MS: String(DAY), STEP_CLOCK_AFTER_MS: '3000' };
    const repo = join(etc, 'repo');
    // every look is a full scan (--full-every 1s, looks 2 s apart), and each rewrites METRICS_FILE: its
    // modification times (the kernel's, not stepped) count them. The timeout only tells a finished
    // run from one asleep for a day.
    const writes = new Set<number>();
    let running = true;
    const poll = (async () => { while (running) { try { writes.add(statSync(metrics).mtimeMs); } catch { /* not yet */ } await new Promise((r) => setTimeout(r, 20)); } })();
    const r = await world.run(['timeout', '-s', 'KILL', '60', process.execPath, LSM, 'watch', '--interval', '2s', '--full-every', '1s', '--count', '5', '--quiet', '--repo', repo], { env });
    running = false;
    await poll;
    writes.add(statSync(metrics).mtimeMs); // the last write, at exit: the poll may have been asleep through it
    // the step is said, once (run/clock.ts: the wall clock against the boot time)
    expect([r.code, r.signal, r.stderr]).toEqual([0, null, expect.stringMatching(/^lsm: the clock stepped back by 86400 s between runs: [^\n]*\n$/)]);
    // 5 full scans (and the write on the way out); with the wall clock's step the 3 after it were skipped
    expect(writes.size).toBeGreaterThanOrEqual(5);
    console.log(`watch with its wall clock stepped back a day: METRICS_FILE written ${writes.size} times in 5 looks`);
  });
});
