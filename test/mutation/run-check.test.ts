// lsm check's work in the layer in-process (src/run/check.ts), beyond check-output/check-options:
// what runCheck returns and leaves in the run's facts, the drift read only when something uses it,
// a baseline that no longer reads (exit 65, lsm -g to approve again; found by git too), and no
// reminder asked of a run whose alert could not be spooled.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCheck } from '../../src/run/check.js';
import { readProblems, trackProblems } from '../../src/run/outcome.js';
import type { RunFacts } from '../../src/run/metrics.js';
import { context } from '../../src/run/settings.js';
import { runWorld, stderrLines } from '../helpers/run-world.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); vi.useRealTimers(); });

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();

describe('runCheck', () => {
  it('the first run approves what it finds; its facts: the snapshot, the commit\'s time, the drift', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = context(w.args);
    const facts: RunFacts = {};
    const first = await runCheck(ctx, facts);
    const head = git(w.repo, 'rev-parse', 'HEAD');
    expect([first.firstBaseline, first.baseline, first.reminded, first.drift, first.scanned.failure]).toEqual([true, head, false, [], null]);
    expect(git(w.repo, 'rev-parse', 'refs/lsm/baseline')).toBe(head);
    expect(facts.snapshot).toBe(first.scanned.snapshot);
    expect(facts.commitTime).toBe(first.scanned.change!.time);
    expect(facts.drift).toEqual([]);
    // nothing new: no commit time (the metrics read the journal's), the baseline kept
    const again: RunFacts = {};
    const second = await runCheck(ctx, again);
    expect([second.firstBaseline, second.baseline, again.commitTime, second.scanned.change]).toEqual([false, head, undefined, null]);
  });

  it('the drift: read with a change, or --exit-code; standing drift with nothing new and nothing to use it is not read', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = context(w.args);
    await runCheck(ctx, {});
    w.listen(4444);
    const changed = await runCheck(ctx, {});
    expect(changed.drift).toHaveLength(1);
    expect(changed.drift[0].path).toBe('host/tcp');
    expect(changed.drift[0].added).toEqual([expect.stringMatching(/^0\.0\.0\.0:4444 /)]);
    expect(changed.drift[0].removed).toEqual([]);
    const facts: RunFacts = {};
    expect((await runCheck(ctx, facts)).drift).toEqual([]); // the cron run's fast path
    expect(facts.drift).toEqual([]);
    expect((await runCheck(ctx, {}, { exitCode: true })).drift).toEqual(changed.drift);
    // approved: no drift however asked
    git(w.repo, 'update-ref', 'refs/lsm/baseline', 'HEAD');
    expect((await runCheck(ctx, {}, { exitCode: true })).drift).toEqual([]);
  });

  it('a baseline that no longer reads: exit 65, saying lsm -g approves the current state again', async () => {
    const w = runWorld();
    stderrLines();
    const ctx = context(w.args);
    trackProblems(ctx.repoDir);
    await runCheck(ctx, {});
    const baseline = git(w.repo, 'rev-parse', 'HEAD');
    w.listen(4444);
    await runCheck(ctx, {});
    const tree = git(w.repo, 'rev-parse', `${baseline}^{tree}`);
    rmSync(join(w.repo, '.git', 'objects', tree.slice(0, 2), tree.slice(2)));
    expect(() => git(w.repo, 'fsck')).toThrow(); // git finds it too
    const err = await runCheck(ctx, {}, { exitCode: true }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'Damaged', exitCode: 65 });
    expect((err as Error).message).toMatch(new RegExp(`^repository ${w.repo} is damaged: the baseline ${baseline.slice(0, 10)} does not read \\(.*\\): lsm -g approves the current state again`));
    expect(process.exitCode).toBe(65);
    expect(readProblems(w.repo).damaged?.exit).toBe(65);
    // without anything that needs the drift, the run does not read it, and succeeds
    process.exitCode = undefined;
    expect((await runCheck(ctx, {})).drift).toEqual([]);
  });

  it('a run whose alert could not be spooled asks no reminder, even when one is due', async () => {
    const T = Date.UTC(2026, 0, 1, 12);
    vi.useFakeTimers({ toFake: ['Date'], now: T });
    const w = runWorld({ DRIFT_REMINDER_HOURS: '1' });
    stderrLines();
    const ctx = context(w.args);
    await runCheck(ctx, {});
    w.listen(4444);
    await runCheck(ctx, {});
    vi.setSystemTime(T + 2 * 3_600_000);
    rmSync(w.spool, { recursive: true, force: true });
    writeFileSync(w.spool, 'not a directory');
    w.listen(4445);
    const failed = await runCheck(ctx, {});
    expect(failed.scanned.failure).toMatchObject({ code: 'NotRecorded' });
    expect(failed.reminded).toBe(false);
    rmSync(w.spool);
    const ok = await runCheck(ctx, {});
    expect(ok.reminded).toBe(true);
  });
});
