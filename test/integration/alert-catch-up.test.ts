// More than 1000 commits since the last alert (MAX_CATCH_UP in src/alert/index.ts): the newest
// change alone is alerted, with a note, never the whole history. A real repository; the 1001
// commits are made by git fast-import. In-process (src/), but kept out of the mutation set
// (vitest.mutate.config.ts): walking 1001 commits costs ~8 s, paid again by every spoolPending mutant.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spoolPending, type AlertSettings } from '../../src/alert/index.js';
import type { Alert } from '../../src/alert/message.js';
import { commitSnapshot } from '../../src/store/commit.js';

const line = (port: number) => `0.0.0.0:${port}  nc  root  /usr/bin/nc`;
const snap = (...ports: number[]) => new Map([['host/tcp', ports.map(line)]]);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'lsm-catch-up-'));
  const s: AlertSettings = { repoDir: join(dir, 'repo'), spoolDir: join(dir, 'spool'), eventLog: '', hooksDir: join(dir, 'hooks'), host: 'web1',
    mail: { to: ['root'], from: 'lsm@web1', subject: 'x', smtpUrl: '', sendmail: '' } };
  const alerts = (): Alert[] => readdirSync(s.spoolDir).filter((f) => f.endsWith('.json')).sort().map((f) => JSON.parse(readFileSync(join(s.spoolDir, f), 'utf8')).alert);
  return { s, alerts };
}

describe('a history too long to catch up', () => {
  it('more than 1000 commits since the last alert: the newest change alone is alerted, and a note says why', async () => {
    const { s, alerts } = setup();
    await commitSnapshot(s.repoDir, snap(1));
    await commitSnapshot(s.repoDir, snap(1, 2));
    await spoolPending(s, null);
    // 1001 commits more, made by git itself (fast-import: a second, not 1001 lsm scans)
    const branch = execFileSync('git', ['-C', s.repoDir, 'symbolic-ref', 'HEAD'], { encoding: 'utf8' }).trim();
    let stream = '';
    for (let i = 1; i <= 1001; i++) {
      const text = `${line(1)}\n${line(2)}\n${line(10_000 + i)}\n`;
      stream += `commit ${branch}\nmark :${i}\ncommitter lsm <lsm@web1> ${1_767_225_600 + i} +0000\ndata 4\nscan\n${i === 1 ? `from ${branch}^0\n` : ''}M 100644 inline host/tcp\ndata ${Buffer.byteLength(text)}\n${text}\n`;
    }
    execFileSync('git', ['-C', s.repoDir, 'fast-import', '--quiet'], { input: stream });
    const head = execFileSync('git', ['-C', s.repoDir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const r = await spoolPending(s, null);
    expect(r).toEqual({ added: 1, notes: [`refs/lsm/alerted is more than 1000 commits behind and no commit of this history was alerted before: alerted only the newest change (${head.slice(0, 10)}), not the whole history`] });
    expect(alerts().map((a) => [a.commit, a.added.map((l) => l.line), a.removed.map((l) => l.line)])).toEqual([
      [alerts()[0].commit, [line(2)], []],
      [head, [line(11_001)], [line(11_000)]],
    ]);
  });
});
