// git-run.ts's reading of `git cat-file --batch` on the real git's answers: a short id that names
// two objects is answered '<id> ambiguous' (no type, no size), which must read as missing and
// must not stop the objects after it from being read.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchObjects, gitOut, runGit } from '../../src/fleet/git-run.js';

const tmps: string[] = [];
afterEach(() => { for (const d of tmps.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('git cat-file --batch, read', () => {
  it("an ambiguous short id reads as missing, and the objects after it are still read", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-mgitrun-'));
    tmps.push(dir);
    const g = join(dir, 'x.git');
    execFileSync('git', ['init', '-q', '--bare', g]);
    // two blobs whose ids share their first 4 hex digits (found once among b1..b1500: 0193...)
    const oids = execFileSync('git', ['--git-dir', g, 'hash-object', '-w', '--stdin-paths'], { input: ['b941', 'b1005'].map((b) => { const f = join(dir, b); writeFileSync(f, `${b}\n`); return f; }).join('\n') + '\n', encoding: 'utf8' }).trim().split('\n');
    const short = oids[0].slice(0, 4);
    expect(oids[1].slice(0, 4)).toBe(short);
    const out = gitOut(g, ['cat-file', '--batch'], `${short}\n${oids[0]}\n`);
    expect(out.toString('latin1').startsWith(`${short} ambiguous\n`)).toBe(true); // what git says
    expect(batchObjects(out).map((o) => [o.oid, o.type, o.size, o.body.toString()])).toEqual([
      [short, 'missing', 0, ''],
      [oids[0], 'blob', 5, 'b941\n'],
    ]);
  });
});

describe('git stopped by a signal', () => {
  it('a git killed before it exits has failed (code -1), whatever it had written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lsm-mgitrun-'));
    tmps.push(dir);
    const g = join(dir, 'x.git');
    execFileSync('git', ['init', '-q', '--bare', g]);
    // an alias whose shell kills the git that ran it: git's status is a signal, not an exit code
    const r = runGit(g, ['-c', 'alias.die=!kill -9 $PPID', 'die']);
    expect([r.code, r.tooBig]).toEqual([-1, false]);
    expect(() => gitOut(g, ['-c', 'alias.die=!kill -9 $PPID', 'die'])).toThrow(`git -c failed in ${g}: exit -1`);
  });
});
