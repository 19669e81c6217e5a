// Drift says since when each difference from the approved baseline stands: for a line added since
// the baseline, when it (last) appeared; for a line removed, when it (last) went away; each with
// the commit that did it. A real repository, commits at pinned times, the journal they wrote.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moveBaseline } from '../../src/store/baseline.js';
import { commitSnapshot } from '../../src/store/commit.js';
import { computeDrift } from '../../src/store/drift.js';
import { readJournal } from '../../src/store/journal-read.js';
import { openRepo } from '../../src/store/repo.js';

const T = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const ssh = '0.0.0.0:22  sshd  root  /usr/sbin/sshd';
const web = '0.0.0.0:80  nginx  root  /usr/sbin/nginx';
const nc = '0.0.0.0:4444  nc  root  /usr/bin/nc';

describe('drift: since when each difference from the baseline stands', () => {
  it('a removed line is dated by its last removal, an added line by its last appearance, each with that commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-drift-'));
    const snap = (...tcp: string[]) => new Map([['host/tcp', tcp]]);
    const at = async (hours: number, ...tcp: string[]) => (await commitSnapshot(dir, snap(...tcp), { now: T + hours * HOUR }))!.commit;
    const c0 = await at(0, ssh, web);
    const repo = openRepo(dir);
    await moveBaseline(repo, c0, 'approved', T);
    await at(1, ssh); //                web goes
    await at(2, ssh, web, nc); //       web back, nc appears
    const c3 = await at(3, ssh, nc); // web goes again: the removal that stands
    await at(4, ssh); //                nc goes
    const c5 = await at(5, ssh, nc); // nc back: the appearance that stands
    const d = await computeDrift(repo, readJournal(repo));
    expect(d.baseline).toBe(c0);
    expect(d.lines).toEqual([
      { path: 'host/tcp', line: nc, kind: 'added', since: T + 5 * HOUR, commit: c5 },
      { path: 'host/tcp', line: web, kind: 'removed', since: T + 3 * HOUR, commit: c3 },
    ]);
  });

  it('no drift when HEAD is the baseline, and none when the state came back to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-drift-'));
    const c0 = (await commitSnapshot(dir, new Map([['host/tcp', [ssh]]]), { now: T }))!.commit;
    const repo = openRepo(dir);
    await moveBaseline(repo, c0, 'approved', T);
    expect((await computeDrift(repo, readJournal(repo))).lines).toEqual([]);
    await commitSnapshot(dir, new Map([['host/tcp', [ssh, nc]]]), { now: T + HOUR });
    await commitSnapshot(dir, new Map([['host/tcp', [ssh]]]), { now: T + 2 * HOUR });
    const d = await computeDrift(repo, readJournal(repo));
    expect(d.head).not.toBe(c0);
    expect(d.lines).toEqual([]);
  });

  it('the approval shown is the move that set the current baseline: none when the baseline was set outside lsm (no reflog line for it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-drift-'));
    const c0 = (await commitSnapshot(dir, new Map([['host/tcp', [ssh]]]), { now: T }))!.commit;
    const repo = openRepo(dir);
    await moveBaseline(repo, c0, 'approved', T);
    const c1 = (await commitSnapshot(dir, new Map([['host/tcp', [ssh, nc]]]), { now: T + HOUR }))!.commit;
    expect((await computeDrift(repo, readJournal(repo))).approved).toMatchObject({ to: c0, time: T });
    writeFileSync(join(dir, '.git', 'refs', 'lsm', 'baseline'), `${c1}\n`); // by hand: git's reflog has no line for it
    const d = await computeDrift(repo, readJournal(repo));
    expect([d.baseline, d.approved, d.lines]).toEqual([c1, null, []]);
  });
});
