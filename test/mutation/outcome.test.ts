// What a run could not do (src/run/outcome.ts), in-process: the one rule of exit codes (a failure
// beats --exit-code's 3 and is never lowered), and the problems kept in .git/lsm/problems.json:
// their first time kept, resolved one by one, cleared by a run that ends well, and worded for status.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outstanding, outstandingExit, problemFound, problemLines, problemResolved, raiseExitCode, readProblems, runEnded, trackProblems } from '../../src/run/outcome.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); });

const repo = () => { const r = mkdtempSync(join(tmpdir(), 'lsm-outcome-')); mkdirSync(join(r, '.git')); return r; };
const file = (r: string) => join(r, '.git', 'lsm', 'problems.json');

describe('the exit code', () => {
  it('a failure beats 3, 3 beats 0, and a failure already set is never lowered', () => {
    const after = (...codes: number[]) => { process.exitCode = undefined; for (const c of codes) raiseExitCode(c); const e = process.exitCode; process.exitCode = undefined; return e; };
    expect(after(1, 3)).toBe(1);
    expect(after(65, 3)).toBe(65);
    expect(after(3, 1)).toBe(1);
    expect(after(0, 3)).toBe(3);
    expect(after(3, 0)).toBe(3);
    expect(after(65, 1)).toBe(65);
    expect(after(1, 65)).toBe(65);
    expect(after(0)).toBeUndefined();
  });
});

describe('the problems of a run', () => {
  it('kept as found (the first time kept), resolved one by one, cleared by a run that ends well', () => {
    const r = repo();
    trackProblems(r);
    vi.spyOn(Date, 'now').mockReturnValue(1_000);
    problemFound('spool', 'cannot spool: no space', 1);
    expect(process.exitCode).toBe(1);
    vi.spyOn(Date, 'now').mockReturnValue(2_000);
    problemFound('spool', 'cannot spool: still no space', 1);
    problemFound('damaged', 'repository damaged', 65);
    expect(readProblems(r)).toEqual({ spool: { since: 1_000, exit: 1, message: 'cannot spool: still no space' }, damaged: { since: 2_000, exit: 65, message: 'repository damaged' } });
    expect(outstandingExit(r)).toBe(65);
    problemResolved('damaged');
    expect(Object.keys(readProblems(r))).toEqual(['spool']);
    expect(outstandingExit(r)).toBe(1);
    runEnded(1); // a failed run leaves them
    expect(existsSync(file(r))).toBe(true);
    runEnded(3); // a run that did its job (drift found) clears them
    expect(existsSync(file(r))).toBe(false);
    expect(outstanding(r)).toEqual({});
    expect(outstandingExit(r)).toBe(0);
  });

  it('a file lsm did not write whole, or a symlink in its place, is no problem of ours', () => {
    const r = repo();
    mkdirSync(join(r, '.git', 'lsm'));
    writeFileSync(file(r), '{"spool":{"since":"x","exit":1,"message":"m"},"damaged":{"since":5,"exit":65,"message":"d"},"other":{}}');
    expect(readProblems(r)).toEqual({ damaged: { since: 5, exit: 65, message: 'd' } });
    writeFileSync(file(r), 'not json');
    expect(readProblems(r)).toEqual({});
    const r2 = repo();
    mkdirSync(join(r2, '.git', 'lsm'));
    symlinkSync(file(r), file(r2));
    writeFileSync(file(r), '{"damaged":{"since":5,"exit":65,"message":"d"}}');
    expect(readProblems(r2)).toEqual({});
  });

  it('status says what, since when, and what to run', () => {
    const r = repo();
    mkdirSync(join(r, '.git', 'lsm'));
    writeFileSync(file(r), JSON.stringify({ eventlog: { since: 0, exit: 1, message: 'ENOSPC' }, spool: { since: 0, exit: 1, message: 'full' }, damaged: { since: 0, exit: 65, message: 'ref gone' } }));
    expect(problemLines(r, '/var/log/lsm.jsonl')).toEqual([
      `repository damaged (exit 65) since 1970-01-01T00:00:00.000Z: ref gone; run git -C ${r} fsck and lsm verify, then lsm -c (this line goes once a run succeeds)`,
      'alerts not spooled (exit 1) since 1970-01-01T00:00:00.000Z: full; the changes are committed: fix that, then lsm -c spools them',
      'event log /var/log/lsm.jsonl could not record (exit 1) since 1970-01-01T00:00:00.000Z: ENOSPC; the alerts stay spooled: free the space, then lsm flush',
    ]);
    expect(readFileSync(file(r), 'utf8')).toContain('ENOSPC'); // read, not consumed
  });
});
