// The layer's fleet push in-process (src/run/push.ts; test/integration/fleet*.test.ts push to a
// real git http-backend through bin/lsm). Here, what needs no server: a push the config stops (said,
// never failing the scan), nothing due (no request at all), and a local history that no longer
// descends from what the server has: never pushed, written to the event log, said on stderr, and
// alerted once per HEAD through the spool; lsm status's fleet line in each state.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pushFleet, pushStatusLine } from '../../src/run/push.js';
import { resolveSettings } from '../../src/run/settings.js';
import { scan } from '../../src/run/scan.js';
import { Spool } from '../../src/alert/spool.js';
import { runWorld, stderrLines } from '../helpers/run-world.js';
import { ROOT } from '../helpers/world.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); });

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
const REMOTE = 'http://u:secret@fleet.invalid/git/fleet.git';

/** A host of a fleet with one commit, scanned without its remote (so nothing was pushed yet). */
async function host(extra: Record<string, string> = {}) {
  const w = runWorld({ REMOTE, HOST_ID: 'web1', ...extra });
  const ctx = resolveSettings(w.args);
  const plain = resolveSettings({ ...w.args, config: runWorld({ SPOOL_DIR: w.spool, EVENT_LOG: w.events }).config });
  await scan(plain);
  return { w, ctx, plain };
}

/** refs/lsm/pushed set to a commit HEAD does not descend from: the local history was rewritten. */
function rewritten(repo: string): string {
  const foreign = git(repo, 'commit-tree', 'HEAD^{tree}', '-m', 'another history');
  git(repo, 'update-ref', 'refs/lsm/pushed', foreign);
  return foreign;
}

const events = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);

describe('pushFleet', () => {
  it('no REMOTE: nothing at all', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = resolveSettings(w.args);
    await scan(ctx);
    rewritten(w.repo);
    expect(await pushFleet(ctx)).toBeNull();
    expect(existsSync(join(w.repo, '.git', 'lsm', 'push.json'))).toBe(false);
    expect(pushStatusLine(ctx)).toBeNull();
  });

  it('a push the config stops (a token file that is not there) is said every run, returns nothing, fails nothing', async () => {
    const { w, ctx } = await host({ REMOTE_TOKEN_FILE: '/nonexistent/token' });
    const said = stderrLines();
    expect(await pushFleet(ctx)).toBeNull();
    expect(said).toEqual(['lsm: fleet push: REMOTE_TOKEN_FILE /nonexistent/token: no such file']);
    expect(existsSync(join(w.repo, '.git', 'lsm', 'push.json'))).toBe(false);
    expect(process.exitCode).toBeUndefined();
  });

  it('no commit yet, or nothing due (the server has HEAD, a recent heartbeat): no request, nothing said', async () => {
    const w = runWorld({ REMOTE, HOST_ID: 'web1' });
    const said = stderrLines();
    const ctx = resolveSettings(w.args);
    mkdirSync(join(w.repo, '.git'), { recursive: true });
    git(w.repo, 'init', '-q');
    expect(await pushFleet(ctx)).toBeNull();
    const { w: h, ctx: hctx } = await host();
    const head = git(h.repo, 'rev-parse', 'HEAD');
    git(h.repo, 'update-ref', 'refs/lsm/pushed', head);
    writeFileSync(join(h.repo, '.git', 'lsm', 'push.json'), JSON.stringify({ time: Date.now(), ok: true, error: null, head, pushed: head, lastSuccess: Date.now(), failingSince: null, diverged: null }));
    expect(await pushFleet(hctx)).toBeNull();
    expect(said).toEqual([]);
    expect(events(h.events).filter((e) => e.event === 'push')).toEqual([]);
  });

  it('a rewritten local history: never pushed; the try in the event log (no credentials), one line on stderr, an alert once per HEAD', async () => {
    const { w, ctx, plain } = await host();
    const said = stderrLines();
    const head = git(w.repo, 'rev-parse', 'HEAD');
    const foreign = rewritten(w.repo);
    const error = `local history rewritten: HEAD ${head.slice(0, 10)} does not descend from ${foreign.slice(0, 10)}, the last commit the server has; not pushed (never forced)`;
    const outcome = (await pushFleet(ctx))!;
    expect(outcome.state).toMatchObject({ ok: false, error, head, pushed: foreign, diverged: 'local', lastSuccess: null });
    expect(outcome.divergence).toEqual({ kind: 'local', head, pushed: foreign, message: error });
    // then the alert delivered at once (no mail here: said, the first time)
    expect(said).toEqual([`lsm: fleet push to hosts/web1 failed (retried next run): ${error}`,
      `lsm: no mail delivery: no sendmail on this machine and no SMTP_URL in the config; alerts stay in ${w.spool} (lsm status shows them). Set SMTP_URL or SENDMAIL, then run lsm flush`]);
    const log = events(w.events);
    expect(log[0]).toEqual({ id: null, schema: 1, time: new Date(outcome.state.time).toISOString(), event: 'push', host: 'web1', ok: false, remote: 'http://fleet.invalid/git/fleet.git', branch: 'hosts/web1', commit: head, error });
    // the alert: spooled, then delivered to the event log at once
    const id = `${head}-fleet-diverged-local`;
    expect(log[1]).toMatchObject({ id, commit: head, parent: foreign, host: hostname(), summary: `FLEET HISTORY DIVERGED (refs/heads/hosts/web1): ${error}`, added: [], removed: [] });
    const spooled = new Spool(w.spool).list();
    expect(spooled.map((e) => [e.alert.id, e.alert.repo, e.alert.time, e.channels.eventlog.done])).toEqual([[id, w.repo, outcome.state.time, true]]);
    expect(readFileSync(join(w.repo, '.git', 'lsm', 'push-diverged-alerted'), 'utf8')).toBe(`local ${head}`);
    expect(readFileSync(join(w.repo, '.git', 'lsm', 'push.json'), 'utf8')).not.toContain('secret');
    // the next run: said again, not alerted again
    said.length = 0;
    const again = (await pushFleet(ctx))!;
    expect([again.state.ok, again.divergence]).toEqual([false, null]);
    expect(said).toEqual([`lsm: fleet push to hosts/web1 failed (retried next run): ${error}`]);
    expect(new Spool(w.spool).list()).toHaveLength(1);
    expect(events(w.events).filter((e) => e.event === 'push')).toHaveLength(2);
    // a new HEAD on the rewritten history: alerted again, for that HEAD
    w.listen(4444);
    await scan(plain);
    const head2 = git(w.repo, 'rev-parse', 'HEAD');
    expect((await pushFleet(ctx))!.divergence?.head).toBe(head2);
    expect(new Spool(w.spool).list().map((e) => e.alert.id)).toContain(`${head2}-fleet-diverged-local`);
  });

  it('the divergence alert that cannot be spooled is thrown (the run fails), with the cause\'s data, and raised again next run', async () => {
    const { w, ctx } = await host();
    stderrLines();
    rewritten(w.repo);
    rmSync(w.spool, { recursive: true, force: true });
    writeFileSync(w.spool, 'a file');
    const err = await pushFleet(ctx).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'NotRecorded', exitCode: 1, data: { refused: 'a file', spool: w.spool } });
    expect((err as Error).message).toMatch(/^cannot spool the fleet divergence alert \(raised again next run\): the spool directory \S+ is a file, not a directory: /);
    expect(existsSync(join(w.repo, '.git', 'lsm', 'push-diverged-alerted'))).toBe(false);
    rmSync(w.spool);
    expect((await pushFleet(ctx))!.divergence?.kind).toBe('local');
    expect(new Spool(w.spool).list()).toHaveLength(1);
  });

  it('an event log turned off, or one that cannot record: the push and its alert go on', async () => {
    for (const log of ['', 'dir']) {
      const { w, ctx } = await host(log === '' ? { EVENT_LOG: '' } : {});
      if (log === 'dir') mkdirSync(w.events);
      stderrLines();
      rewritten(w.repo);
      const outcome = (await pushFleet(ctx))!;
      expect(outcome.divergence?.kind).toBe('local');
      expect(new Spool(w.spool).list()).toHaveLength(1);
      if (log === '') expect(existsSync(w.events)).toBe(false);
    }
  });
});

describe('lsm status\'s fleet line', () => {
  it('nothing pushed yet, failing since when, up to date; none without REMOTE', async () => {
    const { w, ctx } = await host();
    stderrLines();
    expect(pushStatusLine(ctx)).toBe('fleet: nothing pushed to hosts/web1 yet');
    rewritten(w.repo);
    const { state } = (await pushFleet(ctx))!;
    expect(pushStatusLine(ctx)).toBe(`fleet: push to hosts/web1 failing since ${new Date(state.failingSince!).toISOString()} (last success never): ${state.error}`);
    const file = join(w.repo, '.git', 'lsm', 'push.json');
    writeFileSync(file, JSON.stringify({ ...state, lastSuccess: Date.UTC(2026, 0, 2) }));
    expect(pushStatusLine(ctx)).toBe(`fleet: push to hosts/web1 failing since ${new Date(state.failingSince!).toISOString()} (last success 2026-01-02T00:00:00.000Z): ${state.error}`);
    writeFileSync(file, JSON.stringify({ ...state, ok: true, error: null, pushed: 'abcdef0123456789', lastSuccess: Date.UTC(2026, 0, 3), failingSince: null }));
    expect(pushStatusLine(ctx)).toBe('fleet: hosts/web1 up to date at abcdef0123 (pushed 2026-01-03T00:00:00.000Z)');
    writeFileSync(file, JSON.stringify({ ...state, ok: true, error: null, pushed: 'abcdef0123456789', lastSuccess: null, failingSince: null }));
    expect(pushStatusLine(ctx)).toBe('fleet: hosts/web1 up to date at abcdef0123 (pushed never)');
    // a FIFO planted there is never waited on (lsm -c's layout check names it and moves it aside): read as no state, at once
    rmSync(file);
    execFileSync('mkfifo', [file]);
    const code = `import { readPushState } from ${JSON.stringify(join(ROOT, 'dist', 'fleet', 'push.js'))}; console.log(JSON.stringify(readPushState(process.argv[1])))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, w.repo], { timeout: 10_000, encoding: 'utf8' });
    expect([r.status, r.stdout]).toEqual([0, 'null\n']);
  });
});
