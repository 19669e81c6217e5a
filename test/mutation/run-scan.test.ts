// The layer's pipeline in-process (src/run/scan.ts; test/integration/ runs bin/lsm): a run whose
// outcome is recorded (the recorder set before the checks, so a refused run is recorded failed),
// what a scan says it could not see, a damaged repository found and repaired (exit 65, lsm status),
// and a fleet push whose divergence alert cannot be spooled failing the run, with real
// repositories read back by the real git.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LsmError } from '../../src/errors.js';
import { context } from '../../src/run/settings.js';
import { damageFound, recordedRun, scan, trackRun } from '../../src/run/scan.js';
import { readProblems, trackProblems } from '../../src/run/outcome.js';
import { exitListeners, runWorld, samples, stderrLines } from '../helpers/run-world.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); });

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
const problemsFile = (repo: string) => join(repo, '.git', 'lsm', 'problems.json');

describe('a recorded run (lsm -c, lsm watch)', () => {
  it('sets its recorders before the checks: the run\'s outcome first, then the metrics; a refused run is recorded as failed, reading no spool', async () => {
    const w = runWorld();
    mkdirSync(join(w.dir, 'textfile'));
    const file = join(w.dir, 'textfile', 'lsm.prom');
    const config = runWorld({ METRICS_FILE: file, SPOOL_DIR: join(w.dir, 'spool') }).config;
    const ok = await exitListeners(() => recordedRun({ ...w.args, config }));
    expect(ok.error).toBeUndefined();
    expect(ok.result!.facts).toEqual({ checked: true });
    expect(ok.result!.ctx.repoDir).toBe(w.repo);
    expect(ok.listeners).toHaveLength(2);
    ok.listeners[1](0);
    expect(samples(readFileSync(file, 'utf8')).get('lsm_spool_alerts')).toBe(0); // checked: the spool is read
    // an unsafe spool: refused (77) after the recorder was set, so the file says the run failed
    mkdirSync(join(w.dir, 'spool'), { recursive: true });
    chmodSync(join(w.dir, 'spool'), 0o777);
    const refused = await exitListeners(() => recordedRun({ ...w.args, config }));
    expect(refused.error).toMatchObject({ code: 'Unsafe', exitCode: 77 });
    expect(refused.listeners).toHaveLength(2);
    refused.listeners[0](77);
    refused.listeners[1](77);
    const m = samples(readFileSync(file, 'utf8'));
    expect([m.get('lsm_last_run_success'), m.has('lsm_spool_alerts'), m.has('lsm_problem{kind="spool"}')]).toEqual([0, false, false]);
    // no METRICS_FILE: the run's outcome only
    const plain = await exitListeners(() => recordedRun(w.args));
    expect(plain.listeners).toHaveLength(1);
    expect(plain.result!.facts).toEqual({ checked: true });
  });

  it('a spool another repository claimed is refused before anything is tracked or written', async () => {
    const w = runWorld();
    stderrLines();
    await scan(context({ ...w.args, repo: join(w.dir, 'a') }));
    w.listen(4444);
    await scan(context({ ...w.args, repo: join(w.dir, 'a') })); // a claims the spool
    const got = await exitListeners(() => recordedRun(w.args));
    expect(got.error).toMatchObject({ code: 'SpoolClaimed', exitCode: 2 });
    expect(existsSync(w.repo)).toBe(false);
  });

  it('tracks the repository\'s problems from the start: kept by a run that fails, cleared by one that ends well', async () => {
    const w = runWorld();
    stderrLines();
    const got = await exitListeners(() => recordedRun(w.args));
    const { ctx } = got.result!;
    await scan(ctx);
    writeFileSync(w.spool, 'not a directory'); // the next alert cannot be spooled
    w.listen(4444);
    const r = await scan(ctx, { deferFailure: true });
    expect(r.failure).toMatchObject({ code: 'NotRecorded' });
    expect(process.exitCode).toBe(1);
    expect(Object.keys(readProblems(w.repo))).toEqual(['spool']);
    got.listeners[0](1); // the run failed: kept
    expect(Object.keys(readProblems(w.repo))).toEqual(['spool']);
    got.listeners[0](0); // a run that did its job: cleared
    expect(existsSync(problemsFile(w.repo))).toBe(false);
  });

  it('trackRun: the same for a run without metrics (lsm scan)', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = context(w.args);
    const got = await exitListeners(() => trackRun(ctx));
    expect(got.listeners).toHaveLength(1);
    await scan(ctx);
    writeFileSync(w.spool, 'not a directory');
    w.listen(4444);
    await scan(ctx, { deferFailure: true });
    expect(readProblems(w.repo).spool?.exit).toBe(1);
    got.listeners[0](3);
    expect(existsSync(problemsFile(w.repo))).toBe(false);
  });
});

describe('damage found', () => {
  it('a Damaged error or a git error about the repository\'s content is a problem (65) until a run succeeds; other errors are not', () => {
    const w = runWorld();
    mkdirSync(join(w.repo, '.git'), { recursive: true });
    trackProblems(w.repo);
    const other = new LsmError('busy', 'Busy');
    expect(damageFound(other)).toBe(other);
    const plain = new Error('ENOSPC');
    expect(damageFound(plain)).toBe(plain);
    const sysErr = Object.assign(new Error('x'), { caller: 'git.commit', code: 'ENOENT' }); // a system error, not damage
    expect(damageFound(sysErr)).toBe(sysErr);
    expect(process.exitCode).toBeUndefined();
    expect(readProblems(w.repo)).toEqual({});
    const gitErr = Object.assign(new Error('Could not find abc.'), { caller: 'git.readTree', code: 'NotFoundError' });
    expect(damageFound(gitErr)).toBe(gitErr);
    expect(process.exitCode).toBe(65);
    expect(readProblems(w.repo).damaged).toMatchObject({ exit: 65, message: 'Could not find abc.' });
    const damaged = new LsmError('repository x is damaged: refs gone', 'Damaged');
    expect(damageFound(damaged)).toBe(damaged);
    expect(readProblems(w.repo).damaged).toMatchObject({ exit: 65, message: 'repository x is damaged: refs gone' });
  });

  it('a branch ref deleted: the scan repairs it, alerts the change, and fails with 65, saying the damage', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = context(w.args);
    trackProblems(ctx.repoDir);
    await scan(ctx);
    const first = git(w.repo, 'rev-parse', 'HEAD');
    rmSync(join(w.repo, '.git', 'refs', 'heads', 'main'));
    w.listen(4444);
    const r = await scan(ctx, { deferFailure: true });
    expect(r.change?.damage).toMatch(/^repository .* is damaged: refs\/heads\/main is missing/);
    expect(r.failure).toBeInstanceOf(LsmError);
    expect(r.failure).toMatchObject({ code: 'Damaged', exitCode: 65, message: r.change!.damage, data: { damage: r.change!.damage } });
    expect(process.exitCode).toBe(65);
    expect(readProblems(w.repo).damaged).toMatchObject({ exit: 65, message: r.change!.damage });
    expect(git(w.repo, 'rev-list', '--count', 'HEAD')).toBe('2'); // the old history continued, not a fresh start
    expect(git(w.repo, 'rev-parse', 'HEAD~1')).toBe(first);
    git(w.repo, 'fsck', '--strict');
    expect(readdirSync(w.spool).filter((f) => f.endsWith('.json'))).toHaveLength(1); // the change is alerted like any other
    // thrown without deferFailure, the same error
    rmSync(join(w.repo, '.git', 'refs', 'heads', 'main'));
    w.listen(4445);
    await expect(scan(ctx)).rejects.toMatchObject({ code: 'Damaged', exitCode: 65 });
  });
});

describe('what a scan says', () => {
  it('what it could not see: one line on stderr, the run still succeeds', async () => {
    const w = runWorld({}, 'broken');
    const said = stderrLines();
    const r = await scan(context(w.args), { alert: false });
    expect(said).toEqual(['lsm: the namespaces of 1 process not readable (not a namespace link): sockets only there are not recorded']);
    expect(r.failure).toBeNull();
    expect(process.exitCode).toBeUndefined();
    const seen = stderrLines();
    await scan(context(runWorld().args), { alert: false });
    expect(seen).toEqual([]);
  });
});

describe('the fleet push in a scan', () => {
  function fleet() {
    const w = runWorld({ REMOTE: 'http://u:secret@fleet.invalid/git/fleet.git', HOST_ID: 'web1' });
    return w;
  }

  it('a divergence alert that cannot be spooled fails the run (the alerts before it failing first keep their error)', async () => {
    const w = fleet();
    const said = stderrLines();
    const plain = context({ ...w.args, config: runWorld().config });
    await scan(plain); // history without a remote
    const ctx = context(w.args);
    trackProblems(ctx.repoDir);
    const head = git(w.repo, 'rev-parse', 'HEAD');
    const foreign = git(w.repo, 'commit-tree', `${head}^{tree}`, '-m', 'another history');
    git(w.repo, 'update-ref', 'refs/lsm/pushed', foreign);
    rmSync(w.spool, { recursive: true, force: true });
    writeFileSync(w.spool, 'not a directory'); // nothing to spool for the scan, but the divergence alert cannot be
    const r = await scan(ctx, { deferFailure: true });
    expect(r.change).toBeNull();
    expect(r.failure).toBeInstanceOf(LsmError);
    // the spool refused whole is the run's failure (its delivery found it first); the divergence alert's is kept for lsm status
    expect(r.failure).toMatchObject({ code: 'NotRecorded', exitCode: 1, data: { refused: 'a file', spool: w.spool } });
    expect(r.failure!.message).toMatch(/^the spool directory \S+ is a file, not a directory: refused, never followed; /);
    expect(readProblems(w.repo).spool).toMatchObject({ exit: 1, message: `cannot spool the fleet divergence alert (raised again next run): ${r.failure!.message}` });
    expect(process.exitCode).toBe(1);
    expect(said).toContain(`lsm: fleet push to hosts/web1 failed (retried next run): local history rewritten: HEAD ${head.slice(0, 10)} does not descend from ${foreign.slice(0, 10)}, the last commit the server has; not pushed (never forced)`);
    expect(said.join('\n')).not.toContain('secret');
    // an alert of the scan that cannot be spooled either: its error is the run's, the push's is said in status
    w.listen(4444);
    const both = await scan(ctx, { deferFailure: true });
    expect(both.failure!.message).toMatch(/^cannot spool the alert \(the change is committed; the next run spools it\): /);
    expect(readProblems(w.repo).spool?.message).toMatch(/^cannot spool the fleet divergence alert/);
  });

  it('no remote: nothing pushed, nothing said about a fleet', async () => {
    const w = runWorld();
    const said = stderrLines();
    const ctx = context(w.args);
    await scan(ctx);
    git(w.repo, 'update-ref', 'refs/lsm/pushed', git(w.repo, 'commit-tree', 'HEAD^{tree}', '-m', 'x'));
    const r = await scan(ctx);
    expect(r.failure).toBeNull();
    expect(existsSync(join(w.repo, '.git', 'lsm', 'push.json'))).toBe(false);
    expect(said.filter((l) => l.includes('fleet'))).toEqual([]);
  });
});
