// What a run could not do (src/run/outcome.ts), beyond outcome.test.ts: what problems.json must
// hold to be believed (each field's type, a bounded message), when it is written (only when what it
// says changes), that a run not tracking writes nothing, and a problem that cannot be recorded said
// on stderr instead.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outstanding, problemFound, problemResolved, readProblems, runEnded, trackProblems } from '../../src/run/outcome.js';
import { stderrLines } from '../helpers/run-world.js';

afterEach(() => { process.exitCode = undefined; vi.restoreAllMocks(); });

const repo = () => { const r = mkdtempSync(join(tmpdir(), 'lsm-runmut-outcome-')); mkdirSync(join(r, '.git')); return r; };
const file = (r: string) => join(r, '.git', 'lsm', 'problems.json');
const put = (r: string, v: unknown) => { mkdirSync(join(r, '.git', 'lsm'), { recursive: true }); writeFileSync(file(r), typeof v === 'string' ? v : JSON.stringify(v)); };

describe('problems.json as read', () => {
  it('each field must have its type; a message is cut at 1000 characters; null or an array is nothing', () => {
    const r = repo();
    put(r, { damaged: { since: 1, exit: 1.5, message: 'm' }, spool: { since: 1, exit: 1, message: 5 }, eventlog: { since: Infinity, exit: 1, message: 'm' } });
    expect(readProblems(r)).toEqual({});
    put(r, { spool: { since: 2.5, exit: 1, message: 'x'.repeat(1500) } });
    expect(readProblems(r)).toEqual({ spool: { since: 2.5, exit: 1, message: 'x'.repeat(1000) } });
    put(r, 'null');
    expect(readProblems(r)).toEqual({});
    put(r, '[1]');
    expect(readProblems(r)).toEqual({});
  });

  it('outstanding: this run\'s view of the repository it tracks, the file\'s for any other', () => {
    const a = repo();
    const b = repo();
    put(b, { spool: { since: 1, exit: 1, message: 'b' } });
    trackProblems(a);
    problemFound('damaged', 'a', 65);
    rmSync(file(a)); // the file gone: this run still knows
    expect(Object.keys(outstanding(a))).toEqual(['damaged']);
    expect(outstanding(b)).toEqual({ spool: { since: 1, exit: 1, message: 'b' } });
  });
});

describe('problems.json as written', () => {
  it('only when what it says changes: the same problem again writes nothing, a new message or exit does', () => {
    const r = repo();
    trackProblems(r);
    vi.spyOn(Date, 'now').mockReturnValue(5_000);
    problemFound('spool', 'full', 1);
    expect(JSON.parse(readFileSync(file(r), 'utf8'))).toEqual({ spool: { since: 5_000, exit: 1, message: 'full' } });
    rmSync(file(r));
    problemFound('spool', 'full', 1);
    expect(existsSync(file(r))).toBe(false); // unchanged: not written
    problemFound('spool', 'full', 2);
    expect(JSON.parse(readFileSync(file(r), 'utf8'))).toEqual({ spool: { since: 5_000, exit: 2, message: 'full' } });
    problemFound('spool', 'y'.repeat(1200), 2);
    expect(JSON.parse(readFileSync(file(r), 'utf8')).spool.message).toBe('y'.repeat(1000));
    expect(readdirSync(join(r, '.git', 'lsm'))).toEqual(['problems.json']); // no temporary file left
    // resolving a problem there is not writes nothing either
    rmSync(file(r));
    problemResolved('damaged');
    expect(existsSync(file(r))).toBe(false);
    problemResolved('spool');
    expect(existsSync(file(r))).toBe(false);
    expect(outstanding(r)).toEqual({});
    // the last problem resolved: the file goes
    problemFound('eventlog', 'e', 1);
    problemFound('spool', 's', 1);
    problemResolved('spool');
    expect(Object.keys(JSON.parse(readFileSync(file(r), 'utf8')))).toEqual(['eventlog']);
    problemResolved('eventlog');
    expect(existsSync(file(r))).toBe(false);
  });

  it('a run that tracks nothing only sets its exit code', () => {
    vi.resetModules();
    return import('../../src/run/outcome.js').then((fresh) => {
      const r = repo();
      put(r, { spool: { since: 1, exit: 1, message: 'kept' } });
      fresh.problemFound('damaged', 'x', 65);
      expect(process.exitCode).toBe(65);
      fresh.problemResolved('spool');
      fresh.runEnded(0);
      expect(fresh.readProblems(r)).toEqual({ spool: { since: 1, exit: 1, message: 'kept' } });
      expect(fresh.outstanding(r)).toEqual({ spool: { since: 1, exit: 1, message: 'kept' } });
    });
  });

  it('a run that ends well clears the file; a failed one (or 2, 65, 77) keeps it', () => {
    const r = repo();
    trackProblems(r);
    problemFound('spool', 's', 1);
    for (const code of [1, 2, 65, 75, 77]) { runEnded(code); expect(existsSync(file(r))).toBe(true); }
    runEnded(0);
    expect(existsSync(file(r))).toBe(false);
    problemFound('spool', 's', 1);
    runEnded(3);
    expect(existsSync(file(r))).toBe(false);
  });

  it('cannot be written: said on stderr with the code, nothing half written left', () => {
    const r = repo();
    writeFileSync(join(r, '.git', 'lsm'), 'a file where the directory would be');
    trackProblems(r);
    const said = stderrLines();
    problemFound('spool', 'full', 1);
    expect(said).toEqual([`lsm: cannot record the run's problems in ${file(r)} (lsm status will not show them): EEXIST`]);
    expect(process.exitCode).toBe(1); // the exit still says it
    expect(outstanding(r)).toMatchObject({ spool: { exit: 1, message: 'full' } });
  });
});
