// refs/lsm/alerted is where alerting resumes. Lost, damaged, or left behind by a `git reset`, it
// must never make one change mail the whole history: alerting resumes after the newest commit
// already spooled that HEAD descends from, and says so. A real repository; the real git resets it.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spoolPending, type AlertSettings } from '../../src/alert/index.js';
import { commitSnapshot } from '../../src/store/commit.js';

const snapshot = (n: number) => new Map([['host/tcp', Array.from({ length: n }, (_, i) => `0.0.0.0:${1000 + i}  nc  root  /usr/bin/nc`)]]);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-alerted-'));
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: '' } };
  const spooled = () => readdirSync(s.spoolDir).filter((f) => f.endsWith('.json')).length;
  const ref = join(s.repoDir, '.git', 'refs', 'lsm', 'alerted');
  return { s, spooled, ref };
}

describe('refs/lsm/alerted', () => {
  it('missing, damaged, or not an ancestor after a reset: one change gives one alert, and a note', async () => {
    const { s, spooled, ref } = setup();
    let n = 1;
    for (; n <= 6; n++) {
      await commitSnapshot(s.repoDir, snapshot(n));
      expect((await spoolPending(s, null)).notes).toEqual([]);
    }
    expect(spooled()).toBe(5); // the first snapshot is the starting point

    rmSync(ref);
    await commitSnapshot(s.repoDir, snapshot(n++));
    let r = await spoolPending(s, null);
    expect(r.added).toBe(1);
    expect(r.notes).toEqual([expect.stringMatching(/^refs\/lsm\/alerted is missing: alerted the 1 commit after [0-9a-f]{10}, the newest already alerted, not the whole history$/)]);

    writeFileSync(ref, 'garbage\n');
    await commitSnapshot(s.repoDir, snapshot(n++));
    r = await spoolPending(s, null);
    expect(r.added).toBe(1);
    expect(r.notes).toEqual([expect.stringMatching(/^refs\/lsm\/alerted is damaged: alerted the 1 commit after/)]);

    execFileSync('git', ['-C', s.repoDir, 'reset', '-q', '--hard', 'HEAD~4'], { stdio: 'pipe' });
    await commitSnapshot(s.repoDir, snapshot(n++));
    r = await spoolPending(s, null);
    expect(r.added).toBe(1);
    expect(r.notes).toEqual([expect.stringMatching(/^refs\/lsm\/alerted \([0-9a-f]{10}\) is not an ancestor of HEAD \(history was reset\): alerted the 1 commit after/)]);
    expect(spooled()).toBe(8);

    // nothing known at all (spool delivered and emptied, its record lost): HEAD's change alone
    rmSync(ref);
    rmSync(join(s.repoDir, '.git', 'lsm', 'spooled'));
    rmSync(s.spoolDir, { recursive: true });
    await commitSnapshot(s.repoDir, snapshot(n++));
    r = await spoolPending(s, null);
    expect(r.added).toBe(1);
    expect(r.notes).toEqual([expect.stringMatching(/is missing and no commit of this history was alerted before: alerted only the newest change/)]);
    expect((await spoolPending(s, null))).toEqual({ added: 0, notes: [] }); // and then it is quiet
  });

  it("a first scan whose spool holds another repository's alert is a fresh start, not a missing ref", async () => {
    // the other repository: one change spooled and not delivered (its mail failing), then the
    // repository removed and a new one made at the same path, and one with a spool of its own path
    const { s, spooled } = setup();
    await commitSnapshot(s.repoDir, snapshot(1));
    await commitSnapshot(s.repoDir, snapshot(2));
    expect(await spoolPending(s, null)).toEqual({ added: 1, notes: [] });
    rmSync(s.repoDir, { recursive: true });
    await commitSnapshot(s.repoDir, snapshot(3));
    expect(await spoolPending(s, null)).toEqual({ added: 0, notes: [] }); // the first snapshot: nothing to alert, nothing wrong
    await commitSnapshot(s.repoDir, snapshot(5));
    expect(await spoolPending(s, null)).toEqual({ added: 1, notes: [] });
    expect(spooled()).toBe(2); // the other repository's alert is kept, to be delivered
  });

  it('a burst (lsm watch) is one alert for all the commits not alerted, or one per commit when it nets to nothing', async () => {
    const { s, spooled } = setup();
    await commitSnapshot(s.repoDir, snapshot(1));
    await spoolPending(s, null);
    for (const k of [2, 3, 4]) await commitSnapshot(s.repoDir, snapshot(k));
    expect((await spoolPending(s, null, { coalesce: true })).added).toBe(1);
    expect(spooled()).toBe(1);
    await commitSnapshot(s.repoDir, snapshot(5));
    await commitSnapshot(s.repoDir, snapshot(4)); // came and went
    expect((await spoolPending(s, null, { coalesce: true })).added).toBe(2);
    expect(spooled()).toBe(3);
  });
});
